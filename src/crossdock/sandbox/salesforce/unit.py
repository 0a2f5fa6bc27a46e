"""A unit of work: the record changes of one API call, staged over the committed records until the store commits
them. Savepoints (`mark`/`rollback`) undo one record's changes so the rest of a collection call can go on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from crossdock.sandbox.salesforce.store import Store

Record = dict[str, Any]
_MISSING: Any = object()


@dataclass(frozen=True, slots=True)
class Change:
    """One record change in a unit of work, the raw material of a change event."""

    sobject: str
    change_type: str  # CREATE, UPDATE, DELETE, UNDELETE
    record_id: str
    before: Record | None
    after: Record


class Unit:
    """Changes staged by one API call; `mark`/`rollback` undo one record's changes, commit applies them all."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.staged: dict[str, Record] = {}
        self.sobjects: dict[str, str] = {}
        self.changes: list[Change] = []
        self._ext: dict[tuple[str, str, str], str | None] = {}
        self._journal: list[tuple[str, Any, Any]] = []
        self._children: dict[tuple[str, str], dict[str, set[str]]] = {}

    def get(self, record_id: str) -> Record | None:
        """The record as this unit sees it (staged, else committed), tombstones included."""
        staged = self.staged.get(record_id)
        return staged if staged is not None else self.store.get(record_id)

    def put(self, sobject: str, record: Record, change: Change | None) -> None:
        """Stage the new state of a record (and the change event it causes, if any)."""
        record_id: str = record["Id"]
        before = self.get(record_id)
        self._journal.append(("staged", record_id, self.staged.get(record_id, _MISSING)))
        self.staged[record_id] = record
        self.sobjects[record_id] = sobject
        spec = self.store.schema.objects[sobject]
        for name in spec.external_ids:
            old_key = ext_key(before, name)
            new_key = None if record.get("IsDeleted") else ext_key(record, name)
            if old_key is not None and old_key != new_key:
                self._set_ext((sobject, name, old_key), None)
            if new_key is not None:
                self._set_ext((sobject, name, new_key), record_id)
        for (child, field_name), index in self._children.items():
            parent = record.get(field_name) if child == sobject else None
            if parent is not None:
                index.setdefault(parent, set()).add(record_id)
        if change is not None:
            self.changes.append(change)

    def _set_ext(self, key: tuple[str, str, str], value: str | None) -> None:
        self._journal.append(("ext", key, self._ext.get(key, _MISSING)))
        self._ext[key] = value

    def mark(self) -> tuple[int, int]:
        """A savepoint: what `rollback` returns to."""
        return len(self._journal), len(self.changes)

    def rollback(self, mark: tuple[int, int]) -> None:
        """Undo everything staged since `mark`."""
        journal_length, change_count = mark
        while len(self._journal) > journal_length:
            kind, key, previous = self._journal.pop()
            target: dict[Any, Any] = self.staged if kind == "staged" else self._ext
            if previous is _MISSING:
                target.pop(key, None)
            else:
                target[key] = previous
        del self.changes[change_count:]

    def find_external(self, sobject: str, field_name: str, value: str) -> Record | None:
        """The live record whose external id `field_name` equals `value` (case-insensitive), if any."""
        key = value.lower()
        staged_key = (sobject, field_name, key)
        if staged_key in self._ext:
            record_id = self._ext[staged_key]
        else:
            record_id = self.store.external_index(sobject, field_name).get(key)
        if record_id is None:
            return None
        record = self.get(record_id)
        if record is None or record.get("IsDeleted") or ext_key(record, field_name) != key:
            return None
        return record

    def children(self, child: str, field_name: str, parent_id: str) -> list[Record]:
        """Live `child` records whose `field_name` points at `parent_id`."""
        index = self._children.get((child, field_name))
        if index is None:
            index = {}
            for record in self.live(child):
                parent = record.get(field_name)
                if parent is not None:
                    index.setdefault(parent, set()).add(record["Id"])
            self._children[(child, field_name)] = index
        found: list[Record] = []
        # The index only grows, so candidates are checked against the current state of each record.
        for record_id in sorted(index.get(parent_id, ())):
            candidate = self.get(record_id)
            if candidate is not None and not candidate.get("IsDeleted") and candidate.get(field_name) == parent_id:
                found.append(candidate)
        return found

    def rows(self, sobject: str) -> Iterator[Record]:
        """Every record of `sobject` as this unit sees it, tombstones included."""
        committed = self.store.records[sobject]
        for record_id, record in committed.items():
            yield self.staged.get(record_id, record)
        for record_id, record in self.staged.items():
            if record_id not in committed and self.sobjects[record_id] == sobject:
                yield record

    def live(self, sobject: str) -> Iterator[Record]:
        """Every live record of `sobject` as this unit sees it."""
        committed = self.store.records[sobject]
        for record_id, record in committed.items():
            current = self.staged.get(record_id, record)
            if not current.get("IsDeleted"):
                yield current
        for record_id, record in self.staged.items():
            if record_id not in committed and self.sobjects[record_id] == sobject and not record.get("IsDeleted"):
                yield record


def ext_key(record: Record | None, field_name: str) -> str | None:
    """The lower-cased external id value of a record, as the unique index compares it."""
    if record is None:
        return None
    value = record.get(field_name)
    return value.lower() if isinstance(value, str) and value else None


class RecordSource(Protocol):
    """Where reads come from: the committed store, or a unit of work that sees its own staged changes."""

    def get(self, record_id: str) -> Record | None:
        """A record by its 18-character id, tombstones included."""

    def rows(self, sobject: str) -> Iterable[Record]:
        """Every record of an object, tombstones included."""
