"""The human plan: one line per step with its reason, the exact diff under changed steps.

Also the words every rendering of a plan shares (the PR comment and the JSON plan too): the
symbols of actions, the reasons' notes and the summary line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from rich.console import Console
from rich.markup import escape

from zenctl.plan.diff import change_body, reason_note, topic
from zenctl.plan.model import (
    Action,
    Change,
    Plan,
    ReasonKind,
    ResourceAction,
    ResourceChange,
    Stage,
    StepPlan,
)
from zenctl.sizes import format_size
from zenctl.workspaces import DEFAULT_WORKSPACE

_STYLE = {"=": "dim", "+": "green", "~": "yellow", "-": "red", "-/+": "red"}
_RESOURCE_VERB = {
    ResourceAction.CREATE: "create",
    ResourceAction.UPDATE: "update in place",
    ResourceAction.REPLACE: "replace",
    ResourceAction.DELETE: "destroy",
    ResourceAction.NOOP: "up to date",
}
_RESOURCE_SYMBOL = {
    ResourceAction.CREATE: "+",
    ResourceAction.UPDATE: "~",
    ResourceAction.REPLACE: "-/+",
    ResourceAction.DELETE: "-",
    ResourceAction.NOOP: "=",
}


def step_symbol(step: StepPlan) -> str:
    """`=` cached, `-` removed, `+` new, `~` runs again."""
    if step.action is Action.CACHED:
        return "="
    if step.action is Action.REMOVE:
        return "-"
    return "+" if any(r.kind is ReasonKind.NEW for r in step.reasons) else "~"


def summary_line(plan: Plan) -> str:
    """The stable one-line summary scripts rely on (specs/summary.md)."""
    if not plan.has_changes:
        return f"No changes. {len(plan.cached)} steps cached."
    must, may = plan.run_counts
    more = f" up to {may} more if outputs change," if may else ""
    steps = f"Plan: {must} to run,{more} {len(plan.cached)} cached, {len(plan.removed)} to remove"
    if not plan.resources:
        return steps + "."
    add, change, destroy = plan.resource_counts
    return f"{steps}; {add} to add, {change} to change, {destroy} to destroy."


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
        text, note = reason.kind.value, reason_note(reason)
        if note and reason.kind is not ReasonKind.UPSTREAM:
            text += f" ({note})"
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
    lines.extend(f"      [yellow]{escape(change_line(change))}[/]" for change in changes)
    return lines


def change_line(change: Change) -> str:
    """`~ params.lr: 0.01 -> 0.02`."""
    return f"{change.op} {change_body(change)}"


def _resource_lines(change: ResourceChange, width: int) -> list[PlanLine]:
    """`-/+ address  replace (...)`, the symbol padded so that addresses align."""
    symbol = _RESOURCE_SYMBOL[change.action]
    subject = " " * (3 - len(symbol)) + change.address.ljust(width)
    lines = [PlanLine(symbol, 2, subject, describe_resource(change))]
    if change.action is not ResourceAction.NOOP:
        for item in change.changes:
            forces = "  # forces replacement" if item.path in change.forces else ""
            lines.append(PlanLine(item.op, 8, change_body(item) + forces))
    return lines


def is_change(step: StepPlan) -> bool:
    """Whether apply surely does something to a step: runs it, removes it or records its
    move. A cached step does not, nor one that runs only if an upstream output changes."""
    return (step.action is not Action.CACHED and not step.conditional) or bool(step.moved_from)


def changing(stage: Stage) -> Stage:
    """The part of a stage that apply surely changes: steps that `is_change`, resources other
    than those up to date."""
    return Stage(
        stage.kind,
        tuple(step for step in stage.steps if is_change(step)),
        tuple(change for change in stage.resources if change.action is not ResourceAction.NOOP),
    )


def plan_lines(plan: Plan, changes_only: bool = False) -> list[PlanLine]:
    """The plan's stages in their order: each step with its reason, in execution order,
    followed by its exact diff; each resource with what apply will do to it and its attribute
    diff. `changes_only` keeps what is `changing`, for a comment short of room."""
    stages = [changing(stage) if changes_only else stage for stage in plan.stages]
    width = max((len(step.address) for stage in stages for step in stage.steps), default=0)
    resource_width = max(
        (len(change.address) for stage in stages for change in stage.resources), default=0
    )
    lines = []
    for stage in stages:
        for step in stage.steps:
            duration = ""
            if step.action is Action.RUN and step.expected_duration is not None:
                duration = f"~{format_duration(step.expected_duration)}"
            subject = step.address.ljust(width)
            lines.append(PlanLine(step_symbol(step), 2, subject, describe(step), duration))
            lines.extend(PlanLine(change.op, 6, change_body(change)) for change in step.changes)
            if step.action is Action.RUN and step.resources:
                lines.append(PlanLine("=", 6, f"resources: {resources_text(step.resources)}"))
        for change in stage.resources:
            lines.extend(_resource_lines(change, resource_width))
    return lines


@dataclass(slots=True)
class Group:
    """Steps and resources that change for the same reasons: one heading of the concise plan."""

    reason: str  # `code: steps/util.py, params`, `new`, `upstream changes`, `create`...
    symbol: str  # the same for every member: it follows from the reasons
    may_run: bool  # its steps run only if an upstream output changes (`Plan.run_counts`)
    members: list[tuple[str, str | None]] = field(default_factory=list)  # (address, moved from)


def reason_label(step: StepPlan) -> str:
    """Why a step changes, as the concise plan groups it: its reasons in the plan's order, a
    change split by what changed (`code: steps/util.py, params`), without the notes that
    differ from step to step (which output is missing, how the last attempt ended)."""
    labels = []
    for reason in step.reasons:
        if reason.kind is ReasonKind.CHANGED and reason.note:  # the same for every step
            labels.append(f"changed ({reason.note})")
        elif reason.kind is ReasonKind.CHANGED and step.changes:
            labels.extend(topic(change) for change in step.changes)
        else:
            labels.append(reason.kind.value)
    if step.moved_from:
        labels.append("moved")
    return ", ".join(dict.fromkeys(labels))


def summary_groups(plan: Plan) -> list[Group]:
    """Everything apply changes, each step and resource in one group, the groups in the order
    their first member comes in the plan's stages: steps that run or may run, removed, moved,
    resources to create, update, replace or destroy."""
    groups: dict[str, Group] = {}
    for stage in plan.stages:
        for step in stage.steps:
            if step.action is not Action.CACHED or step.moved_from:
                reason = reason_label(step)
                may_run = step.conditional and not step.moved_from
                group = groups.setdefault(reason, Group(reason, step_symbol(step), may_run))
                group.members.append((step.address, step.moved_from))
        for change in stage.resources:
            if change.action is not ResourceAction.NOOP:
                verb = _RESOURCE_VERB[change.action]
                symbol = _RESOURCE_SYMBOL[change.action]
                group = groups.setdefault(verb, Group(verb, symbol, False))
                group.members.append((change.address, None))
    return list(groups.values())


def _full_lines(plan: Plan) -> list[str]:
    lines = []
    for line in plan_lines(plan):
        style = _STYLE[line.symbol]
        text = f"{' ' * line.indent}[{style}]{line.symbol} {escape(line.subject)}[/]"
        if line.reason:
            text += f"  {escape(line.reason)}"
        if line.duration:
            text += f" [dim]{line.duration}[/]"
        lines.append(text)
    return lines


def _summary_lines(plan: Plan) -> list[str]:
    lines: list[str] = []
    for group in summary_groups(plan):
        if lines:
            lines.append("")
        lines.append(f"[bold]{escape(group.reason)}[/] ({len(group.members):,}):")
        style = _STYLE[group.symbol]
        for address, moved_from in group.members:
            moved = f"  (moved from {escape(moved_from)})" if moved_from else ""
            lines.append(f"  [{style}]{group.symbol} {escape(address)}[/]{moved}")
    return lines


def render_plan(console: Console, plan: Plan, summary: bool = False) -> None:
    """The plan in a terminal: every step with its reason and diff, or with `summary` only the
    addresses that change, grouped by reason, for plans of thousands of steps."""
    lines = [] if summary else _drift_lines(plan)
    if plan.has_changes:
        lines.append(
            "zenctl will perform the following actions"
            + (", grouped by reason:\n" if summary else ":\n")
        )
    if plan.workspace != DEFAULT_WORKSPACE:  # as Terraform users expect: say where, when unusual
        lines.insert(0, f"Workspace: [bold]{escape(plan.workspace)}[/]\n")
    body = _summary_lines(plan) if summary else _full_lines(plan)
    lines += [*body, ""] if body else []
    lines.append(f"[bold]{escape(summary_line(plan))}[/]")
    console.print("\n".join(lines))  # one call: rich's per-print overhead is ~0.3 ms
    for line in (expected_duration_line(plan), capacity_line(plan)):
        if line:
            console.print(escape(line))


def resources_text(asked: Mapping[str, int | float]) -> str:
    """`gpus=1 memory=8GiB cpus=4`: what a step asks for, as it is written."""
    shown = {
        "gpus": lambda value: f"{value:g}",
        "memory": lambda value: format_size(int(value)),
        "cpus": lambda value: f"{value:g}",
    }
    return " ".join(f"{kind}={shown[kind](value)}" for kind, value in asked.items())


def capacity_line(plan: Plan) -> str:
    """What the steps that ask for resources share, when one to run does: the GPUs' pool
    (which device each step gets is decided as it starts: `zenctl show` records it)."""
    capacity = plan.capacity
    if capacity is None:
        return ""
    memory = format_size(capacity.memory) if capacity.memory is not None else "unknown"
    return (
        f"Resources: gpus from {capacity.gpu_pool()}, memory {memory}, {capacity.cpus:g} cpus; "
        "a step starts once what it asks for is free."
    )


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
