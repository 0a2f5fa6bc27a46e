"""Element checks for one segment, in two forms that agree: a compiled regular expression and a detailed check.

The regular expression accepts exactly the segments the detailed check finds nothing wrong with: types, lengths,
code lists, mandatory elements and syntax rules (P, R, E, C, L) are all folded into it, so a valid segment costs one
`fullmatch` in C. Only a segment it refuses is split and checked element by element to say what is wrong.
Syntax rules become a decision tree over element presence, built once per segment definition.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import combinations

from crossdock.edi.x12.findings import ElementError, ElementFinding
from crossdock.edi.x12.specs.model import DataType, ElementDef, SegmentDef, SyntaxRule, Usage
from crossdock.edi.x12.tokenizer import Delimiters

_DAY = "(?:0[1-9]|[12][0-9]|3[01])"
_MONTH = "(?:0[1-9]|1[0-2])"
_HHMM = "(?:[01][0-9]|2[0-3])[0-5][0-9]"
_NUMBER = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")


def _time_pattern(low: int, high: int) -> str:
    if high <= 4:
        return _HHMM
    seconds = "[0-5][0-9]" + ("[0-9]{0,2}" if high >= 7 else "")
    return _HHMM + (seconds if low > 4 else f"(?:{seconds}|)")


def _date_pattern(low: int, high: int) -> str:
    long_form = f"[0-9]{{4}}{_MONTH}{_DAY}"
    short_form = f"[0-9]{{2}}{_MONTH}{_DAY}"
    if low >= 8:
        return long_form
    if high <= 6:
        return short_form
    return f"(?:{long_form}|{short_form})"


def _present_ends(delimiters: Delimiters, terminator: str | None) -> tuple[str, str]:
    """(what a value may not contain besides separators, what ends a segment) in a segment or a whole-set pattern."""
    if terminator is None:
        return "", r"\Z"
    return terminator, f"(?={re.escape(terminator)})"


def element_pattern(
    element: ElementDef, codes: frozenset[str] | None, delimiters: Delimiters, terminator: str | None = None
) -> str:
    """A regular expression for a present (non-empty) value of `element`.

    With a `terminator` the value may not contain it either, so the pattern can run over a whole set's text.
    """
    extra, _ = _present_ends(delimiters, terminator)
    sep = re.escape(delimiters.element + extra)
    text = _text_class(element, delimiters, extra)
    low, high = element.min_len, element.max_len
    if codes is not None:
        return "(?:" + "|".join(re.escape(code) for code in sorted(codes, key=lambda c: (-len(c), c))) + ")"
    if element.kind == DataType.N0:
        return f"-?[0-9]{{{low},{high}}}"
    if element.kind == DataType.R:
        # Digits only (possessive: a longer run cannot succeed by giving some back), or one decimal point with
        # `low`..`high` digits around it, the point not counted.
        point = f"(?=[0-9.]{{{low + 1},{high + 1}}}(?![^{sep}]))[0-9]*\\.[0-9]*"
        return f"-?(?:[0-9]{{{low},{high}}}+(?![0-9.])|{point})"
    if element.kind == DataType.DT:
        return _date_pattern(low, high)
    if element.kind == DataType.TM:
        return _time_pattern(low, high)
    return f"{text}{{{max(low, 1)},{high}}}"


def _text_class(element: ElementDef, delimiters: Delimiters, extra: str) -> str:
    """The characters a text value may hold: anything but the separators (and `extra`, the terminator)."""
    forbidden = delimiters.element + delimiters.component + (delimiters.repetition or "") + extra
    if element.kind == DataType.COMPOSITE:
        forbidden = delimiters.element + (delimiters.repetition or "") + extra
    return "[^" + re.escape(forbidden) + "]"


def optional_element_pattern(
    element: ElementDef, codes: frozenset[str] | None, delimiters: Delimiters, terminator: str | None = None
) -> str:
    """A regular expression for an empty or valid value of `element` (one character repetition where it can)."""
    if codes is None and element.kind in _TEXT_KINDS and element.min_len <= 1:
        extra, _ = _present_ends(delimiters, terminator)
        return f"{_text_class(element, delimiters, extra)}{{0,{element.max_len}}}"
    return f"(?:{element_pattern(element, codes, delimiters, terminator)}|)"


_TEXT_KINDS = frozenset({DataType.AN, DataType.ID, DataType.COMPOSITE})

_Residual = frozenset[frozenset[int]]


def _residual(rule: SyntaxRule, present: frozenset[int], position: int) -> _Residual:
    """The sets of `rule`'s positions from `position` on whose presence would satisfy the rule, given `present`."""
    rest = [p for p in rule.positions if p >= position]
    chosen = (frozenset(c) for size in range(len(rest) + 1) for c in combinations(rest, size))
    return frozenset(c for c in chosen if rule.holds(set(present | c)))


