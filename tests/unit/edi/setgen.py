"""Transaction sets generated from the specs: valid ones, and the same with structural or element damage.

Generation runs on a `random.Random` seeded by Hypothesis (fast for sets of hundreds of segments, and reproducible
from the seed Hypothesis reports). Every generated segment is checked with `check_segment`, so a generator bug
shows up as such and not as a validator disagreement.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from crossdock.edi.x12 import Delimiters
from crossdock.edi.x12.elements import check_segment
from crossdock.edi.x12.specs import segment_dictionary, transaction_set_spec
from crossdock.edi.x12.specs.model import (
    DataType,
    ElementDef,
    LoopSpec,
    RuleKind,
    SegmentDef,
    SegmentUse,
    SyntaxRule,
    Usage,
)

SET_IDS = ["850", "855", "860", "856", "810", "846", "997"]
FAMILIES = ["004010", "005010"]
_TEXT = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-/.#"
BAD_VALUES = ["", "X" * 100, "1.2.3", "-", ".", "20241301", "20240230", "2460", "12X", "ZZZZ", "A>B", "9" * 20]
"""Element values that break most elements (the empty value breaks mandatory ones)."""


def _text(rng: random.Random, low: int, high: int) -> str:
    size = rng.randint(max(low, 1), max(low, 1, min(high, 12)))
    value = "".join(rng.choice(_TEXT) for _ in range(size))
    if size >= 3 and rng.random() < 0.2:
        value = value[0] + " " + value[2:]  # inner spaces, never leading or trailing
    return value


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def value_for(rng: random.Random, element: ElementDef, codes: frozenset[str] | None, delimiters: Delimiters) -> str:
    """A valid value of `element` (its code list, type and length)."""
    low, high = element.min_len, element.max_len
    if codes is not None:
        return rng.choice(sorted(codes))
    if element.kind == DataType.N0:
        return ("-" if rng.random() < 0.1 else "") + _digits(rng, rng.randint(low, min(high, 8)))
    if element.kind == DataType.R:
        count = rng.randint(max(low, 1), min(high, 8))
        if rng.random() < 0.5:
            point = rng.randint(0, count)
            return _digits(rng, point) + "." + _digits(rng, count - point)
        return _digits(rng, count)
    if element.kind == DataType.DT:
        day = f"{rng.randint(1, 12):02d}{rng.randint(1, 31):02d}"
        return (f"{rng.randint(1900, 2099)}" if low >= 8 or rng.random() < 0.5 else f"{rng.randint(0, 99):02d}") + day
    if element.kind == DataType.TM:
        clock = f"{rng.randint(0, 23):02d}{rng.randint(0, 59):02d}"
        if high >= 6 and (low > 4 or rng.random() < 0.5):
            clock += f"{rng.randint(0, 59):02d}" + (_digits(rng, rng.randint(0, 2)) if high >= 7 else "")
        return clock
    if element.kind == DataType.COMPOSITE:
        parts = [_text(rng, 1, 4) for _ in range(rng.randint(1, 3))]
        return delimiters.component.join(parts)[:high]
    return _text(rng, low, high)


def _repair(rule: SyntaxRule, present: set[int]) -> None:
    found = [p for p in rule.positions if p in present]
    if rule.kind == RuleKind.PAIRED and found:
        present.update(rule.positions)
    elif rule.kind == RuleKind.REQUIRED and not found:
        present.add(rule.positions[0])
    elif rule.kind == RuleKind.EXCLUSION and len(found) > 1:
        present.difference_update(found[1:])
    elif rule.kind == RuleKind.CONDITIONAL and rule.positions[0] in present:
        present.update(rule.positions)
    elif rule.kind == RuleKind.LIST_CONDITIONAL and rule.positions[0] in present and len(found) == 1:
        present.add(rule.positions[1])


def segment_for(
    rng: random.Random, definition: SegmentDef, codes: dict[int, frozenset[str]], delimiters: Delimiters
) -> str:
    """A valid occurrence of `definition`, with random optional elements and sometimes trailing separators."""
    uses = definition.elements
    for _ in range(50):
        present = {i for i, use in enumerate(uses, 1) if use.usage == Usage.MANDATORY or rng.random() < 0.3}
        for _ in range(3):
            for rule in definition.rules:
                _repair(rule, present)
        values = [
            value_for(rng, use.element, codes.get(i, use.element.codes), delimiters) if i in present else ""
            for i, use in enumerate(uses, 1)
        ]
        while values and not values[-1]:
            values.pop()
        values += [""] * min(rng.choice([0, 0, 0, 1, 2]), len(uses) - len(values))
        raw = delimiters.element.join([definition.id, *values])
        if not check_segment(definition, raw, delimiters, codes):
            return raw
    raise AssertionError(f"no valid {definition.id} generated; fix the generator for its rules")


@dataclass
class Generated:
    """A generated set: its segments and, for each, the spec position it was generated for."""

    raw: list[str]
    uses: list[SegmentUse]


def _count(rng: random.Random, required: bool, max_use: int, depth: int) -> int:
    low = 1 if required else 0
    if max_use <= 12 and rng.random() < 0.03:
        return max_use
    high = min(max_use, 3 if depth < 2 else 1)
    return rng.choice([low] * 3 + list(range(low, high + 1)))


def valid_set(rng: random.Random, set_id: str, family: str, delimiters: Delimiters, control: str = "0001") -> Generated:
    """A valid transaction set of `set_id`: segments in spec order, counts within the maximum uses."""
    spec = transaction_set_spec(set_id, family)
    dictionary = segment_dictionary(family)
    out = Generated([], [])

    def body(items: tuple[SegmentUse | LoopSpec, ...], depth: int) -> None:
        for item in items:
            if isinstance(item, LoopSpec):
                for _ in range(_count(rng, item.required, item.max_use, depth)):
                    one(item.header)
                    body(item.body[1:], depth + 1)
                continue
            for _ in range(_count(rng, item.required, item.max_use, depth)):
                one(item)

    def one(use: SegmentUse) -> None:
        out.raw.append(segment_for(rng, dictionary[use.id], use.codes, delimiters))
        out.uses.append(use)

    body(spec.body, 0)
    sep = delimiters.element
    out.raw[0] = sep.join(["ST", set_id, control] + (["X220"] if family == "005010" and rng.random() < 0.3 else []))
    out.raw[-1] = sep.join(["SE", str(len(out.raw)), control])
    if spec.hierarchical:
        _hierarchy(rng, out, delimiters)
    return out


_CHILD_LEVELS = {"S": ["O", "T", "P", "I"], "O": ["T", "P", "I"], "T": ["P", "I", "T"], "P": ["Q", "I"], "Q": ["I"]}


def _hierarchy(rng: random.Random, generated: Generated, delimiters: Delimiters) -> None:
    """Give the HL segments ids, parents and levels that form a valid shipment tree."""
    sep = delimiters.element
    levels: list[str] = []
    for index, raw in enumerate(generated.raw):
        if not raw.startswith("HL" + sep):
            continue
        number = str(len(levels) + 1)
        if not levels:
            fields = [number, "", "S"]
        else:
            parents = [i for i, level in enumerate(levels) if level in _CHILD_LEVELS]
            parent = rng.choice(parents)
            fields = [number, str(parent + 1), rng.choice(_CHILD_LEVELS[levels[parent]])]
        levels.append(fields[2])
        generated.raw[index] = sep.join(["HL", *fields])


MUTATIONS = ["drop", "duplicate", "move", "insert", "element", "truncate", "st01", "hl"]


def mutate(rng: random.Random, generated: Generated, set_id: str, family: str, delimiters: Delimiters) -> str:
    """Damage `generated.raw` in place in one random way; returns what was done."""
    raw = generated.raw
    kind = rng.choice(MUTATIONS)
    sep = delimiters.element
    dictionary = segment_dictionary(family)
    if len(raw) < 2:
        raw.append(raw[0])
        return "duplicate"
    at = rng.randrange(1, len(raw))
    if kind == "drop":
        del raw[at]
    elif kind == "duplicate":
        raw.insert(at, raw[at])
    elif kind == "move":
        raw.insert(rng.randrange(1, len(raw)), raw.pop(at))
    elif kind == "insert":
        tag = rng.choice([*sorted(dictionary), "ZZZ", "N", "N1X"])
        segment = segment_for(rng, dictionary[tag], {}, delimiters) if tag in dictionary else sep.join([tag, "1"])
        raw.insert(at, segment)
    elif kind == "element":
        elements = raw[at].split(sep)
        index = rng.randrange(1, len(elements) + 1)
        bad = rng.choice(BAD_VALUES)
        if index == len(elements):
            elements.append(bad)
        else:
            elements[index] = bad
        raw[at] = sep.join(elements)
    elif kind == "truncate":
        del raw[at:]
    elif kind == "st01":
        raw[0] = sep.join(["ST", rng.choice([s for s in SET_IDS if s != set_id]), "0001"])
    elif kind == "hl":
        hls = [i for i, segment in enumerate(raw) if segment.startswith("HL" + sep)]
        if hls:
            target = rng.choice(hls)
            elements = raw[target].split(sep)
            elements[rng.choice([1, 2, 3])] = rng.choice(["9999", "1", "", "S", "I", "O"])
            raw[target] = sep.join(elements)
    return kind
