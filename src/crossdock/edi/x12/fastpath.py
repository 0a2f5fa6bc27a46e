"""A whole transaction set checked by one compiled pattern, so a valid set costs one `fullmatch` in C.

The pattern is written from the same tree the validator walks: each segment position becomes its segment pattern
(types, lengths, code lists, syntax rules) followed by the terminator, each loop a repetition of its body, with the
standard's maximum uses and required segments and loops. It accepts a set's text exactly when the validator's walk
finds nothing, which holds because the spec is deterministic: after any segment position, each tag can be taken
by at most one position (skipping only optional ones), and that is where the walk's transition goes. `disagreement`
checks this for every position and tag when the pattern is built; a spec where it fails gets no fast path, and its
sets are always checked segment by segment. When the pattern refuses a set, the detailed walk says what is wrong.

The pattern is tuned for `re`: an absent optional segment is a `(?:X|)` branch, which `re` skips without a
backtracking frame when X's first character does not match; repetitions are possessive (a segment ends at the
terminator whatever way it matched, and the next tag decides the position, so giving segments back cannot help),
which also makes an absent repeatable segment or loop cost a single failed attempt.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from crossdock.edi.x12.elements import segment_regex
from crossdock.edi.x12.states import Loop, Node
from crossdock.edi.x12.tokenizer import Delimiters


def _first(item: Node | Loop) -> Node:
    return item if isinstance(item, Node) else item.header


def _required(item: Node | Loop) -> bool:
    return item.use.required if isinstance(item, Node) else item.required


def follow(node: Node) -> list[Node]:
    """The positions that can hold the segment after one at `node` in a valid set (maximum uses aside)."""
    found = [node] if node.use.max_use > 1 and not node.is_header else []
    level, index = node.parent, node.index
    while True:
        for item in level.items[index + 1 :]:
            found.append(_first(item))
            if _required(item):
                return found
        if level.parent is None:
            return found
        if level.max_use > 1:
            found.append(level.header)
        level, index = level.parent, level.index


def disagreement(top: Loop, nodes: list[Node]) -> str | None:
    """Why a whole-set pattern for this tree could accept a set the walk rejects; None when it cannot."""
    first, last = top.items[0], top.items[-1]
    if not (isinstance(first, Node) and first.id == "ST" and isinstance(last, Node) and last.id == "SE"):
        return "the set does not run from ST to SE at its top level"
    for node in nodes:
        candidates: dict[str, Node] = {}
        for candidate in follow(node):
            if candidates.setdefault(candidate.id, candidate) is not candidate:
                return f"after {node.id} (position {node.index} of loop {node.parent.id}), {candidate.id} is ambiguous"
        for tag, candidate in candidates.items():
            transition = node.by_tag.get(tag)
            if transition is None or transition.target is not candidate:
                return f"after {node.id}, the walk takes {tag} elsewhere than the only position that can hold it"
    return None


class SetPattern:
    """The source of the whole-set pattern for a validator's tree and delimiters."""

    def __init__(self, top: Loop, delimiters: Delimiters, set_id: str) -> None:
        self._delimiters = delimiters
        self._set_id = set_id
        self._term = re.escape(delimiters.segment)
        self._segments: dict[tuple[str, tuple[tuple[int, frozenset[str]], ...]], str] = {}
        self.source = "".join(self._item(item) for item in top.items)

    def _segment(self, node: Node) -> str:
        codes = dict(node.use.codes)
        if node.id == "ST":
            codes[1] = frozenset({self._set_id})  # the walk reports an ST01 naming another set
        key = (node.id, tuple(sorted(codes.items())))
        if key not in self._segments:
            self._segments[key] = segment_regex(
                node.definition, self._delimiters, codes, terminator=self._delimiters.segment
            )
        return self._segments[key]

    def _item(self, item: Node | Loop) -> str:
        if isinstance(item, Node):
            return self._repeat(self._segment(item), item.use.required, item.use.max_use)
        iteration = self._segment(item.header) + "".join(self._item(child) for child in item.items[1:])
        return self._repeat(iteration, item.required, item.max_use)

    @staticmethod
    def _repeat(body: str, required: bool, max_use: int) -> str:
        if max_use > 1:
            return f"(?:{body}){{{int(required)},{max_use}}}+"
        return body if required else f"(?:{body}|)"


def compile_set_pattern(top: Loop, nodes: list[Node], delimiters: Delimiters, set_id: str) -> Callable[[str], object]:
    """`fullmatch` of the whole-set pattern, or a function that refuses everything if the spec is not deterministic."""
    if disagreement(top, nodes) is not None:
        return _refuse
    return re.compile(SetPattern(top, delimiters, set_id).source).fullmatch


def _refuse(text: str) -> None:
    return None
