"""The pieces a transaction set spec is compiled into: loops, segment positions (nodes) and transitions.

`SetValidator` builds them once per (set, version family, delimiters) and walks them segment by segment;
`crossdock.edi.x12.fastpath` reads the same tree to write a whole-set pattern and to prove it agrees with the walk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from crossdock.edi.x12.specs.model import SegmentDef, SegmentUse

REPEAT, MOVE, ENTER, ITERATE = 0, 1, 2, 3
"""Transition kinds: the same segment again, a later position, into a loop, a new iteration of a loop."""


@dataclass(eq=False)
class Loop:
    """A loop (or the set's top level, `id` None) and its items in standard order."""

    id: str | None
    max_use: int
    required: bool
    parent: Loop | None
    index: int
    items: list[Node | Loop] = field(default_factory=list)

    @property
    def header(self) -> Node:
        """The segment that starts each iteration."""
        first = self.items[0]
        assert isinstance(first, Node)
        return first


@dataclass(eq=False)
class Node:
    """One segment position of the set: its use, definition, place in its loop and outgoing transitions."""

    use: SegmentUse
    definition: SegmentDef
    parent: Loop
    index: int
    match: Callable[[str], object]
    is_header: bool
    next: dict[str, Transition] = field(default_factory=dict)
    """Transitions keyed by a segment's first three characters (a 2-character tag with its separator)."""
    by_tag: dict[str, Transition] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.use.id


class Transition(NamedTuple):
    """Where a segment leads; unpacked in the hot loop of `SetValidator.validate`."""

    lookup: Callable[[str], Transition | None]
    """The target's own transition table (`dict.get`), for the next segment."""
    match: Callable[[str], object]
    mode: int
    """0: a plain move (only the segment is matched), 1: into a loop, 2: a new loop iteration, 3: anything else."""
    target: Node
    kind: int
    loop: Loop | None
    missing: tuple[Node, ...]
    max_use: int


def mandatory(items: list[Node | Loop]) -> list[Node]:
    """The segments that must appear among `items`: required segments and the headers of required loops."""
    found: list[Node] = []
    for item in items:
        if isinstance(item, Node) and item.use.required:
            found.append(item)
        elif isinstance(item, Loop) and item.required:
            found.append(item.header)
    return found
