"""Validates transaction sets against their specs and reports typed findings, coded as a 997 reports them.

A spec is compiled once per (set, version family, delimiters) into a state machine: one node per segment position,
and for each node a dict from a segment's first three characters to the transition it takes (to a later position,
a repeat, into a loop or a new loop iteration) with the mandatory segments that transition skips precomputed. The
per-segment work on valid input is one dict lookup, one tuple unpack and one regex `fullmatch`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from itertools import islice
from typing import NamedTuple

from crossdock.edi.x12.elements import check_segment, segment_pattern
from crossdock.edi.x12.envelope import TransactionSet
from crossdock.edi.x12.errors import X12UnsupportedError
from crossdock.edi.x12.findings import ElementError, ElementFinding, SegmentError, SegmentFinding
from crossdock.edi.x12.specs.model import LoopSpec, SegmentDef, SegmentUse, TransactionSetSpec, version_family
from crossdock.edi.x12.specs.segments import segment_dictionary
from crossdock.edi.x12.specs.sets import transaction_set_spec
from crossdock.edi.x12.tokenizer import Delimiters

_REPEAT, _MOVE, _ENTER, _ITERATE = 0, 1, 2, 3


@dataclass(eq=False)
class _Loop:
    id: str | None
    max_use: int
    required: bool
    parent: _Loop | None
    index: int
    items: list[_Node | _Loop] = field(default_factory=list)


@dataclass(eq=False)
class _Node:
    use: SegmentUse
    definition: SegmentDef
    parent: _Loop
    index: int
    match: Callable[[str], object]
    is_header: bool
    next: dict[str, _Transition] = field(default_factory=dict)
    by_tag: dict[str, _Transition] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.use.id


class _Transition(NamedTuple):
    """Where a segment leads; unpacked in the hot loop of `SetValidator.validate`."""

    lookup: Callable[[str], _Transition | None]
    """The target's own transition table (`dict.get`), for the next segment."""
    match: Callable[[str], object]
    mode: int
    """0: a plain move (only the segment is matched), 1: into a loop, 2: a new loop iteration, 3: anything else."""
    target: _Node
    kind: int
    loop: _Loop | None
    missing: tuple[_Node, ...]
    max_use: int


def _mandatory(items: list[_Node | _Loop]) -> list[_Node]:
    """The segments that must appear among `items`: required segments and the headers of required loops."""
    found: list[_Node] = []
    for item in items:
        if isinstance(item, _Node) and item.use.required:
            found.append(item)
        elif isinstance(item, _Loop) and item.required:
            header = item.items[0]
            assert isinstance(header, _Node)
            found.append(header)
    return found


