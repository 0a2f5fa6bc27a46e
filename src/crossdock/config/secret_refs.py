"""Secrets by reference: `env:NAME` or `file:/path` (`SecretRef`, read only when a connector asks), which setting
names hold secrets, and the refusal of a literal secret written into the file."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import GetCoreSchemaHandler, SecretStr
from pydantic_core import core_schema

from crossdock.config.errors import ConfigError, Loc, _problem
from crossdock.config.sources import _current_environ

_ENV_REF = re.compile(r"^env:([A-Za-z_][A-Za-z0-9_]*)$")
_FILE_REF = re.compile(r"^file:(?!//)(\S.*)$")
_SECRET_WORDS = frozenset(
    {"secret", "password", "passwd", "passphrase", "pwd", "token", "credential", "credentials", "apikey"}
)
_SECRET_PAIRS = frozenset(
    {
        ("api", "key"),
        ("access", "key"),
        ("account", "key"),
        ("auth", "key"),
        ("client", "key"),
        ("encryption", "key"),
        ("private", "key"),
        ("secret", "key"),
        ("shared", "key"),
        ("signing", "key"),
        ("ssh", "key"),
    }
)
_REFERENCE_HINT = (
    "put the secret in an environment variable or a file and write a reference instead: "
    "`{key}: env:VARIABLE_NAME` or `{key}: file:/run/secrets/name`"
)


def is_secret_key(key: str) -> bool:
    """True for setting names that hold secrets (`client_secret`, `password`, `api_key`, `securityToken`).

    Judged by the last word only, so `token_url` or `password_file` are ordinary settings.
    """
    words = [w.lower() for w in re.split(r"[_\-.\s]+|(?<=[a-z0-9])(?=[A-Z])", key) if w]
    if not words:
        return False
    return words[-1] in _SECRET_WORDS or tuple(words[-2:]) in _SECRET_PAIRS


class SecretRef(str):
    """A reference to a secret kept outside the config, `env:NAME` or `file:/path`; `resolve()` reads it.

    The string itself is the reference, never the secret, so printing, logging or dumping settings shows only
    where a secret lives. Settings loaded with an explicit environment resolve `env:` references against it.
    """

    _environ: Mapping[str, str] | None

    def __new__(cls, reference: str, environ: Mapping[str, str] | None = None) -> Self:
        """Parse `env:NAME` or `file:/path`; raise ValueError for anything else."""
        if not (_ENV_REF.match(reference) or _FILE_REF.match(reference)):
            raise ValueError(f"{reference[:5]!r}… is not a secret reference; write env:NAME or file:/path")
        ref = super().__new__(cls, reference)
        ref._environ = environ
        return ref

    @classmethod
    def is_reference(cls, value: object) -> bool:
        """True when `value` is written as a secret reference."""
        return isinstance(value, str) and bool(_ENV_REF.match(value) or _FILE_REF.match(value))

    @property
    def scheme(self) -> Literal["env", "file"]:
        """Where the secret lives: an environment variable or a file."""
        return "env" if self.startswith("env:") else "file"

    @property
    def target(self) -> str:
        """The environment variable's name or the file's path."""
        return self.split(":", 1)[1]

    def resolve(self) -> SecretStr:
        """Read the secret now (a rotated file is picked up). Errors name the reference, never the value."""
        if self.scheme == "env":
            environ = os.environ if self._environ is None else self._environ
            value = environ.get(self.target)
            if value is None:
                raise ConfigError(
                    str(self),
                    f"environment variable {self.target} is not set",
                    f"export {self.target} before starting Crossdock, or point the setting elsewhere",
                )
        else:
            try:
                value = Path(self.target).read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(
                    str(self),
                    f"cannot read the secret file {self.target}: {exc.strerror or type(exc).__name__}",
                    "create the file (readable by the Crossdock user) or point the setting elsewhere",
                ) from None
            # Files written by `echo` or mounted by orchestrators end in a newline that is not the secret.
            value = value.removesuffix("\n").removesuffix("\r")
        if not value:
            raise ConfigError(str(self), "the secret is empty", f"put the secret into {self.target}")
        return SecretStr(value)

    def __repr__(self) -> str:
        return f"SecretRef({str(self)!r})"

    def __reduce__(self) -> tuple[type[SecretRef], tuple[str]]:
        # Never carry the bound environment (which holds every secret of the process) into a pickle or a copy.
        return (SecretRef, (str(self),))

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        """Validate from a reference string, serialise back to it."""
        return core_schema.no_info_after_validator_function(
            _to_secret_ref,
            core_schema.str_schema(),
            serialization=core_schema.to_string_ser_schema(),
        )


def _to_secret_ref(value: str) -> SecretRef:
    if isinstance(value, SecretRef):
        return value
    if not SecretRef.is_reference(value):
        raise _problem("literal_secret", "a literal secret is not allowed here", _REFERENCE_HINT.format(key="secret"))
    return SecretRef(value, _current_environ())


def _with_secret_refs(value: Any, path: Loc) -> Any:
    """Turn reference strings into SecretRefs, and refuse a literal value under a secret-like key."""
    if isinstance(value, Mapping):
        return {key: _with_secret_refs(item, (*path, key)) for key, item in value.items()}
    if isinstance(value, list):
        return [_with_secret_refs(item, (*path, index)) for index, item in enumerate(value)]
    if SecretRef.is_reference(value):
        return value if isinstance(value, SecretRef) else SecretRef(value, _current_environ())
    key = next((part for part in reversed(path) if isinstance(part, str)), "")
    if value is not None and is_secret_key(key):
        raise _problem(
            "literal_secret",
            f"`{key}` holds a literal secret; secrets must not be written into the config file",
            _REFERENCE_HINT.format(key=key),
            path,
        )
    return value
