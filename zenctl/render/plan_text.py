"""The human plan: one line per step with its reason, the exact diff under changed steps."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rich.console import Console
from rich.markup import escape

from zenctl.plan.model import (
    Action,
    Change,
    Plan,
    ReasonKind,
    ResourceAction,
    ResourceChange,
    StepPlan,
)
from zenctl.workspaces import DEFAULT_WORKSPACE

_STYLE = {"=": "dim", "+": "green", "~": "yellow", "-": "red", "-/+": "red"}
_RESOURCE_VERB = {
    ResourceAction.CREATE: "create",
    ResourceAction.UPDATE: "update in place",
    ResourceAction.REPLACE: "replace",
    ResourceAction.DELETE: "destroy",
    ResourceAction.NOOP: "up to date",
}


def describe(step: StepPlan) -> str:
    """The reason part of a step's line: `cached`, `run: changed`, `remove: no longer declared`,
    then `(moved from ADDRESS)` while a `moved` block is not applied yet."""
    moved = f" (moved from {step.moved_from})" if step.moved_from else ""
    if step.action is Action.CACHED:
        return "cached" + moved
    if step.action is Action.REMOVE:
        return "remove: no longer declared"
    return f"run: {why(step)}{moved}"


def why(step: StepPlan) -> str:
    """Why a step must run: `changed`, `new`, `upstream changes (known after apply)`."""
    parts = []
    for reason in step.reasons:
        text = reason.kind.value
        if reason.note and reason.kind is not ReasonKind.UPSTREAM:
            text += f" ({reason.note})"
        parts.append(text)
    text = ", ".join(parts)
    if any(reason.kind is ReasonKind.UPSTREAM for reason in step.reasons):
        text += " (known after apply)"
    return text


@dataclass(frozen=True, slots=True)
class PlanLine:
    """One line of the plan's body, laid out once for the terminal and the PR comment alike."""

    symbol: str  # "=", "+", "~", "-", "-/+": the colour in a terminal, the op in a ```diff block
    indent: int  # columns before the symbol in the terminal: 2 for a step, 6 for its diff
    subject: str  # the address (padded, so reasons align) or a diff line
    reason: str = ""
    duration: str = ""


def describe_resource(change: ResourceChange) -> str:
    """`create (serving "local")`, `replace (port forces replacement)`..."""
    text = f'{_RESOURCE_VERB[change.action]} ({change.kind} "{change.type}")'
    if change.action is ResourceAction.REPLACE:
        why = (
            f"{', '.join(change.forces)} forces replacement"
            if change.forces
            else "changed outside zenctl"
        )
        text += f", {why}"
    elif change.action is ResourceAction.CREATE and change.gone:
        text += ", deleted outside zenctl"
    return text


def _drift_lines(plan: Plan) -> list[str]:
    drifted = [change for change in plan.resources if change.drifted]
    if not drifted:
        return []
    lines = ["[bold]Changed outside zenctl[/] (found by refreshing the resources):\n"]
    for change in drifted:
        what = "no longer exists" if change.gone else "changed"
        lines += drifted_lines(change.address, what, change.drift)
    return [*lines, ""]


def drifted_lines(address: str, what: str, changes: Iterable[Change]) -> list[str]:
    """`! ADDRESS  what` and the changes under it: drift, in the plan and in `zenctl drift`."""
    lines = [f"  [yellow]! {escape(address)}[/]  {escape(what)}"]
    lines.extend(f"      [yellow]{escape(str(change))}[/]" for change in changes)
    return lines


def _resource_lines(change: ResourceChange, width: int) -> list[PlanLine]:
    """`-/+ address  replace (...)`, the symbol padded so that addresses align."""
    subject = " " * (3 - len(change.symbol)) + change.address.ljust(width)
    lines = [PlanLine(change.symbol, 2, subject, describe_resource(change))]
    if change.action is not ResourceAction.NOOP:
        for item in change.changes:
            forces = "  # forces replacement" if item.path in change.forces else ""
            lines.append(PlanLine(item.op, 8, item.body + forces))
    return lines


def plan_lines(plan: Plan) -> list[PlanLine]:
    """Every step with its reason, in execution order, each followed by its exact diff; then
    every resource with what apply will do to it and its attribute diff."""
    everything = [*plan.steps, *plan.removed]
    width = max((len(step.address) for step in everything), default=0)
    lines = []
    for step in everything:
        duration = ""
        if step.action is Action.RUN and step.expected_duration is not None:
            duration = f"~{format_duration(step.expected_duration)}"
        lines.append(PlanLine(step.symbol, 2, step.address.ljust(width), describe(step), duration))
        lines.extend(PlanLine(change.op, 6, change.body) for change in step.changes)
    resource_width = max((len(change.address) for change in plan.resources), default=0)
    for change in plan.resources:
        lines.extend(_resource_lines(change, resource_width))
    return lines


def render_plan(console: Console, plan: Plan) -> None:
    lines = _drift_lines(plan)
    lines += ["zenctl will perform the following actions:\n"] if plan.has_changes else []
    if plan.workspace != DEFAULT_WORKSPACE:  # as Terraform users expect: say where, when unusual
        lines.insert(0, f"Workspace: [bold]{escape(plan.workspace)}[/]\n")
    for line in plan_lines(plan):
        style = _STYLE[line.symbol]
        text = f"{' ' * line.indent}[{style}]{line.symbol} {escape(line.subject)}[/]"
        if line.reason:
            text += f"  {escape(line.reason)}"
        if line.duration:
            text += f" [dim]{line.duration}[/]"
        lines.append(text)
    if plan.steps or plan.removed or plan.resources:
        lines.append("")
    lines.append(f"[bold]{escape(plan.summary_line)}[/]")
    console.print("\n".join(lines))  # one call: rich's per-print overhead is ~0.3 ms
    expected = expected_duration_line(plan)
    if expected:
        console.print(expected)


def expected_duration_line(plan: Plan) -> str:
    """The line after the summary when history knows how long the steps to run take."""
    expected = plan.expected_duration
    if expected is None:
        return ""
    return f"Expected duration of the steps to run: ~{format_duration(expected)} (from past runs)."


def format_duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 90:
        return f"{seconds:.1f}s"
    return f"{seconds / 60:.1f}min"
