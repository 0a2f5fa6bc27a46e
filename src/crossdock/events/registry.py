"""The schema registry: every version of every event type's data schema, compatibility-checked on the way in.

The registry of record is a directory of JSON files, `<subject>/v<N>.json` (for example
`crossdock.customer.updated/v1.json`), reviewed in git and packaged with crossdock under
`crossdock/events/schemas/`. A registered version never changes; a model change is registered as the next
version, and only if it is compatible with what came before (BACKWARD unless the subject's optional
`config.json` says otherwise). The log validates each event's data against the schema of its exact type on
append, so `validate` is built for speed: one dict lookup and one compiled `jsonschema_rs` call per event.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson

from crossdock.events.catalogue import (
    CATALOGUE,
    EventCatalogue,
    EventTypeSpec,
    UnknownEventTypeError,
    split_type,
)
from crossdock.events.compat import CompatibilityMode, Incompatibility, check_compatibility
from crossdock.events.envelope import CloudEvent

PACKAGED_SCHEMA_DIR = Path(__file__).parent / "schemas"
JSON_SCHEMA_DRAFT = "https://json-schema.org/draft/2020-12/schema"
SUBJECT_CONFIG_FILE = "config.json"
MAX_REPORTED_ERRORS = 5
_SUBJECT = re.compile(r"^crossdock\.[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_VERSION_SUFFIX = re.compile(r"\.v[0-9]+$")
_VERSION_FILE = re.compile(r"^v([1-9][0-9]*)\.json$")
_MAX_MESSAGE = 200

SchemaSource = Callable[[str], Mapping[str, Any]]
"""The JSON Schema of a canonical entity by name; `crossdock.model.catalogue.json_schema` in production."""


def dataschema_uri(subject: str, version: int) -> str:
    """The `dataschema` URI of a schema version: `urn:crossdock:schema:crossdock.customer.updated:v1`."""
    return f"urn:crossdock:schema:{subject}:v{version}"


class SchemaRegistryError(Exception):
    """The registry could not do what was asked; the message says what to change."""


class UnknownSchemaError(SchemaRegistryError, UnknownEventTypeError):
    """No schema is registered for an event type or subject."""


class SchemaIncompatibleError(SchemaRegistryError):
    """A new schema version would break readers or writers of an earlier version."""

    def __init__(
        self,
        subject: str,
        version: int,
        mode: CompatibilityMode,
        problems: Mapping[int, list[Incompatibility]],
    ) -> None:
        self.subject = subject
        self.version = version
        self.mode = mode
        self.problems = dict(problems)
        both = len(mode.directions) > 1
        lines = [
            f"{subject} v{version} is not {mode.value} compatible with "
            + ", ".join(f"v{old}" for old in self.problems)
            + ":"
        ]
        for old, found in self.problems.items():
            for problem in found:
                suffix = f" ({problem.direction.value}, vs v{old})" if both or mode.transitive else ""
                lines.append(f"  - {problem}{suffix}")
        lines.append(
            "Make the change compatible (new fields optional with a default, no removed or narrowed values), "
            "or publish the data under a new event type and migrate consumers to it."
        )
        super().__init__("\n".join(lines))

    @property
    def incompatibilities(self) -> list[Incompatibility]:
        """Every problem found, against every version checked."""
        return [problem for found in self.problems.values() for problem in found]


@dataclass(frozen=True, slots=True)
class ValidationProblem:
    """One reason event data does not match its schema, at a JSONPath into the data."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class SchemaValidationError(SchemaRegistryError):
    """Event data that does not match the schema registered for its type."""

    def __init__(
        self, event_id: str, event_type: str, problems: list[ValidationProblem], hint: str, more: int = 0
    ) -> None:
        self.event_id = event_id
        self.event_type = event_type
        self.problems = problems
        self.hint = hint
        details = "; ".join(str(problem) for problem in problems)
        if more:
            details += f"; and {more} more"
        super().__init__(f"event {event_id} ({event_type}): data does not match its schema: {details}. {hint}")


@dataclass(frozen=True, slots=True)
class RegisteredSchema:
    """One registered version of a subject's data schema."""

    subject: str
    version: int
    schema: Mapping[str, Any]

    @property
    def type(self) -> str:
        """The event type this version belongs to, e.g. `crossdock.customer.updated.v1`."""
        return f"{self.subject}.v{self.version}"

    @property
    def dataschema(self) -> str:
        """The `dataschema` URI events of this type carry."""
        return dataschema_uri(self.subject, self.version)