def segment_pattern(
    segment: SegmentDef,
    delimiters: Delimiters,
    codes: dict[int, frozenset[str]] | None = None,
    *,
    terminator: str | None = None,
) -> re.Pattern[str]:
    """The regular expression a valid occurrence of `segment` fully matches (tag included)."""
    return re.compile(segment_regex(segment, delimiters, codes, terminator=terminator))


def segment_regex(
    segment: SegmentDef,
    delimiters: Delimiters,
    codes: dict[int, frozenset[str]] | None = None,
    *,
    terminator: str | None = None,
) -> str:
    """The source of `segment_pattern`; with a `terminator`, for a segment and its terminator inside a set's text."""
    return re.escape(segment.id) + _PresenceTree(segment, delimiters, codes or {}, terminator).tail(1)


_State = tuple[tuple[int, _Residual], ...]
"""For each syntax rule begun but not yet decided, by index: the presence choices still open that satisfy it."""


class _PresenceTree:
    """A segment's elements as a decision tree over element presence, with types, lengths and rules folded in.

    Tree nodes are keyed by what each open syntax rule still accepts (not by which earlier elements were present),
    so histories that leave the rules in the same state share one subtree. Optional parts are written `(?:X|)`,
    which `re` skips without a backtracking frame when X's first character does not match.
    """

    def __init__(
        self, segment: SegmentDef, delimiters: Delimiters, codes: dict[int, frozenset[str]], terminator: str | None
    ) -> None:
        uses = segment.elements
        self.count = len(uses)
        self.sep = re.escape(delimiters.element)
        _, self.end = _present_ends(delimiters, terminator)
        # Where the pattern ends: nothing for one segment; in a set's text, the terminator itself, a literal `re`
        # tells apart from an element separator by its first character, without a backtracking frame.
        self.final = "" if terminator is None else re.escape(terminator)
        self.patterns = [""] + [
            element_pattern(use.element, codes.get(i, use.element.codes), delimiters, terminator)
            for i, use in enumerate(uses, 1)
        ]
        self.optional = [""] + [
            optional_element_pattern(use.element, codes.get(i, use.element.codes), delimiters, terminator)
            for i, use in enumerate(uses, 1)
        ]
        self.mandatory = {i for i, use in enumerate(uses, 1) if use.usage == Usage.MANDATORY}
        self.rules = segment.rules
        self.first_at = {rule: min(rule.positions) for rule in self.rules}
        self.decided_at = {rule: max(rule.positions) for rule in self.rules}
        self.starting = {rule: _residual(rule, frozenset(), self.first_at[rule]) for rule in self.rules}
        # Positions where no rule spans across: the pattern is cut there so what follows is written once, not once
        # per way of reaching it (pairs such as P0607 P0809 ... would otherwise double the pattern at every pair).
        spans = [(self.first_at[rule], self.decided_at[rule]) for rule in self.rules]
        self.cuts = [j for j in range(2, self.count + 2) if not any(low < j <= high for low, high in spans)]
        self.memo: dict[tuple[int, int, _State], str] = {}

    def can_end(self, position: int, state: _State) -> bool:
        """True if the segment may end before element `position` (all later elements absent)."""
        if any(p >= position for p in self.mandatory):
            return False
        if not all(frozenset() in residual for _, residual in state):
            return False
        return all(rule.holds(set()) for rule in self.rules if self.first_at[rule] >= position)

    def advance(self, position: int, state: _State, is_present: bool) -> _State | None:
        """The rule state after deciding element `position`; None if that choice breaks a rule."""
        open_rules = dict(state)
        for index, rule in enumerate(self.rules):
            if position not in rule.positions:
                continue
            residual = open_rules.pop(index, self.starting[rule])
            narrowed = frozenset(c - {position} for c in residual if (position in c) == is_present)
            if not narrowed or (position == self.decided_at[rule] and frozenset() not in narrowed):
                return None
            if position < self.decided_at[rule]:
                open_rules[index] = narrowed
        return tuple(sorted(open_rules.items(), key=lambda item: item[0]))

    def local(self, position: int, stop: int, state: _State, first: bool) -> str:
        """Elements `position`..`stop`-1 given the state of the rules still open."""
        if position == stop:
            return ""
        key = (position, stop, state)
        if key in self.memo and not first:
            return self.memo[key]
        branches: dict[_State, list[bool]] = {}
        for is_present in (True, False):
            if not is_present and position in self.mandatory:
                continue
            following = self.advance(position, state, is_present)
            if following is not None:
                branches.setdefault(following, []).append(is_present)
        options = []
        for following, choices in branches.items():
            element = (self.patterns[position] if choices[0] else "") if len(choices) == 1 else self.optional[position]
            options.append(self.sep + element + self.local(position + 1, stop, following, first=False))
        if not first and self.can_end(position, state):
            options.append(self.end)
        result = _alternation(options)
        if not first:
            self.memo[key] = result
        return result

    def tail(self, position: int) -> str:
        """Elements from `position` to the end of the segment."""
        if position > self.count:
            return self.final
        stop = next(j for j in self.cuts if j > position)
        options = [self.local(position, stop, (), first=True) + self.tail(stop)]
        if self.can_end(position, ()):
            options.append(self.final)
        return _alternation(options)


