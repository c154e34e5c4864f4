"""The human plan: one line per step with its reason, the exact diff under changed steps."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from zenctl.plan.model import Action, Plan, ReasonKind, StepPlan
from zenctl.workspaces import DEFAULT_WORKSPACE

_STYLE = {"=": "dim", "+": "green", "~": "yellow", "-": "red"}


def describe(step: StepPlan) -> str:
    """The reason part of a step's line: `cached`, `run: changed`, `remove: no longer declared`."""
    if step.action is Action.CACHED:
        return "cached"
    if step.action is Action.REMOVE:
        return "remove: no longer declared"
    parts = []
    for reason in step.reasons:
        text = reason.kind.value
        if reason.note and reason.kind is not ReasonKind.UPSTREAM:
            text += f" ({reason.note})"
        parts.append(text)
    text = "run: " + ", ".join(parts)
    if any(reason.kind is ReasonKind.UPSTREAM for reason in step.reasons):
        text += " (known after apply)"
    return text


def render_plan(console: Console, plan: Plan) -> None:
    everything = [*plan.steps, *plan.removed]
    width = max((len(step.address) for step in everything), default=0)
    lines = ["zenctl will perform the following actions:\n"] if plan.has_changes else []
    if plan.workspace != DEFAULT_WORKSPACE:  # as Terraform users expect: say where, when unusual
        lines.insert(0, f"Workspace: [bold]{escape(plan.workspace)}[/]\n")
    for step in everything:
        style = _STYLE[step.symbol]
        line = f"  [{style}]{step.symbol} {escape(step.address.ljust(width))}[/]  "
        line += escape(describe(step))
        if step.action is Action.RUN and step.expected_duration is not None:
            line += f" [dim]~{format_duration(step.expected_duration)}[/]"
        lines.append(line)
        lines.extend(f"      [{_STYLE[c.op]}]{escape(str(c))}[/]" for c in step.changes)
    if everything:
        lines.append("")
    lines.append(f"[bold]{escape(plan.summary_line)}[/]")
    console.print("\n".join(lines))  # one call: rich's per-print overhead is ~0.3 ms
    expected = plan.expected_duration
    if expected is not None:
        console.print(
            f"Expected duration of the steps to run: ~{format_duration(expected)} (from past runs)."
        )


def format_duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 90:
        return f"{seconds:.1f}s"
    return f"{seconds / 60:.1f}min"