class SchemaRegistry:
    """Schema versions per subject, compatibility-checked on register, with fast validation of event data."""

    def __init__(self, *, validate_formats: bool = False) -> None:
        # Formats (date-time, email) are annotations in draft 2020-12 and off by default: the canonical model
        # already checks them when data is built, and checking them again costs time on every append.
        self._validate_formats = validate_formats
        self._versions: dict[str, list[RegisteredSchema]] = {}
        self._modes: dict[str, CompatibilityMode] = {}
        self._by_type: dict[str, RegisteredSchema] = {}
        self._validators: dict[str, tuple[Any, str]] = {}

    # -- construction

    @classmethod
    def from_directory(cls, *directories: Path | str, validate_formats: bool = False) -> SchemaRegistry:
        """A registry loaded from one or more schema directories (`<subject>/v<N>.json`), in order."""
        registry = cls(validate_formats=validate_formats)
        for directory in directories:
            registry.load_directory(directory)
        return registry

    @classmethod
    def default(cls, extra_directory: Path | str | None = None, *, validate_formats: bool = False) -> SchemaRegistry:
        """The schemas packaged with crossdock, plus a user's own directory of schemas if configured."""
        directories: list[Path | str] = [PACKAGED_SCHEMA_DIR]
        if extra_directory is not None:
            directories.append(extra_directory)
        return cls.from_directory(*directories, validate_formats=validate_formats)

    def load_directory(self, directory: Path | str) -> None:
        """Register every `<subject>/v<N>.json` under a directory, oldest version first."""
        root = Path(directory)
        if not root.is_dir():
            raise SchemaRegistryError(f"schema directory {root} does not exist; create it or fix the configured path")
        for subject_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            self._load_subject(subject_dir)

    def _load_subject(self, subject_dir: Path) -> None:
        subject = subject_dir.name
        files: list[tuple[int, Path]] = []
        for path in subject_dir.iterdir():
            if path.name.startswith("."):
                continue
            if path.name == SUBJECT_CONFIG_FILE:
                self.set_compatibility(subject, _read_config(path))
                continue
            match = _VERSION_FILE.match(path.name)
            if match is None:
                raise SchemaRegistryError(
                    f"unexpected file {path}; schema files are named v<N>.json (and an optional {SUBJECT_CONFIG_FILE})"
                )
            files.append((int(match.group(1)), path))
        for version, path in sorted(files):
            self.register(subject, version, _read_json(path), origin=str(path))

    # -- registration

    def set_compatibility(self, subject: str, mode: CompatibilityMode) -> None:
        """Set the compatibility mode new versions of a subject are checked with (default BACKWARD)."""
        self._modes[subject] = mode

    def compatibility(self, subject: str) -> CompatibilityMode:
        """The compatibility mode of a subject."""
        return self._modes.get(subject, CompatibilityMode.BACKWARD)

    def check(
        self, subject: str, schema: Mapping[str, Any], mode: CompatibilityMode | None = None
    ) -> dict[int, list[Incompatibility]]:
        """What would stop `schema` from becoming the next version of `subject`, keyed by earlier version."""
        mode = self.compatibility(subject) if mode is None else mode
        earlier = self._versions.get(subject, [])
        against = earlier if mode.transitive else earlier[-1:]
        problems: dict[int, list[Incompatibility]] = {}
        for old in against:
            found = check_compatibility(old.schema, schema, mode)
            if found:
                problems[old.version] = found
        return problems

    def register(
        self,
        subject: str,
        version: int,
        schema: Mapping[str, Any],
        mode: CompatibilityMode | None = None,
        *,
        origin: str | None = None,
    ) -> RegisteredSchema:
        """Add `schema` as `version` of `subject`; raise SchemaIncompatibleError if it breaks earlier ones.

        `mode` defaults to the subject's configured compatibility (BACKWARD unless set). Registering the same
        schema again under the same version is a no-op, so loading a directory twice is harmless.
        """
        where = f" ({origin})" if origin else ""
        if not _SUBJECT.match(subject) or _VERSION_SUFFIX.search(subject):
            raise SchemaRegistryError(
                f"subject {subject!r}{where} is not of the form crossdock.<entity>.<verb>; "
                "a subject is an event type without its .v<N>"
            )
        earlier = self._versions.get(subject, [])
        for existing in earlier:
            if existing.version == version:
                if existing.schema == schema:
                    return existing
                raise SchemaRegistryError(
                    f"{subject} v{version}{where} is already registered with a different schema; a "
                    f"registered version never changes: register the change as v{earlier[-1].version + 1}"
                )
        expected = earlier[-1].version + 1 if earlier else 1
        if version != expected:
            raise SchemaRegistryError(
                f"{subject} v{version}{where}: versions are numbered without gaps; the next one is v{expected}"
            )
        document = orjson.loads(orjson.dumps(schema))  # a private copy: callers may go on mutating theirs
        validator = self._compile(subject, version, document, where)
        mode = self.compatibility(subject) if mode is None else mode
        problems = self.check(subject, document, mode)
        if problems:
            raise SchemaIncompatibleError(subject, version, mode, problems)
        registered = RegisteredSchema(subject, version, document)
        self._versions.setdefault(subject, []).append(registered)
        self._by_type[registered.type] = registered
        self._validators[registered.type] = (validator, registered.dataschema)
        return registered

    def _compile(self, subject: str, version: int, document: Any, where: str) -> Any:
        if not isinstance(document, dict):
            raise SchemaRegistryError(f"{subject} v{version}{where}: a schema must be a JSON object")
        try:
            return jsonschema_rs.validator_for(document, validate_formats=self._validate_formats)
        except (ValueError, jsonschema_rs.ReferencingError) as exc:
            first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise SchemaRegistryError(f"{subject} v{version}{where} is not a valid JSON Schema: {first_line}") from None

    # -- lookup

    def __contains__(self, type_: object) -> bool:
        return type_ in self._by_type

    def __len__(self) -> int:
        return len(self._by_type)

    def subjects(self) -> list[str]:
        """Every subject with at least one registered version, sorted."""
        return sorted(self._versions)

    def versions(self, subject: str) -> list[int]:
        """The registered versions of a subject, oldest first; empty if none."""
        return [registered.version for registered in self._versions.get(subject, ())]

    def latest(self, subject: str) -> RegisteredSchema:
        """The newest registered version of a subject."""
        found = self._versions.get(subject)
        if not found:
            raise UnknownSchemaError(
                f"no schema is registered for {subject}; run `crossdock schemas export` or add "
                f"{subject}/v1.json to the schema directory"
            )
        return found[-1]

    def get(self, type_: str) -> RegisteredSchema:
        """The registered schema of an event type such as `crossdock.customer.updated.v1`."""
        registered = self._by_type.get(type_)
        if registered is None:
            raise UnknownSchemaError(self._unknown_message(type_))
        return registered

    def dataschema(self, type_: str) -> str:
        """The `dataschema` URI to put on events of a type."""
        return self.get(type_).dataschema

    def _unknown_message(self, type_: str, event_id: str | None = None) -> str:
        about = f"event {event_id}: " if event_id else ""
        try:
            subject, version = split_type(type_)
        except UnknownEventTypeError:
            return f"{about}{type_!r} is not an event type; types are spelled crossdock.<entity>.<verb>.v<N>"
        known = self.versions(subject)
        if known:
            listed = ", ".join(f"v{v}" for v in known)
            return (
                f"{about}no schema is registered for {type_} (registered: {listed}); "
                f"register v{version} with `crossdock schemas export`, or emit a registered version"
            )
        return (
            f"{about}no schema is registered for {type_}; register it with `crossdock schemas export` or add "
            f"{subject}/v{version}.json to the schema directory"
        )

    # -- validation

    def validate(self, event: CloudEvent) -> None:
        """Raise SchemaValidationError unless the event's data matches the schema registered for its type."""
        compiled = self._validators.get(event.type)
        if compiled is None:
            raise UnknownSchemaError(self._unknown_message(event.type, event.id))
        validator, dataschema = compiled
        if event.dataschema is not None and event.dataschema != dataschema:
            raise SchemaValidationError(
                event.id,
                event.type,
                [ValidationProblem("dataschema", f"{event.dataschema!r} is not this type's schema")],
                f"Set dataschema to {dataschema!r} (SchemaRegistry.dataschema(type)) or leave it unset.",
            )
        # is_valid first: it stops at the first failure and builds no error objects, which keeps the
        # per-event cost down; errors are only collected for the rare invalid event.
        if not validator.is_valid(event.data):
            raise self._invalid(event.id, event.type, validator, event.data)

    def validate_data(self, type_: str, data: Any, *, event_id: str = "-") -> None:
        """Validate data that is not (yet) wrapped in an event against the schema of `type_`."""
        compiled = self._validators.get(type_)
        if compiled is None:
            raise UnknownSchemaError(self._unknown_message(type_))
        if not compiled[0].is_valid(data):
            raise self._invalid(event_id, type_, compiled[0], data)

    def _invalid(self, event_id: str, type_: str, validator: Any, data: Any) -> SchemaValidationError:
        problems: list[ValidationProblem] = []
        more = 0
        for error in validator.iter_errors(data):
            if len(problems) < MAX_REPORTED_ERRORS:
                message = error.message if len(error.message) <= _MAX_MESSAGE else error.message[:_MAX_MESSAGE] + "…"
                problems.append(ValidationProblem(_json_path(error.instance_path), message))
            else:
                more += 1
        return SchemaValidationError(event_id, type_, problems, _hint(type_), more)


