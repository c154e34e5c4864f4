"""The report's pipeline graph: each step a box coloured by its status, drawn as inline SVG
from the layers zenctl/graph/layout.py computes (left to right, data flowing rightwards).

A step's status is what a reader of the report wants first: `failed` when the last apply
failed it (it will run again), else what a fresh plan says (will run, may run, cached), or
`unplanned` when no plan could be made. Each box carries `data-step="<address>"` and the
class `status-<status>`, for people's tools and the tests alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from html import escape

from zenctl.graph import StepGraph
from zenctl.graph.layout import Slot, Waypoint, depths, layers, route
from zenctl.plan.diff import change_body
from zenctl.plan.model import Action, StepPlan
from zenctl.state.records import Execution

# status -> (what the legend says, its colour); the page's CSS is made from this table
STATUSES: dict[str, tuple[str, str]] = {
    "run": ("will run", "#e39b2d"),
    "may-run": ("may run, if upstream outputs change", "#f4d699"),
    "cached": ("cached", "#6bb37a"),
    "failed": ("failed in the last apply", "#d64545"),
    "unplanned": ("no plan", "#c3c8d1"),
}
FAILED = ("failed", "interrupted")  # how a last apply's execution ends in a failed box

NODE_H, COL_GAP, ROW_GAP, PAD = 44, 64, 16, 8
CHAR_W, WORDS_W = 7.4, 6.2  # about how wide a character of a name, of the words under it


@dataclass(frozen=True, slots=True)
class StepStatus:
    status: str  # a key of STATUSES
    words: str  # the line under the step's name: `failed, will run`
    detail: tuple[str, ...]  # its tooltip: reasons and changes, the error's first line


def step_status(planned: StepPlan | None, last: Execution | None) -> StepStatus:
    """A step's box: the last apply's failure first, then the fresh plan's verdict."""
    detail: tuple[str, ...] = ()
    if planned is None:
        status, words = "unplanned", "no plan"
    elif planned.action is Action.CACHED:
        status, words = "cached", "cached"
    else:
        status = "may-run" if planned.conditional else "run"
        words = "may run" if planned.conditional else "will run"
        reasons = ", ".join(dict.fromkeys(reason.kind.value for reason in planned.reasons))
        detail = (
            f"{words}: {reasons}",
            *(change.op + " " + change_body(change) for change in planned.changes),
        )
    if last is not None and last.status in FAILED:
        error = (last.error or "").strip().splitlines()[:1]  # its message's first line
        words = f"{last.status}, {words}" if planned is not None else last.status
        return StepStatus("failed", words, (f"{last.status} in the last apply", *error, *detail))
    return StepStatus(status, words, detail)


def graph_svg(graph: StepGraph, statuses: Mapping[str, StepStatus]) -> str:
    """One pipeline as an SVG element: its sources and steps in layers, left to right."""
    pipeline = graph.pipeline
    parents: dict[str, tuple[str, ...]] = {f"source.{name}": () for name in pipeline.sources}
    for name in graph.order:
        refs = pipeline.steps[name].inputs.values()
        parents[name] = tuple(
            dict.fromkeys(
                f"source.{r.parts[1]}" if r.kind == "source" else r.parts[1] for r in refs
            )
        )
    columns = layers(parents)
    longest = max(
        [len(node.removeprefix("source.")) * CHAR_W for node in parents]
        + [len(status.words) * WORDS_W for status in statuses.values()],
        default=0,
    )
    width = round(min(max(longest + 28, 110), 240))
    rows = max((len(column) for column in columns), default=0)
    height = rows * (NODE_H + ROW_GAP) - ROW_GAP + 2 * PAD
    place: dict[Slot, tuple[float, float]] = {}
    for index, column in enumerate(columns):  # each column centred on the tallest
        top = PAD + (height - 2 * PAD - (len(column) * (NODE_H + ROW_GAP) - ROW_GAP)) / 2
        for row, node in enumerate(column):
            place[node] = (PAD + index * (width + COL_GAP), top + row * (NODE_H + ROW_GAP))
    total = PAD * 2 + len(columns) * (width + COL_GAP) - COL_GAP
    parts = [
        f'<svg class="graph" role="img" width="{total}" height="{height}" '
        f'viewBox="0 0 {total} {height}" aria-label="pipeline {escape(pipeline.name)}">'
    ]
    depth = depths(parents)
    for node, froms in parents.items():
        parts.extend(_edge([place[slot] for slot in route(p, node, depth)], width) for p in froms)
    for node, (x, y) in place.items():
        if isinstance(node, Waypoint):
            continue  # an edge passes through it
        box = f'transform="translate({x:.0f},{y:.0f})"><rect width="{width}" height="{NODE_H}"'
        if node.startswith("source."):
            name = escape(node.removeprefix("source."))
            parts.append(
                f'<g class="source" data-source="{name}" {box} rx="{NODE_H // 2}"/>'
                f"<title>source.{name}</title>"
                f'<text x="{width / 2:.0f}" y="{NODE_H / 2 + 4:.0f}" text-anchor="middle">'
                f"{escape(_fit(node.removeprefix('source.'), width))}</text></g>"
            )
        else:
            parts.append(
                _step(pipeline.address(node), node, statuses[pipeline.address(node)], box, width)
            )
    parts.append("</svg>")
    return "".join(parts)


def _edge(slots: list[tuple[float, float]], width: int) -> str:
    """A curve from a node's right side into the left side of each slot it passes through
    (straight across a waypoint), ending at its consumer's."""
    (x, y), bend = slots[0], COL_GAP / 2
    x, y = x + width, y + NODE_H / 2
    path = f"M{x:.0f},{y:.0f}"
    for index, (left, top) in enumerate(slots[1:], start=2):
        into = left - 3 if index == len(slots) else left  # room for the arrowhead
        middle = top + NODE_H / 2
        path += f" C{x + bend:.0f},{y:.0f} {left - bend:.0f},{middle:.0f} {into:.0f},{middle:.0f}"
        x, y = left + width, middle
        if index < len(slots):
            path += f" H{x:.0f}"
    return f'<path class="edge" d="{path}" marker-end="url(#arrow)"/>'


def _step(address: str, name: str, status: StepStatus, box: str, width: int) -> str:
    tooltip = "\n".join((address, status.words, *status.detail))
    return (
        f'<g class="step status-{status.status}" data-step="{escape(address)}" {box} rx="6"/>'
        f"<title>{escape(tooltip)}</title>"
        f'<text class="name" x="10" y="18">{escape(_fit(name, width))}</text>'
        f'<text class="words" x="10" y="34">{escape(_fit(status.words, width, WORDS_W))}</text></g>'
    )


def _fit(text: str, width: int, char_w: float = CHAR_W) -> str:
    """`text` cut to what fits a box `width` wide (the tooltip has it whole)."""
    room = int((width - 16) / char_w)
    return text if len(text) <= room else text[: room - 1] + "…"
