"""Config errors: where a problem is, what is wrong and what to do (`ConfigProblem`, `ConfigError`), and the
validation error the models raise so that a problem keeps its hint and its path down to a file line."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic_core import PydanticCustomError

Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong with the settings: where (`file:line` or an environment variable), what, what to do."""

    location: str
    message: str
    hint: str

    def __str__(self) -> str:
        hint = self.hint[:1].upper() + self.hint[1:]
        return f"{self.location}: {self.message.rstrip('.')}. {hint}"


class ConfigError(ValueError):
    """The settings cannot be used. `str()` is `location: what is wrong. What to do.`, a line per problem."""

    def __init__(self, location: str, message: str, hint: str, *, more: tuple[ConfigProblem, ...] = ()) -> None:
        self.problems = (ConfigProblem(location, message, hint), *more)
        super().__init__("\n".join(str(problem) for problem in self.problems))

    @property
    def location(self) -> str:
        """Where the first problem is: `path/crossdock.yaml:12`, or `CROSSDOCK_PARTITIONS (environment)`."""
        return self.problems[0].location

    @property
    def message(self) -> str:
        """What is wrong (first problem)."""
        return self.problems[0].message

    @property
    def hint(self) -> str:
        """What to do about it (first problem)."""
        return self.problems[0].hint


def _problem(kind: str, message: str, hint: str, path: Loc = ()) -> PydanticCustomError:
    """A validation error carrying its own hint and a path below the validated model (for the line number)."""
    return PydanticCustomError(kind, "{message}", {"message": message, "hint": hint, "path": path})
