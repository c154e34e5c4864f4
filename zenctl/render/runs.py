"""`zenctl runs` and `zenctl runs show`: the experiments table and one run's steps, as text
and as JSON (specs/runs.schema.json), drawn from the rows zenctl/state/runs_table.py reads.

The text table is plain aligned columns, never folded: a wide table scrolls sideways in a
terminal and stays one line per run in a CI log.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from zenctl.durations import clock
from zenctl.paths import local_file
from zenctl.plan.diff import show_value
from zenctl.render.diagnostics import display_path
from zenctl.render.documents import document, iso_time
from zenctl.render.plan_text import format_duration
from zenctl.state.records import Run
from zenctl.state.runs_table import Change, RunRow, RunsTable, StepOutcome, run_duration


def render_runs(console: Console, table: RunsTable, filtered: bool = False) -> None:
    """The table; `filtered`: --where was given, so no row means no match."""
    if not table.rows:
        console.print(
            "No runs match." if filtered else "No runs yet. Run `zenctl apply` to make one."
        )
        return
    header = [
        "RUN",
        "STARTED",
        "TOOK",
        "COMMIT",
        "WORKSPACE",
        "BY",
        "RESULT",
        "RAN",
        "REUSED",
        "CHANGED",
        *table.columns,
    ]
    lines = [header]
    for row in table.rows:
        run = row.run
        lines.append(
            [
                run.id[:8],
                row.values["started"],
                _took(run),
                commit(run),
                run.workspace,
                run.username or "-",
                run.status,
                _count(run.summary.get("ran")),
                _count(run.summary.get("cached")),
                ", ".join(_change(change) for change in row.changed) or "-",
                *(_cell(row.values.get(key)) for key in table.columns),
            ]
        )
    console.print("\n".join(_aligned(lines)), markup=False)


def runs_document(table: RunsTable) -> dict[str, Any]:
    return document(runs=[_entry(row) for row in table.rows])


def render_run_steps(
    console: Console, row: RunRow, steps: Sequence[StepOutcome], root: Path
) -> None:
    """`zenctl runs show`: the run, then each step with what it did and its log."""
    run = row.run
    console.print(f"run {run.id}", markup=False)
    console.print(f"  result     {run.status}")
    console.print(f"  started    {row.values['started']}  took {_took(run)}")
    console.print(f"  commit     {commit(run)}")
    console.print(f"  workspace  {run.workspace}", markup=False)
    console.print(f"  by         {run.username or '-'}@{run.host or '-'}", markup=False)
    if row.changed:
        console.print("  changed    " + ", ".join(map(_change, row.changed)), markup=False)
    lines = [["STEP", "RESULT", "TOOK", "LOG"]]
    for step in steps:
        # as `Done after` and `show` print it
        took = format_duration(step.duration) if step.duration is not None else "-"
        lines.append([step.address, step.status, took, _log(step.log_uri, root) or "-"])
    console.print("\n".join(_aligned(lines, indent="  ")), markup=False)


def run_steps_document(row: RunRow, steps: Sequence[StepOutcome], root: Path) -> dict[str, Any]:
    return document(
        run=_entry(row),
        steps=[
            {
                "address": step.address,
                "status": step.status,
                "ran": step.ran,
                "duration_seconds": step.duration,
                "log": _log(step.log_uri, root),
                "error": step.error,
            }
            for step in steps
        ],
    )


def commit(run: Run) -> str:
    """The commit's first 12 digits, `-dirty` when the tree had uncommitted changes (as
    `git describe --dirty` marks it)."""
    if not run.git_sha:
        return "-"
    return run.git_sha[:12] + ("-dirty" if run.git_dirty else "")


def _entry(row: RunRow) -> dict[str, Any]:
    run = row.run
    return {
        "id": run.id,
        "workspace": run.workspace,
        "result": run.status,
        "started_at": iso_time(run.started_at),
        "finished_at": iso_time(run.finished_at),
        "duration_seconds": run_duration(run),
        "git_commit": run.git_sha,
        "git_dirty": run.git_dirty,
        "user": run.username,
        "host": run.host,
        "ran": run.summary.get("ran"),
        "reused": run.summary.get("cached"),
        "failed": run.summary.get("failed"),
        "params": {_bare(key): value for key, value in row.params.items()},
        "metrics": {_bare(key): value for key, value in row.metrics.items()},
        "changed_params": {_bare(change.key): _sides(change) for change in row.changed}
        if row.compared
        else None,
    }


def _bare(key: str) -> str:
    """A key without its kind: `lr` of `params.lr`, `train.seed` of `params.train.seed`."""
    return key.split(".", 1)[1]


def _sides(change: Change) -> dict[str, Any]:
    """The change's before and after; a side the param did not have is left out."""
    sides = {"before": (change.was_set, change.before), "after": (change.is_set, change.after)}
    return {side: value for side, (present, value) in sides.items() if present}


def _change(change: Change) -> str:
    """`lr: 0.01 -> 0.1`, with (none) for a side the param did not have."""
    name = _bare(change.key)
    before = show_value(change.before) if change.was_set else "(none)"
    after = show_value(change.after) if change.is_set else "(none)"
    return f"{name}: {before} -> {after}"


def _took(run: Run) -> str:
    duration = run_duration(run)
    return clock(duration) if duration is not None else "-"


def _count(value: Any) -> str:
    return "-" if value is None else str(value)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return value if isinstance(value, str) else show_value(value)


def _log(uri: str | None, root: Path) -> str | None:
    """A local log as a path people can open; a remote one as its URI."""
    if not uri:
        return None
    path = local_file(uri)
    return display_path(str(path), root) if path is not None else uri


def _aligned(lines: list[list[str]], indent: str = "") -> list[str]:
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return [
        indent
        + "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    ]
