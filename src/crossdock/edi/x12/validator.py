"""Validates transaction sets against their specs and reports typed findings, coded as a 997 reports them.

A spec is compiled once per (set, version family, delimiters) into a state machine: one node per segment position,
and for each node a dict from a segment's first three characters to the transition it takes (to a later position,
a repeat, into a loop or a new loop iteration) with the mandatory segments that transition skips precomputed. The
walk's per-segment work on valid input is one dict lookup, one tuple unpack and one regex `fullmatch`.

Once a validator has walked enough segments it also compiles the whole set into one pattern
(`crossdock.edi.x12.fastpath`) that accepts exactly the sets the walk finds nothing in: a valid set then costs one
`fullmatch` over its text, and only a set the pattern refuses is walked, to say what is wrong with it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from itertools import islice

from crossdock.edi.x12.elements import check_segment, segment_pattern
from crossdock.edi.x12.envelope import TransactionSet
from crossdock.edi.x12.errors import X12UnsupportedError
from crossdock.edi.x12.fastpath import compile_set_pattern
from crossdock.edi.x12.findings import ElementError, ElementFinding, SegmentError, SegmentFinding
from crossdock.edi.x12.specs.model import LoopSpec, SegmentDef, SegmentUse, TransactionSetSpec, version_family
from crossdock.edi.x12.specs.segments import segment_dictionary
from crossdock.edi.x12.specs.sets import transaction_set_spec
from crossdock.edi.x12.states import ENTER, ITERATE, MOVE, REPEAT, Loop, Node, Transition, mandatory
from crossdock.edi.x12.tokenizer import Delimiters


class SetValidator:
    """A transaction set spec compiled for one version family and one set of delimiters.

    `validate` walks a set segment by segment (`walk`) until this validator has walked `fast_path_after`
    segments; from then on it first tries the whole-set pattern (`accepts`, compiled once, in a few tenths of a
    second for the larger sets), so a process that reads much of one kind of set pays about one `fullmatch` per
    valid set, and one that reads a few small files never compiles it. The findings are the same either way.
    """

    fast_path_after = 50_000
    """Segments walked before `validate` compiles and uses the whole-set pattern."""

    def __init__(self, spec: TransactionSetSpec, family: str, delimiters: Delimiters) -> None:
        self.spec = spec
        self.family = family
        self.delimiters = delimiters
        self._dictionary = segment_dictionary(family)
        self._patterns: dict[tuple[str, tuple[tuple[int, frozenset[str]], ...]], Callable[[str], object]] = {}
        self._all_ids: set[str] = set()
        self._top = Loop(None, 1, True, None, 0)
        self._nodes: list[Node] = []
        self._build(spec.body, self._top)
        for node in self._nodes:
            self._link(node)
        self._start = self._nodes[0]
        self._fast: Callable[[str], object] | None = None
        self._walked = 0

    def _pattern(self, definition: SegmentDef, use: SegmentUse) -> Callable[[str], object]:
        key = (definition.id, tuple(sorted(use.codes.items())))
        if key not in self._patterns:
            self._patterns[key] = segment_pattern(definition, self.delimiters, use.codes).fullmatch
        return self._patterns[key]

    def _build(self, body: tuple[SegmentUse | LoopSpec, ...], parent: Loop) -> None:
        for item in body:
            index = len(parent.items)
            if isinstance(item, LoopSpec):
                child = Loop(item.id, item.max_use, item.required, parent, index)
                parent.items.append(child)
                self._build(item.body, child)
                continue
            definition = self._dictionary[item.id]
            is_header = parent is not self._top and index == 0
            node = Node(item, definition, parent, index, self._pattern(definition, item), is_header)
            parent.items.append(node)
            self._nodes.append(node)
            self._all_ids.add(item.id)

    def _resolve(self, node: Node, tag: str) -> Transition | None:
        """Where `tag` goes after `node`, following the X12 rule: forward in the loop, new iteration, then outwards."""
        if node.id == tag and not node.is_header and node.use.max_use > 1:
            return self._transition(node, REPEAT, None, [])
        missing: list[Node] = []
        level, index = node.parent, node.index
        while True:
            for position in range(index + 1, len(level.items)):
                item = level.items[position]
                skipped = missing + mandatory(level.items[index + 1 : position])
                if isinstance(item, Node) and item.id == tag:
                    return self._transition(item, MOVE, None, skipped)
                if isinstance(item, Loop):
                    header = item.header
                    if header.id == tag:
                        return self._transition(header, ENTER, item, skipped)
            if level.parent is None:
                break
            missing = missing + mandatory(level.items[index + 1 :])
            header = level.header
            if header.id == tag:
                return self._transition(header, ITERATE, level, missing)
            level, index = level.parent, level.index
        if node.id == tag and not node.is_header:
            return self._transition(node, REPEAT, None, [])
        return None

    def _transition(self, target: Node, kind: int, loop: Loop | None, missing: list[Node]) -> Transition:
        mode = 3
        if not missing and not (self.spec.hierarchical and target.id == "HL"):
            mode = {MOVE: 0, ENTER: 1, ITERATE: 2}.get(kind, 3)
        return Transition(target.next.get, target.match, mode, target, kind, loop, tuple(missing), target.use.max_use)

    def _link(self, node: Node) -> None:
        sep = self.delimiters.element
        for tag in self._all_ids:
            transition = self._resolve(node, tag)
            if transition is None:
                continue
            node.by_tag[tag] = transition
            node.next[tag + sep if len(tag) == 2 else tag] = transition

    def _finish(self, node: Node) -> list[Node]:
        """Mandatory segments still to come after `node` when the set ends there."""
        missing: list[Node] = []
        level: Loop | None = node.parent
        index = node.index
        while level is not None:
            missing += mandatory(level.items[index + 1 :])
            index = level.index
            level = level.parent
        return missing

    def validate(self, raw: list[str]) -> list[SegmentFinding]:
        """Every finding for one set's raw segments (ST first); an empty list means the set is valid."""
        if self._fast is not None or self._walked >= self.fast_path_after:
            term = self.delimiters.segment
            text = term.join(raw) + term
            if raw and text.count(term) == len(raw) and self.accepts(text):
                return []
        return self.walk(raw)

    def validate_text(self, text: str) -> list[SegmentFinding]:
        """`validate` for a set's text: its segments, each followed by the terminator (`TransactionSet.text`)."""
        if (self._fast is not None or self._walked >= self.fast_path_after) and self.accepts(text):
            return []
        raw = text.split(self.delimiters.segment)
        if raw and not raw[-1]:
            raw.pop()  # the empty string after the last terminator
        return self.walk(raw)

    def accepts(self, text: str) -> bool:
        """True if the whole-set pattern accepts `text`, which proves `walk` finds nothing; False says only that
        the detailed walk must run (see `crossdock.edi.x12.fastpath`)."""
        fast = self._fast
        if fast is None:
            fast = self._fast = compile_set_pattern(self._top, self._nodes, self.delimiters, self.spec.id)
        if fast(text) is None:
            return False
        return not self.spec.hierarchical or self._hierarchy_holds(text)

    def _hierarchy_holds(self, text: str) -> bool:
        """The HL checks the walk makes (parents, levels), over the HL segments of an otherwise valid set."""
        prefix = "HL" + self.delimiters.element
        seen: dict[str, str] = {}
        findings: list[SegmentFinding] = []
        for segment in text.split(self.delimiters.segment):
            if segment.startswith(prefix):
                self._check_hierarchy(segment, 0, seen, findings)
                if findings:
                    return False
        return True

    def walk(self, raw: list[str]) -> list[SegmentFinding]:
        """The detailed check: every finding for one set's raw segments, walking them one by one."""
        self._walked += len(raw)
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
        lookup: Callable[[str], Transition | None] = node.next.get
        count = 1
        loop_counts: dict[Loop, int] = {}
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
        transition: Transition,
        count: int,
        position: int,
        segment: str,
        loop_counts: dict[Loop, int],
        hierarchy: dict[str, str],
        findings: list[SegmentFinding],
    ) -> int:
        """Bookkeeping for transitions that are not plain moves; returns the target's new use count."""
        target, kind, loop = transition.target, transition.kind, transition.loop
        if transition.missing:
            self._missing(transition.missing, position, findings)
        if kind == REPEAT:
            count += 1
            if count > transition.max_use:
                self._finding(target, position, SegmentError.SEGMENT_OVER_MAXIMUM, findings)
        else:
            count = 1
            if kind == ENTER and loop is not None:
                loop_counts[loop] = 1
            elif kind == ITERATE and loop is not None:
                times = loop_counts[loop] = loop_counts.get(loop, 1) + 1
                if times > loop.max_use:
                    self._finding(target, position, SegmentError.LOOP_OVER_MAXIMUM, findings)
        if self.spec.hierarchical and target.id == "HL":
            self._check_hierarchy(segment, position, hierarchy, findings)
        return count

    def _slow_transition(
        self, node: Node, segment: str, position: int, findings: list[SegmentFinding]
    ) -> Transition | None:
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

    def _earlier(self, node: Node, tag: str) -> bool:
        level: Loop | None = node.parent
        while level is not None:
            if any(isinstance(item, Node) and item.id == tag for item in level.items):
                return True
            level = level.parent
        return False

    @staticmethod
    def _missing(missing: tuple[Node, ...], position: int, findings: list[SegmentFinding]) -> None:
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
    def _finding(node: Node, position: int, code: SegmentError, findings: list[SegmentFinding]) -> None:
        if code == SegmentError.LOOP_OVER_MAXIMUM:
            message = f"loop {node.parent.id} repeats more often than its maximum of {node.parent.max_use}"
        else:
            message = f"{node.id} repeats more often than its maximum use of {node.use.max_use}; merge or drop some"
        findings.append(SegmentFinding(node.id, position, node.parent.id, code, message))

    def _element_findings(self, node: Node, segment: str, position: int, findings: list[SegmentFinding]) -> None:
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
    validator = validator_for(transaction)
    if transaction.cut_from_text:
        return validator.validate_text(transaction.text)
    return validator.validate(transaction.raw)
