"""A pipeline's nodes in layers, for drawing it left to right: each node one layer after the
latest of its parents (longest-path layering), an edge that spans several layers passing
through a waypoint in each layer between (so that it bends around the nodes there instead of
crossing them), and each layer ordered by where its parents sit (one barycentre sweep:
Sugiyama's heuristic cut down to its first pass).

Pipelines hold tens of steps, not thousands: this gives a readable, deterministic picture in
a few lines, with no layout engine to install (Graphviz) or to ship to the browser (dagre).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise


@dataclass(frozen=True, slots=True)
class Waypoint:
    """Where the edge `parent -> child` crosses layer `layer`, which holds neither."""

    parent: str
    child: str
    layer: int


Slot = str | Waypoint


def layers(parents: Mapping[str, Sequence[str]]) -> tuple[tuple[Slot, ...], ...]:
    """The nodes of an acyclic graph, given as each node's parents, in layers: every edge goes
    from an earlier layer to a later one, through `route`'s waypoints. Ties keep the mapping's
    order, so a picture stays the same from one report to the next."""
    depth = depths(parents)
    found: list[list[Slot]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    before: dict[Slot, list[Slot]] = {}  # each slot's neighbours in the layer before it
    for node in parents:
        found[depth[node]].append(node)
        before.setdefault(node, [])
        for parent in dict.fromkeys(parents[node]):
            path = route(parent, node, depth)
            for earlier, later in pairwise(path):
                if isinstance(later, Waypoint):  # on this one edge only: met once
                    found[later.layer].append(later)
                before.setdefault(later, []).append(earlier)
    place: dict[Slot, float] = {}
    for layer in found:
        # where a slot's neighbours before it sit, on average, as a fraction of their layer
        layer.sort(key=lambda slot: _mean([place[other] for other in before[slot]]))
        for index, slot in enumerate(layer):
            place[slot] = (index + 0.5) / len(layer)
    return tuple(tuple(layer) for layer in found)


def depths(parents: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Each node's layer: one after its latest parent's; 0 for a node without parents."""
    depth: dict[str, int] = {}

    def depth_of(node: str) -> int:
        if node not in depth:  # acyclic (config checked it): the recursion ends
            depth[node] = 1 + max((depth_of(parent) for parent in parents[node]), default=-1)
        return depth[node]

    for node in parents:
        depth_of(node)
    return depth


def route(parent: str, child: str, depth: Mapping[str, int]) -> list[Slot]:
    """The slots the edge `parent -> child` passes through, its ends included."""
    between = range(depth[parent] + 1, depth[child])
    return [parent, *(Waypoint(parent, child, layer) for layer in between), child]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0
