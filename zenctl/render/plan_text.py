"""The human plan: one line per step with its reason, the exact diff under changed steps."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from zenctl.plan.model import Action, Plan, ReasonKind, ResourceAction, ResourceChange, StepPlan
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
        lines.append(f"  [yellow]! {escape(change.address)}[/]  {what}")
        lines.extend(f"      [yellow]{escape(str(c))}[/]" for c in change.drift)
    return [*lines, ""]


def _resource_lines(change: ResourceChange, width: int) -> list[str]:
    style = _STYLE[change.symbol]
    line = f"  [{style}]{change.symbol.ljust(3)} {escape(change.address.ljust(width))}[/]  "
    lines = [line + escape(describe_resource(change))]
    if change.action is ResourceAction.NOOP:
        return lines
    for item in change.changes:
        forces = "  # forces replacement" if item.path in change.forces else ""
        lines.append(f"        [{_STYLE[item.op]}]{escape(str(item))}{forces}[/]")
    return lines


def render_plan(console: Console, plan: Plan) -> None:
    everything = [*plan.steps, *plan.removed]
    width = max((len(step.address) for step in everything), default=0)
    lines = _drift_lines(plan)
    lines += ["zenctl will perform the following actions:\n"] if plan.has_changes else []
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
    if everything and plan.resources:
        lines.append("")
    resource_width = max((len(change.address) for change in plan.resources), default=0)
    for change in plan.resources:
        lines.extend(_resource_lines(change, resource_width))
    if everything or plan.resources:
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
