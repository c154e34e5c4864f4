"""The human plan: one line per step with its reason, the exact diff under changed steps."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from zenctl.plan.model import Action, Plan, ReasonKind, StepPlan

_STYLE = {"=": "dim", "+": "green", "~": "yellow", "-": "red"}


def summary_line(plan: Plan) -> str:
    """The stable one-line summary scripts rely on (specs/summary.md)."""
    if not plan.has_changes:
        return f"No changes. {len(plan.cached)} steps cached."
    return (
        f"Plan: {len(plan.to_run)} to run, {len(plan.cached)} cached, "
        f"{len(plan.removed)} to remove."
    )


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
    if plan.has_changes:
        console.print("zenctl will perform the following actions:\n")
    for step in everything:
        symbol = step.symbol
        style = _STYLE[symbol]
        line = (
            f"  [{style}]{symbol} {escape(step.address.ljust(width))}[/]  {escape(describe(step))}"
        )
        if step.action is Action.RUN and step.expected_duration is not None:
            line += f" [dim]~{format_duration(step.expected_duration)}[/]"
        console.print(line)
        for change in step.changes:
            console.print(f"      [{_STYLE[change.op]}]{escape(str(change))}[/]")
    if everything:
        console.print()
    console.print(f"[bold]{escape(summary_line(plan))}[/]")
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