class SetValidator:
    """A transaction set spec compiled for one version family and one set of delimiters."""

    def __init__(self, spec: TransactionSetSpec, family: str, delimiters: Delimiters) -> None:
        self.spec = spec
        self.family = family
        self.delimiters = delimiters
        self._dictionary = segment_dictionary(family)
        self._patterns: dict[tuple[str, tuple[tuple[int, frozenset[str]], ...]], Callable[[str], object]] = {}
        self._all_ids: set[str] = set()
        self._top = _Loop(None, 1, True, None, 0)
        self._nodes: list[_Node] = []
        self._build(spec.body, self._top)
        for node in self._nodes:
            self._link(node)
        self._start = self._nodes[0]

    def _pattern(self, definition: SegmentDef, use: SegmentUse) -> Callable[[str], object]:
        key = (definition.id, tuple(sorted(use.codes.items())))
        if key not in self._patterns:
            self._patterns[key] = segment_pattern(definition, self.delimiters, use.codes).fullmatch
        return self._patterns[key]

    def _build(self, body: tuple[SegmentUse | LoopSpec, ...], parent: _Loop) -> None:
        for item in body:
            index = len(parent.items)
            if isinstance(item, LoopSpec):
                child = _Loop(item.id, item.max_use, item.required, parent, index)
                parent.items.append(child)
                self._build(item.body, child)
                continue
            definition = self._dictionary[item.id]
            is_header = parent is not self._top and index == 0
            node = _Node(item, definition, parent, index, self._pattern(definition, item), is_header)
            parent.items.append(node)
            self._nodes.append(node)
            self._all_ids.add(item.id)

    def _resolve(self, node: _Node, tag: str) -> _Transition | None:
        """Where `tag` goes after `node`, following the X12 rule: forward in the loop, new iteration, then outwards."""
        if node.id == tag and not node.is_header and node.use.max_use > 1:
            return self._transition(node, _REPEAT, None, [])
        missing: list[_Node] = []
        level, index = node.parent, node.index
        while True:
            for position in range(index + 1, len(level.items)):
                item = level.items[position]
                skipped = missing + _mandatory(level.items[index + 1 : position])
                if isinstance(item, _Node) and item.id == tag:
                    return self._transition(item, _MOVE, None, skipped)
                if isinstance(item, _Loop):
                    header = item.items[0]
                    assert isinstance(header, _Node)
                    if header.id == tag:
                        return self._transition(header, _ENTER, item, skipped)
            if level.parent is None:
                break
            missing = missing + _mandatory(level.items[index + 1 :])
            header = level.items[0]
            assert isinstance(header, _Node)
            if header.id == tag:
                return self._transition(header, _ITERATE, level, missing)
            level, index = level.parent, level.index
        if node.id == tag and not node.is_header:
            return self._transition(node, _REPEAT, None, [])
        return None

    def _transition(self, target: _Node, kind: int, loop: _Loop | None, missing: list[_Node]) -> _Transition:
        mode = 3
        if not missing and not (self.spec.hierarchical and target.id == "HL"):
            mode = {_MOVE: 0, _ENTER: 1, _ITERATE: 2}.get(kind, 3)
        return _Transition(target.next.get, target.match, mode, target, kind, loop, tuple(missing), target.use.max_use)

    def _link(self, node: _Node) -> None:
        sep = self.delimiters.element
        for tag in self._all_ids:
            transition = self._resolve(node, tag)
            if transition is None:
                continue
            node.by_tag[tag] = transition
            node.next[tag + sep if len(tag) == 2 else tag] = transition

    def _finish(self, node: _Node) -> list[_Node]:
        """Mandatory segments still to come after `node` when the set ends there."""
        missing: list[_Node] = []
        level: _Loop | None = node.parent
        index = node.index
        while level is not None:
            missing += _mandatory(level.items[index + 1 :])
            index = level.index
            level = level.parent
        return missing

    def validate(self, raw: list[str]) -> list[SegmentFinding]:
        """Every finding for one set's raw segments (ST first); an empty list means the set is valid."""
        findings: list[SegmentFinding] = []
        node = self._start
        first = raw[0] if raw else ""
        if node.match(first) is None:
            self._element_findings(node, first, 1, findings)
        st = first.split(self.delimiters.element)
        if len(st) > 1 and st[1] != self.spec.id:
            findings.append(
                SegmentFinding("ST", 1, None, SegmentError.ELEMENT_ERRORS, "ST01 names another transaction set")
            )
        lookup: Callable[[str], _Transition | None] = node.next.get
        count = 1
        loop_counts: dict[_Loop, int] = {}
        hierarchy: dict[str, str] = {}
        position = 1
        for position, segment in enumerate(islice(raw, 1, None), 2):
            transition = lookup(segment[:3])
            if transition is None:
                transition = self._slow_transition(node, segment, position, findings)
                if transition is None:
                    continue
            lookup, match, mode, node, _, loop, _, _ = transition
            if mode == 0:
                count = 1
            elif mode == 1 and loop is not None:
                count = loop_counts[loop] = 1
            elif mode == 2 and loop is not None:
                count = 1
                times = loop_counts[loop] = loop_counts.get(loop, 1) + 1
                if times > loop.max_use:
                    self._finding(node, position, SegmentError.LOOP_OVER_MAXIMUM, findings)
            else:
                count = self._count(transition, count, position, segment, loop_counts, hierarchy, findings)
            if match(segment) is None:
                self._element_findings(node, segment, position, findings)
        if node.id != "SE":
            self._missing(tuple(self._finish(node)), position + 1, findings)
        return findings

    def _count(
        self,
        transition: _Transition,
        count: int,
        position: int,
        segment: str,
        loop_counts: dict[_Loop, int],
        hierarchy: dict[str, str],
        findings: list[SegmentFinding],
    ) -> int:
        """Bookkeeping for transitions that are not plain moves; returns the target's new use count."""
        target, kind, loop = transition.target, transition.kind, transition.loop
        if transition.missing:
            self._missing(transition.missing, position, findings)
        if kind == _REPEAT:
            count += 1
            if count > transition.max_use:
                self._finding(target, position, SegmentError.SEGMENT_OVER_MAXIMUM, findings)
        else:
            count = 1
            if kind == _ENTER and loop is not None:
                loop_counts[loop] = 1
            elif kind == _ITERATE and loop is not None:
                times = loop_counts[loop] = loop_counts.get(loop, 1) + 1
                if times > loop.max_use:
                    self._finding(target, position, SegmentError.LOOP_OVER_MAXIMUM, findings)
        if self.spec.hierarchical and target.id == "HL":
            self._check_hierarchy(segment, position, hierarchy, findings)
        return count

    def _slow_transition(
        self, node: _Node, segment: str, position: int, findings: list[SegmentFinding]
    ) -> _Transition | None:
        """A segment whose first characters are not a known key: padding, a short segment, or an unexpected one."""
        stripped = segment.strip()
        if not stripped:
            return None
        tag = stripped.split(self.delimiters.element, 1)[0]
        transition = node.by_tag.get(tag)
        if transition is not None:
            return transition
        loop_id = node.parent.id
        if tag not in self._dictionary or not tag.isalnum():
            code, message = SegmentError.UNRECOGNIZED, f"{tag[:3]!r} is not a known segment id; check the spelling"
        elif tag not in self._all_ids:
            code = SegmentError.NOT_IN_SET
            message = f"{tag} is not part of transaction set {self.spec.id}; remove it or send it in another set"
        elif self._earlier(node, tag):
            code = SegmentError.OUT_OF_SEQUENCE
            message = f"{tag} comes too late here; move it before the segments that follow it in the standard order"
        else:
            code = SegmentError.UNEXPECTED
            message = f"{tag} is not allowed at this point of {self.spec.id}; check the loop it belongs to"
        findings.append(SegmentFinding(tag[:3], position, loop_id, code, message))
        return None

    def _earlier(self, node: _Node, tag: str) -> bool:
        level: _Loop | None = node.parent
        while level is not None:
            if any(isinstance(item, _Node) and item.id == tag for item in level.items):
                return True
            level = level.parent
        return False

    @staticmethod
    def _missing(missing: tuple[_Node, ...], position: int, findings: list[SegmentFinding]) -> None:
        findings.extend(
            SegmentFinding(
                node.id,
                position,
                node.parent.id,
                SegmentError.MANDATORY_MISSING,
                f"mandatory segment {node.id} ({node.definition.name}) is missing before segment {position}; add it",
            )
            for node in missing
        )

    @staticmethod
    def _finding(node: _Node, position: int, code: SegmentError, findings: list[SegmentFinding]) -> None:
        if code == SegmentError.LOOP_OVER_MAXIMUM:
            message = f"loop {node.parent.id} repeats more often than its maximum of {node.parent.max_use}"
        else:
            message = f"{node.id} repeats more often than its maximum use of {node.use.max_use}; merge or drop some"
        findings.append(SegmentFinding(node.id, position, node.parent.id, code, message))

    def _element_findings(self, node: _Node, segment: str, position: int, findings: list[SegmentFinding]) -> None:
        elements = check_segment(node.definition, segment.strip(), self.delimiters, node.use.codes)
        if elements:
            summary = "; ".join(f"{node.id}{e.position:02d} {e.message}" for e in elements)
            findings.append(
                SegmentFinding(node.id, position, node.parent.id, SegmentError.ELEMENT_ERRORS, summary, tuple(elements))
            )

    def _check_hierarchy(
        self, segment: str, position: int, seen: dict[str, str], findings: list[SegmentFinding]
    ) -> None:
        """HL01 unique, HL02 names an earlier HL, and the level fits under its parent's (O under S, I under O/P)."""
        values = [*segment.split(self.delimiters.element), "", "", ""]
        hl_id, parent, level = values[1], values[2], values[3]
        problems: list[ElementFinding] = []
        if hl_id in seen:
            problems.append(ElementFinding(1, ElementError.INVALID_CODE, 628, hl_id, f"HL01 {hl_id} is used twice"))
        if parent and parent not in seen:
            problems.append(
                ElementFinding(2, ElementError.INVALID_CODE, 734, parent, f"HL02 {parent} names no earlier HL")
            )
        elif parent and level in _PARENT_LEVELS and seen[parent] not in _PARENT_LEVELS[level]:
            problems.append(
                ElementFinding(
                    3, ElementError.INVALID_CODE, 735, level, f"level {level} cannot sit under level {seen[parent]}"
                )
            )
        elif not parent and seen and level != "S":
            problems.append(ElementFinding(2, ElementError.MANDATORY_MISSING, 734, None, "HL02 parent id is missing"))
        seen[hl_id] = level
        if problems:
            summary = "; ".join(p.message for p in problems)
            findings.append(SegmentFinding("HL", position, "HL", SegmentError.ELEMENT_ERRORS, summary, tuple(problems)))


_PARENT_LEVELS = {
    "O": frozenset({"S"}),
    "T": frozenset({"S", "O", "T"}),
    "P": frozenset({"S", "O", "T"}),
    "Q": frozenset({"P", "T"}),
    "I": frozenset({"S", "O", "T", "P", "Q"}),
    "F": frozenset({"I"}),
}


@cache
def compiled_validator(set_id: str, family: str, delimiters: Delimiters) -> SetValidator:
    """The compiled validator for `set_id` in `family` with `delimiters` (built once, then shared)."""
    return SetValidator(transaction_set_spec(set_id, family), family, delimiters)


def validator_for(transaction: TransactionSet) -> SetValidator:
    """The compiled validator for a transaction set read from a file; X12UnsupportedError if none exists."""
    set_id = transaction.set_id
    if not set_id:
        raise X12UnsupportedError("transaction set has no ST01 set id", position=transaction.position)
    return compiled_validator(set_id, version_family(transaction.version), transaction.delimiters)


def validate(transaction: TransactionSet) -> list[SegmentFinding]:
    """The findings for one transaction set read from a file (empty when it is valid)."""
    return validator_for(transaction).validate(transaction.raw)
