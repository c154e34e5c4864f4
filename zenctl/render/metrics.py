"""Metrics and params, one side or two compared, as text, markdown and JSON, for
`zenctl metrics show|diff` and `zenctl params diff`, and the metrics section of a plan's
pull-request comment (the same markdown table).

A side is what a spelling (a workspace, a run, a git revision) stands for, resolved by
zenctl/application/revisions.py: the steps it declares and the metrics of the executions it
maps to. Rows are computed once (`metric_rows` for one side or two, `params_rows`) and written in
each format, so the table, the comment and the JSON cannot disagree. Values print as the step
returned them (1.0 stays 1.0); a delta is the difference of the values as written, in
decimal, so 0.9667 - 0.9333 reads 0.0334, not 0.033399999999999985.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.markup import escape

from zenctl.render.documents import document
from zenctl.state.records import MetricRecord, MetricValue

RECORDED, ABSENT, NOT_RUN, NOT_DECLARED = "recorded", "absent", "not run", "not declared"
MARKDOWN_ROWS = 50  # the most rows a plan's comment lists; the rest are counted


@dataclass(frozen=True, slots=True)
class Side:
    """What one spelling stands for, as the renderers need it."""

    spelling: str  # as the user wrote it, or the default's
    kind: str  # workspace, run or revision
    label: str  # e.g. `workspace "default" (last apply)`, `revision main (3f2a1b0c9d)`
    steps: dict[str, dict[str, Any]]  # address -> its components as declared (params, metrics)
    ran: frozenset[str]  # the addresses with an execution
    metrics: tuple[MetricRecord, ...]

    def describe(self) -> dict[str, str]:
        return {"spelling": self.spelling, "kind": self.kind, "label": self.label}


@dataclass(frozen=True, slots=True)
class Cell:
    """One side's value in a row: recorded, absent (the step ran without it), not run (the
    side has no execution of the step), not declared (params: the side has no such step)."""

    status: str
    value: Any = None

    def text(self) -> str:
        return show(self.value) if self.status == RECORDED else self.status

    def document(self) -> dict[str, Any]:
        return {"status": self.status, "value": self.value}


@dataclass(frozen=True, slots=True)
class Row:
    address: str
    key: tuple[str, ...]  # (output, name) of a metric, (path,) of a param, () for a step
    cells: tuple[Cell, ...]  # one per side

    @property
    def changed(self) -> bool:
        shown = {(c.status, json.dumps(c.value, sort_keys=True)) for c in self.cells}
        return len(shown) > 1

    @property
    def delta(self) -> Decimal | None:
        """B - A of two numbers, in decimal as written; None otherwise."""
        if len(self.cells) != 2 or not all(_number(cell) for cell in self.cells):
            return None
        a, b = (Decimal(show(cell.value)) for cell in self.cells)
        return b - a

    @property
    def relative(self) -> float | None:
        """The delta as a fraction of A; None where A is zero or not a number."""
        delta = self.delta
        if delta is None or self.cells[0].value == 0:
            return None
        return float(delta / abs(Decimal(show(self.cells[0].value))))


def show(value: Any) -> str:
    """A value as written: text as is, anything else as JSON (1.0, true, null)."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _number(cell: Cell) -> bool:
    value = cell.value
    return (
        cell.status == RECORDED and isinstance(value, int | float) and not isinstance(value, bool)
    )


def _declared_metrics(side: Side) -> set[str]:
    return {address for address, c in side.steps.items() if c.get("metrics")}


def _values(side: Side) -> dict[tuple[str, ...], MetricValue]:
    return {(m.address, m.output, m.name): m.value for m in side.metrics}


def _cell(side: Side, values: dict[tuple[str, ...], MetricValue], key: tuple[str, ...]) -> Cell:
    if key in values:
        return Cell(RECORDED, values[key])
    return Cell(ABSENT if key[0] in side.ran else NOT_RUN)


def metric_rows(sides: Sequence[Side]) -> list[Row]:
    """Each metric any side recorded, with each side's cell; a step that declares metrics
    but recorded none on any side (not run) is one row of its own."""
    values = [_values(side) for side in sides]
    keys = sorted({key for found in values for key in found})
    rows = [
        Row(key[0], key[1:], tuple(_cell(s, v, key) for s, v in zip(sides, values, strict=True)))
        for key in keys
    ]
    recorded = {key[0] for key in keys}
    declared = set().union(*(_declared_metrics(side) for side in sides)) - recorded
    rows += [
        Row(address, (), tuple(Cell(ABSENT if address in s.ran else NOT_RUN) for s in sides))
        for address in sorted(declared)
    ]
    return sorted(rows, key=lambda row: (row.address, row.key))


def params_rows(a: Side, b: Side) -> list[Row]:
    """Each param that differs between the sides, by step, nested maps as dotted paths."""
    rows: list[Row] = []
    for address in sorted(set(a.steps) | set(b.steps)):
        flat = [_flat_params(side, address) for side in (a, b)]
        for path in sorted(set(flat[0] or {}) | set(flat[1] or {})):
            cells = tuple(
                Cell(NOT_DECLARED)
                if params is None
                else Cell(RECORDED, params[path])
                if path in params
                else Cell(ABSENT)
                for params in flat
            )
            row = Row(address, (path,), cells)
            if row.changed:
                rows.append(row)
    return rows


