"""The drift report for people: the terminal, and Markdown for an issue or a job summary.

Each drifted address gets the `! ADDRESS  what` line of the plan's "Changed outside zenctl"
section, with what moved under it (hash prefixes, or the resource's state diff).
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from zenctl.plan.drift import DriftReport, ResourceDrift, StepDrift
from zenctl.plan.model import Change
from zenctl.render.plan_markdown import fenced
from zenctl.render.plan_text import drifted_lines
from zenctl.workspaces import DEFAULT_WORKSPACE


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
    lines.append(f"[bold]{escape(report.summary_line)}[/]")
    console.print("\n".join(lines))


def render_drift_markdown(report: DriftReport, project: str) -> str:
    """A heading, the summary line, a list of what drifted, and the details in a code block."""
    parts = [
        f"### zenctl drift for `{project}` · workspace `{report.workspace}`\n\n",
        f"**{report.summary_line}**\n\n",
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
            for line in [f"! {address}  {what}", *(f"    {change}" for change in changes)]
        ]
        parts.append(f"<details><summary>Details</summary>\n\n{fenced(details)}\n</details>\n")
    return "".join(parts)