def _alternation(options: list[str]) -> str:
    if not options:
        return "(?!)"
    return options[0] if len(options) == 1 else "(?:" + "|".join(options) + ")"


def _check_value(  # noqa: PLR0911 - one return per element type
    element: ElementDef, codes: frozenset[str] | None, value: str, delimiters: Delimiters
) -> ElementError | None:
    if element.kind == DataType.COMPOSITE:
        bad = delimiters.repetition is not None and delimiters.repetition in value
        return ElementError.INVALID_CHARACTER if bad else _length(value, element)
    if delimiters.component in value or (delimiters.repetition is not None and delimiters.repetition in value):
        return ElementError.INVALID_CHARACTER
    if codes is not None:
        return None if value in codes else ElementError.INVALID_CODE
    if element.kind == DataType.N0:
        if not _NUMBER.fullmatch(value):
            return ElementError.INVALID_CHARACTER
        return _length(value.lstrip("-"), element)
    if element.kind == DataType.R:
        if not _DECIMAL.fullmatch(value):
            return ElementError.INVALID_CHARACTER
        return _length("".join(c for c in value if c.isdigit()), element)
    if element.kind == DataType.DT:
        ok = re.fullmatch(_date_pattern(element.min_len, element.max_len), value)
        return None if ok else ElementError.INVALID_DATE
    if element.kind == DataType.TM:
        ok = re.fullmatch(_time_pattern(element.min_len, element.max_len), value)
        return None if ok else ElementError.INVALID_TIME
    return _length(value, element)


def _length(value: str, element: ElementDef) -> ElementError | None:
    if len(value) < element.min_len:
        return ElementError.TOO_SHORT
    if len(value) > element.max_len:
        return ElementError.TOO_LONG
    return None


_MESSAGES: dict[ElementError, Callable[[ElementDef], str]] = {
    ElementError.MANDATORY_MISSING: lambda e: f"{e.name} is mandatory; fill it in",
    ElementError.CONDITIONAL_MISSING: lambda e: f"{e.name} is required by a syntax rule of this segment",
    ElementError.TOO_MANY_ELEMENTS: lambda e: "the segment has more elements than its definition; remove the extra",
    ElementError.TOO_SHORT: lambda e: f"{e.name} must be at least {e.min_len} characters",
    ElementError.TOO_LONG: lambda e: f"{e.name} must be at most {e.max_len} characters",
    ElementError.INVALID_CHARACTER: lambda e: f"{e.name} holds a character its type {e.kind.value} does not allow",
    ElementError.INVALID_CODE: lambda e: f"{e.name} is not one of the allowed codes",
    ElementError.INVALID_DATE: lambda e: f"{e.name} is not a valid date (CCYYMMDD)",
    ElementError.INVALID_TIME: lambda e: f"{e.name} is not a valid time (HHMM[SS])",
    ElementError.EXCLUSION_VIOLATED: lambda e: f"{e.name} may not appear together with another element named by a rule",
}


def check_segment(
    segment: SegmentDef, raw: str, delimiters: Delimiters, codes: dict[int, frozenset[str]] | None = None
) -> list[ElementFinding]:
    """Every element problem of one segment occurrence, in position order."""
    codes = codes or {}
    values = raw.split(delimiters.element)[1:]
    uses = segment.elements
    findings: list[ElementFinding] = []

    def add(position: int, code: ElementError, value: str | None) -> None:
        element = uses[position - 1].element if position <= len(uses) else uses[-1].element
        findings.append(ElementFinding(position, code, element.ref, value, _MESSAGES[code](element)))

    present: set[int] = set()
    for position, use in enumerate(uses, 1):
        value = values[position - 1] if position <= len(values) else ""
        if not value:
            if use.usage == Usage.MANDATORY:
                add(position, ElementError.MANDATORY_MISSING, None)
            continue
        present.add(position)
        error = _check_value(use.element, codes.get(position, use.element.codes), value, delimiters)
        if error is not None:
            add(position, error, value[:99])
    if len(values) > len(uses):
        findings.append(
            ElementFinding(
                len(uses) + 1,
                ElementError.TOO_MANY_ELEMENTS,
                0,
                values[len(uses)][:99] or None,
                _MESSAGES[ElementError.TOO_MANY_ELEMENTS](uses[-1].element),
            )
        )
    for rule in segment.rules:
        if rule.holds(present):
            continue
        if rule.kind.value == "E":
            position = [p for p in rule.positions if p in present][1]
            add(position, ElementError.EXCLUSION_VIOLATED, values[position - 1][:99])
        else:
            position = next((p for p in rule.positions if p not in present), rule.positions[0])
            add(position, ElementError.CONDITIONAL_MISSING, None)
    return sorted(findings, key=lambda f: f.position)