def _hint(type_: str) -> str:
    spec = CATALOGUE.find(type_)
    if spec is None:
        return "Fix the producer so that its data matches the registered schema, or register a new version."
    return (
        f"The data must be the canonical {spec.data_entity} as model_dump(mode='json') emits it; "
        "fix the mapping that built it."
    )


def _json_path(parts: Iterable[str | int]) -> str:
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _read_json(path: Path) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise SchemaRegistryError(f"{path} is not valid JSON: {exc}") from None
    except OSError as exc:
        raise SchemaRegistryError(f"cannot read {path}: {exc.strerror}") from None


def _read_config(path: Path) -> CompatibilityMode:
    config = _read_json(path)
    value = config.get("compatibility") if isinstance(config, dict) else None
    try:
        return CompatibilityMode(str(value))
    except ValueError:
        allowed = ", ".join(mode.value for mode in CompatibilityMode)
        raise SchemaRegistryError(f"{path}: compatibility must be one of {allowed}, got {value!r}") from None


# -- exporting schemas from the canonical model


class ExportStatus(enum.StrEnum):
    """What became (or would become) of one catalogue type's schema."""

    UNCHANGED = "unchanged"
    NEW = "new"
    CHANGED = "changed"
    INCOMPATIBLE = "incompatible"