def _flat_params(side: Side, address: str) -> dict[str, Any] | None:
    if address not in side.steps:
        return None
    flat: dict[str, Any] = {}

    def walk(value: Any, path: str) -> None:
        # a secret's keyed hash ({"sensitive": ...}) and an empty map are values, not levels
        if isinstance(value, dict) and value and "sensitive" not in value:
            for key, item in value.items():
                walk(item, f"{path}.{key}")
        else:
            flat[path.removeprefix(".")] = value

    for name, value in side.steps[address].get("params", {}).items():
        walk(value, str(name))
    return flat


# ---- tables: one layout, written as text or markdown


def _metric_name(row: Row) -> str:
    return ".".join(row.key) if row.key else "-"


def _change(row: Row) -> str:
    """`+0.0334 (+3.6%)` between two numbers; blank where a side did not run (nothing to
    compare), `changed` for other values that differ."""
    if any(cell.status == NOT_RUN for cell in row.cells):
        return ""
    delta = row.delta
    if delta is not None:
        relative = row.relative
        text = f"{delta:+f}" if delta else "0"
        return text + (f" ({relative:+.1%})" if relative is not None and delta else "")
    return "changed" if row.changed else ""


def metrics_table(sides: Sequence[Side], rows: Iterable[Row]) -> tuple[list[str], list[list[str]]]:
    """Headers and rows: STEP, METRIC, one column per side, and the change for two."""
    headers = ["STEP", "METRIC", *(side.label for side in sides)]
    if len(sides) == 2:
        headers.append("CHANGE")
    body = []
    for row in rows:
        cells = [row.address, _metric_name(row), *(cell.text() for cell in row.cells)]
        body.append(cells + ([_change(row)] if len(sides) == 2 else []))
    return headers, body


def params_table(a: Side, b: Side, rows: Iterable[Row]) -> tuple[list[str], list[list[str]]]:
    headers = ["STEP", "PARAM", a.label, b.label]
    return headers, [[row.address, row.key[0], *(c.text() for c in row.cells)] for row in rows]


def print_table(console: Console, table: tuple[list[str], list[list[str]]], empty: str) -> None:
    """Plain aligned columns, never cut to the terminal's width: a step address or a value is
    read, and grepped, whole."""
    headers, body = table
    if not body:
        console.print(empty)
        return
    widths = [max(len(cells[i]) for cells in (headers, *body)) for i in range(len(headers))]
    for cells in (headers, *body):
        line = "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
        console.print(escape(line.rstrip()), soft_wrap=True, highlight=False)


def markdown_table(table: tuple[list[str], list[list[str]]], empty: str, most: int = 0) -> str:
    """A GitHub table; with `most`, the rows past it are counted, not listed."""
    headers, body = table
    if not body:
        return f"{empty}\n"
    shown = body[:most] if most else body
    lines = [_md_row(headers, header=True), "|" + "---|" * len(headers)]
    lines += [_md_row(cells) for cells in shown]
    more = len(body) - len(shown)
    return "\n".join(lines) + "\n" + (f"\n… and {more:,} more.\n" if more else "")


def _md_row(cells: Sequence[str], header: bool = False) -> str:
    """One table row, `|` escaped; a body row's step address as code."""
    escaped = [cell.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ") for cell in cells]
    if not header:
        escaped[0] = f"`{escaped[0]}`"
    return "| " + " | ".join(escaped) + " |"


def reused_metrics_markdown(side: Side) -> str:
    """The plan comment's section: the metrics of the executions the plan reuses."""
    if not side.metrics:
        return ""
    table = markdown_table(metrics_table([side], metric_rows([side])), "", MARKDOWN_ROWS)
    return f"**Metrics of the reused executions**\n\n{table}\n"


# ---- JSON documents


def show_document(side: Side, rows: Iterable[Row]) -> dict[str, Any]:
    """`zenctl metrics show --json` (specs/metrics-show.schema.json)."""
    return document(
        side=side.describe(),
        metrics=[
            {**_key(row), "status": row.cells[0].status, "value": row.cells[0].value}
            for row in rows
        ],
    )


def diff_document(a: Side, b: Side, rows: Sequence[Row]) -> dict[str, Any]:
    """`zenctl metrics diff --json` (specs/metrics-diff.schema.json)."""
    return document(
        a=a.describe(),
        b=b.describe(),
        changed=sum(row.changed for row in rows),
        metrics=[
            {
                **_key(row),
                "a": row.cells[0].document(),
                "b": row.cells[1].document(),
                "delta": _json_number(row),
                "relative": row.relative,
                "changed": row.changed,
            }
            for row in rows
        ],
    )


def params_document(a: Side, b: Side, rows: Sequence[Row]) -> dict[str, Any]:
    """`zenctl params diff --json` (specs/params-diff.schema.json)."""
    return document(
        a=a.describe(),
        b=b.describe(),
        params=[
            {
                "address": row.address,
                "param": row.key[0],
                "a": row.cells[0].document(),
                "b": row.cells[1].document(),
            }
            for row in rows
        ],
    )


def _key(row: Row) -> dict[str, Any]:
    output, name = row.key if row.key else (None, None)
    return {"address": row.address, "output": output, "name": name}


def _json_number(row: Row) -> int | float | None:
    delta = row.delta
    if delta is None:
        return None
    ints = all(isinstance(cell.value, int) for cell in row.cells)
    return int(delta) if ints else float(delta)
