"""The drift report rendered: the terminal, Markdown for an issue or a job summary, and the
JSON document of `zenctl drift --json` (specs/drift.schema.json).

Each drifted address gets the `! ADDRESS  what` line of the plan's "Changed outside zenctl"
section, with what moved under it (hash prefixes, or the resource's state diff).
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

from zenctl import __version__
from zenctl.plan.drift import DriftReport, ResourceDrift, StepDrift
from zenctl.plan.model import Change
from zenctl.render.plan_json import changes_entries
from zenctl.render.plan_markdown import fenced
from zenctl.render.plan_text import change_line, drifted_lines
from zenctl.workspaces import DEFAULT_WORKSPACE

FORMAT_VERSION = "1.1"  # 1.1: a step's deps


def summary_line(report: DriftReport) -> str:
    """The stable last line (specs/summary.md)."""
    if not report.drifted:
        return (
            f"No drift. {report.checked_resources} resources and {report.checked_sources} "
            "source files checked."
        )
    return (
        f"Drift: {len(report.resources)} resources changed, {len(report.steps)} steps' "
        "source data changed."
    )


def _entries(report: DriftReport) -> list[tuple[str, str, tuple[Change, ...]]]:
    """(address, what, changes) of every drifted address: resources first, as in the plan."""
    items: list[ResourceDrift | StepDrift] = [*report.resources, *report.steps]
    return [(item.address, item.what, item.changes) for item in items]


def _note(report: DriftReport) -> str:
    """Why nothing could drift, when nothing was checked."""
    if not report.recorded:
        return "No state recorded yet: nothing was applied, so nothing can have drifted."
    if not report.checked_resources and not report.checked_sources:
        return "The state records no resources and no source data: nothing can have drifted."
    return ""


def render_drift(console: Console, report: DriftReport) -> None:
    lines = []
    if report.workspace != DEFAULT_WORKSPACE:
        lines.append(f"Workspace: [bold]{escape(report.workspace)}[/]\n")
    note = _note(report)
    if note:
        lines.append(f"{note}\n")
    if report.drifted:
        lines.append("[bold]Changed since the last apply[/] (compared with the recorded state):\n")
        for address, what, changes in _entries(report):
            lines += drifted_lines(address, what, changes)
        lines.append("")
    lines.append(f"[bold]{escape(summary_line(report))}[/]")
    console.print("\n".join(lines))


def render_drift_markdown(report: DriftReport, project: str) -> str:
    """A heading, the summary line, a list of what drifted, and the details in a code block."""
    parts = [
        f"### zenctl drift for `{project}` · workspace `{report.workspace}`\n\n",
        f"**{summary_line(report)}**\n\n",
    ]
    note = _note(report)
    if note:
        parts.append(f"{note}\n\n")
    entries = _entries(report)
    if entries:
        parts.append("".join(f"- `{address}`: {what}\n" for address, what, _ in entries) + "\n")
        details = [
            line
            for address, what, changes in entries
            for line in [f"! {address}  {what}", *(f"    {change_line(c)}" for c in changes)]
        ]
        parts.append(f"<details><summary>Details</summary>\n\n{fenced(details)}\n</details>\n")
    return "".join(parts)


def drift_document(report: DriftReport) -> dict[str, Any]:
    """What `zenctl drift --json` prints (specs/drift.schema.json): full hashes and states."""
    return {
        "format_version": FORMAT_VERSION,
        "zenctl_version": __version__,
        "workspace": report.workspace,
        "state": {"lineage": report.lineage, "serial": report.serial},
        "recorded": report.recorded,
        "resources": [
            {
                "address": item.address,
                "kind": item.kind,
                "type": item.type,
                "gone": item.real is None,
                "changes": changes_entries(item.changes, origin=False),
                "before": item.recorded,
                "after": item.real,
            }
            for item in report.resources
        ],
        "steps": [
            {
                "address": item.address,
                "sources": [
                    {
                        "input": source.input,
                        "ref": source.ref,
                        "path": source.path,
                        "before": source.before,
                        "after": source.after,
                        "missing": source.after is None,
                    }
                    for source in item.sources
                ],
                "deps": [
                    {
                        "path": dep.path,
                        "before": dep.before,
                        "after": dep.after,
                        "missing": dep.after is None,
                    }
                    for dep in item.deps
                ],
                "changes": changes_entries(item.changes, origin=False),
            }
            for item in report.steps
        ],
        "summary": {
            "drifted": report.drifted,
            "resources": len(report.resources),
            "steps": len(report.steps),
            "checked_resources": report.checked_resources,
            "checked_sources": report.checked_sources,
            "text": summary_line(report),
        },
    }