@dataclass(frozen=True, slots=True)
class ExportResult:
    """The outcome for one catalogue type: its status, the version concerned and any incompatibilities."""

    spec: EventTypeSpec
    status: ExportStatus
    version: int
    latest: int | None
    problems: tuple[Incompatibility, ...] = ()
    path: Path | None = None


def model_schema_source(entity: str) -> Mapping[str, Any]:
    """The JSON Schema of a canonical entity, straight from `crossdock.model.catalogue`."""
    try:
        from crossdock.model.catalogue import json_schema
    except ImportError as exc:
        raise SchemaRegistryError(
            f"the canonical model (crossdock.model.catalogue) cannot be imported: {exc}"
        ) from None
    schema: Mapping[str, Any] = json_schema(entity)
    return schema


def schema_document(schema: Mapping[str, Any], subject: str, version: int) -> dict[str, Any]:
    """A model schema as it is registered: with the draft and its own `$id` (the dataschema URI) in front."""
    body = {key: value for key, value in schema.items() if key not in ("$schema", "$id")}
    return {"$schema": JSON_SCHEMA_DRAFT, "$id": dataschema_uri(subject, version), **body}


def schema_path(directory: Path | str, subject: str, version: int) -> Path:
    """Where version `version` of `subject` lives in a schema directory."""
    return Path(directory) / subject / f"v{version}.json"


def export_schemas(
    directory: Path | str,
    *,
    catalogue: EventCatalogue = CATALOGUE,
    schema_source: SchemaSource | None = None,
    write: bool = True,
) -> list[ExportResult]:
    """Compare the current model's schema of every catalogue type with `directory`, writing what is new.

    A type with no registered schema gets v1; one whose schema changed compatibly gets the next version; an
    incompatible change is reported and not written. With `write=False` nothing is written (a dry run, which
    is what `crossdock schemas check` does).
    """
    source = model_schema_source if schema_source is None else schema_source
    root = Path(directory)
    registry = SchemaRegistry.from_directory(root) if root.is_dir() else SchemaRegistry()
    results: list[ExportResult] = []
    for spec in catalogue:
        try:
            generated = source(spec.data_entity)
        except (LookupError, ValueError, TypeError) as exc:
            raise SchemaRegistryError(
                f"cannot build the schema of {spec.type}: the canonical model has no usable schema for "
                f"entity {spec.data_entity!r} ({exc}); fix the model or the catalogue entry"
            ) from None
        known = registry.versions(spec.subject)
        latest = known[-1] if known else None
        if (
            latest is not None
            and schema_document(generated, spec.subject, latest) == registry.latest(spec.subject).schema
        ):
            results.append(ExportResult(spec, ExportStatus.UNCHANGED, latest, latest))
            continue
        version = 1 if latest is None else latest + 1
        document = schema_document(generated, spec.subject, version)
        problems = registry.check(spec.subject, document)
        if problems:
            flat = tuple(problem for found in problems.values() for problem in found)
            results.append(ExportResult(spec, ExportStatus.INCOMPATIBLE, version, latest, flat))
            continue
        status = ExportStatus.NEW if latest is None else ExportStatus.CHANGED
        path = None
        if write:
            registry.register(spec.subject, version, document)
            path = write_schema(root, spec.subject, version, document)
        results.append(ExportResult(spec, status, version, latest, path=path))
    return results


def write_schema(directory: Path | str, subject: str, version: int, schema: Mapping[str, Any]) -> Path:
    """Write one schema version as reviewable JSON; refuse to overwrite a registered version with another."""
    path = schema_path(directory, subject, version)
    body = orjson.dumps(schema, option=orjson.OPT_INDENT_2) + b"\n"
    if path.exists() and orjson.loads(path.read_bytes()) != orjson.loads(body):
        raise SchemaRegistryError(f"{path} already holds a different schema; registered versions never change")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    return path
