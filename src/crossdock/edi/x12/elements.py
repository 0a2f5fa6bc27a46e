"""Element checks for one segment, in two forms that agree: a compiled regular expression and a detailed check.

The regular expression accepts exactly the segments the detailed check finds nothing wrong with: types, lengths,
code lists, mandatory elements and syntax rules (P, R, E, C, L) are all folded into it, so a valid segment costs one
`fullmatch` in C. Only a segment it refuses is split and checked element by element to say what is wrong.
Syntax rules become a decision tree over element presence, built once per segment definition.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from crossdock.edi.x12.findings import ElementError, ElementFinding
from crossdock.edi.x12.specs.model import DataType, ElementDef, SegmentDef, Usage
from crossdock.edi.x12.tokenizer import Delimiters

_DAY = "(?:0[1-9]|[12][0-9]|3[01])"
_MONTH = "(?:0[1-9]|1[0-2])"
_HHMM = "(?:[01][0-9]|2[0-3])[0-5][0-9]"
_NUMBER = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")


def _time_pattern(low: int, high: int) -> str:
    if high <= 4:
        return _HHMM
    seconds = "[0-5][0-9]" + ("(?:[0-9]{1,2})?" if high >= 7 else "")
    return _HHMM + (seconds if low > 4 else f"(?:{seconds})?")


def _date_pattern(low: int, high: int) -> str:
    long_form = f"[0-9]{{4}}{_MONTH}{_DAY}"
    short_form = f"[0-9]{{2}}{_MONTH}{_DAY}"
    if low >= 8:
        return long_form
    if high <= 6:
        return short_form
    return f"(?:{long_form}|{short_form})"


def element_pattern(element: ElementDef, codes: frozenset[str] | None, delimiters: Delimiters) -> str:
    """A regular expression for a present (non-empty) value of `element`."""
    sep = re.escape(delimiters.element)
    forbidden = delimiters.element + delimiters.component + (delimiters.repetition or "")
    if element.kind == DataType.COMPOSITE:
        forbidden = delimiters.element + (delimiters.repetition or "")
    text = "[^" + re.escape(forbidden) + "]"
    low, high = element.min_len, element.max_len
    if codes is not None:
        return "(?:" + "|".join(re.escape(code) for code in sorted(codes, key=lambda c: (-len(c), c))) + ")"
    if element.kind == DataType.N0:
        return f"-?[0-9]{{{low},{high}}}"
    if element.kind == DataType.R:
        end = f"(?![^{sep}])"
        return f"-?(?:(?=[0-9]{{{low},{high}}}{end})[0-9]+|(?=[0-9.]{{{low + 1},{high + 1}}}{end})[0-9]*\\.[0-9]*)"
    if element.kind == DataType.DT:
        return _date_pattern(low, high)
    if element.kind == DataType.TM:
        return _time_pattern(low, high)
    return f"{text}{{{max(low, 1)},{high}}}"


def segment_pattern(
    segment: SegmentDef, delimiters: Delimiters, codes: dict[int, frozenset[str]] | None = None
) -> re.Pattern[str]:
    """The regular expression a valid occurrence of `segment` fully matches (tag included)."""
    codes = codes or {}
    uses = segment.elements
    count = len(uses)
    sep = re.escape(delimiters.element)
    patterns = [""] + [
        element_pattern(use.element, codes.get(i, use.element.codes), delimiters) for i, use in enumerate(uses, 1)
    ]
    mandatory = {i for i, use in enumerate(uses, 1) if use.usage == Usage.MANDATORY}
    rules = segment.rules
    decided_at = {rule: max(rule.positions) for rule in rules}
    # Positions where no rule spans across: the pattern is cut there so what follows is written once, not once per
    # way of reaching it (pairs such as P0607 P0809 ... would otherwise double the pattern at every pair).
    cuts = [j for j in range(2, count + 2) if not any(min(r.positions) < j <= decided_at[r] for r in rules)]

    def can_end(position: int, present: frozenset[int]) -> bool:
        if any(p >= position for p in mandatory):
            return False
        return all(rule.holds(set(present)) for rule in rules if decided_at[rule] >= position)

    def alternation(options: list[str]) -> str:
        if not options:
            return "(?!)"
        return options[0] if len(options) == 1 else "(?:" + "|".join(options) + ")"

    memo: dict[tuple[int, int, frozenset[int]], str] = {}

    def local(position: int, stop: int, present: frozenset[int], first: bool) -> str:
        """Elements `position`..`stop`-1 given the presence of earlier elements still under an open rule."""
        if position == stop:
            return ""
        key = (position, stop, present)
        if key in memo and not first:
            return memo[key]
        branches: dict[frozenset[int], list[bool]] = {}
        for is_present in (True, False):
            if not is_present and position in mandatory:
                continue
            now = present | {position} if is_present else present
            if not all(rule.holds(set(now)) for rule in rules if decided_at[rule] == position):
                continue
            keep = {p for rule in rules for p in rule.positions if p <= position < decided_at[rule]}
            branches.setdefault(frozenset(p for p in now if p in keep), []).append(is_present)
        options = []
        for following, choices in branches.items():
            value = patterns[position]
            element = f"(?:{value})?" if len(choices) == 2 else (value if choices[0] else "")
            options.append(sep + element + local(position + 1, stop, following, first=False))
        if not first and can_end(position, present):
            options.append(r"\Z")
        result = alternation(options)
        if not first:
            memo[key] = result
        return result

    def tail(position: int) -> str:
        if position > count:
            return ""
        stop = next(j for j in cuts if j > position)
        options = [local(position, stop, frozenset(), first=True) + tail(stop)]
        if can_end(position, frozenset()):
            options.append("")
        return alternation(options)

    return re.compile(re.escape(segment.id) + tail(1))


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
