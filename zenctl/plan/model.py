"""The plan as frozen data: rendered, saved and executed from the same objects.

Every step that will run carries its reasons, structured all the way to the JSON, in the
fixed order of `ReasonKind` (as Snakemake's `Reason` does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Action(StrEnum):
    CACHED = "cached"
    RUN = "run"
    REMOVE = "remove"


class ReasonKind(StrEnum):
    NEW = "new"
    CHANGED = "changed"
    ARTIFACT_MISSING = "artifact missing"  # a cached output is gone from the artifact store
    ARTIFACT_CORRUPT = "artifact corrupt"  # a cached output's bytes no longer match its hash
    UPSTREAM = "upstream changes"
    REPLACE = "replace requested"
    REMOVED = "no longer declared"


@dataclass(frozen=True, slots=True)
class Change:
    """One line of a step's diff: `~ params.lr: 0.01 -> 0.02`."""

    op: str  # "~" changed, "+" added, "-" removed
    path: str
    before: str | None = None
    after: str | None = None
    origin: str | None = None  # the expression the new value came from: `var.base * 2`

    def __str__(self) -> str:
        return f"{self.op} {self.body}"

    @property
    def body(self) -> str:
        """The line without its op, for renderings that place the op themselves."""
        origin = f" (from {self.origin})" if self.origin else ""
        if self.before is not None and self.after is not None:
            return f"{self.path}: {self.before} -> {self.after}{origin}"
        value = self.after if self.after is not None else self.before
        return self.path + (f": {value}" if value is not None else "") + origin


@dataclass(frozen=True, slots=True)
class Reason:
    kind: ReasonKind
    note: str = ""


@dataclass(frozen=True, slots=True)
class StepPlan:
    address: str
    pipeline: str
    step: str
    action: Action
    reasons: tuple[Reason, ...]
    changes: tuple[Change, ...]
    components: dict[str, Any] = field(hash=False)
    fingerprint: str | None  # None: known only after its upstream steps have run
    depends_on: tuple[str, ...]
    cached_from: str | None = None  # the execution reused when cached
    cached_outputs: dict[str, dict[str, Any]] = field(default_factory=dict, hash=False)
    expected_duration: float | None = None
    before: dict[str, Any] | None = field(default=None, hash=False)  # last recorded components
    moved_from: str | None = None  # a `moved` block: the old address whose state this takes

    @property
    def conditional(self) -> bool:
        """Runs only if an upstream output changes: nothing of its own changed, and its inputs
        are known after apply, when the same bytes may come back and cut it off."""
        return (
            self.action is Action.RUN
            and self.fingerprint is None
            and all(reason.kind is ReasonKind.UPSTREAM for reason in self.reasons)
        )

    @property
    def symbol(self) -> str:
        if self.action is Action.CACHED:
            return "="
        if self.action is Action.REMOVE:
            return "-"
        return "+" if any(r.kind is ReasonKind.NEW for r in self.reasons) else "~"


class ResourceAction(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    NOOP = "no-op"


UNKNOWN = "(known after apply)"
RESOURCE_SYMBOL = {"create": "+", "update": "~", "replace": "-/+", "delete": "-", "no-op": "="}


@dataclass(frozen=True, slots=True)
class ResourceChange:
    """What apply will do to one resource, with the attribute diff and any drift found.

    `before`/`after` are recorded and desired attributes (None: none), `state` the refreshed
    real state; a value still unknown (a model a step will produce) is None in `after` and
    listed in `unknown`.
    """

    address: str  # stack.NAME.KIND or pipeline.NAME.deployment.NAME
    kind: str  # the component kind: "serving" for deployments
    type: str  # the provider type, e.g. "local"
    action: ResourceAction
    changes: tuple[Change, ...]
    forces: tuple[str, ...]  # attributes that force a replacement
    drift: tuple[Change, ...]  # real state that moved since the last apply
    gone: bool  # drift: the thing no longer exists
    before: dict[str, Any] | None = field(hash=False)
    after: dict[str, Any] | None = field(hash=False)
    state: dict[str, Any] | None = field(hash=False)
    unknown: tuple[str, ...] = ()

    @property
    def symbol(self) -> str:
        return RESOURCE_SYMBOL[self.action.value]

    @property
    def drifted(self) -> bool:
        return self.gone or bool(self.drift)


@dataclass(frozen=True, slots=True)
class Plan:
    workspace: str
    lineage: str
    serial: int
    steps: tuple[StepPlan, ...]  # execution order: pipelines by name, steps topologically
    removed: tuple[StepPlan, ...]
    stacks: dict[str, str] = field(hash=False)  # pipeline -> stack name
    resources: tuple[ResourceChange, ...] = ()  # declared and recorded ones, by address
    targets: tuple[str, ...] = ()  # --target: only these and what they need were planned
    replace: tuple[str, ...] = ()  # --replace: run even when cached
    excludes: tuple[str, ...] = ()  # --exclude: these and what depends on them were left out
    refreshed: bool = True  # resources' real state was read (False: --refresh=false)

    @property
    def resource_counts(self) -> tuple[int, int, int]:
        """(to add, to change, to destroy); a replacement counts as one add and one destroy."""
        actions = [change.action for change in self.resources]
        replaced = actions.count(ResourceAction.REPLACE)
        return (
            actions.count(ResourceAction.CREATE) + replaced,
            actions.count(ResourceAction.UPDATE),
            actions.count(ResourceAction.DELETE) + replaced,
        )

    @property
    def to_run(self) -> list[StepPlan]:
        """Every step apply starts: those that must run and those that may be cut off."""
        return [step for step in self.steps if step.action is Action.RUN]

    @property
    def run_counts(self) -> tuple[int, int]:
        """(must run, may run): a step of the second kind runs only if an upstream output
        changes, so counting it as certain would overstate the work."""
        conditional = sum(step.conditional for step in self.to_run)
        return len(self.to_run) - conditional, conditional

    @property
    def cached(self) -> list[StepPlan]:
        return [step for step in self.steps if step.action is Action.CACHED]

    @property
    def has_changes(self) -> bool:
        """Anything for apply to do or record: a move too, as Terraform counts it."""
        moved = any(step.moved_from for step in self.steps)
        return bool(self.to_run or self.removed or moved or any(self.resource_counts))

    @property
    def summary_line(self) -> str:
        """The stable one-line summary scripts rely on (specs/summary.md)."""
        if not self.has_changes:
            return f"No changes. {len(self.cached)} steps cached."
        must, may = self.run_counts
        more = f" up to {may} more if outputs change," if may else ""
        steps = (
            f"Plan: {must} to run,{more} {len(self.cached)} cached, {len(self.removed)} to remove"
        )
        if not self.resources:
            return steps + "."
        add, change, destroy = self.resource_counts
        return f"{steps}; {add} to add, {change} to change, {destroy} to destroy."

    @property
    def expected_duration(self) -> float | None:
        """Sum over the steps to run, when history tells every one of them."""
        durations = [step.expected_duration for step in self.to_run]
        if not durations or any(d is None for d in durations):
            return None
        return float(sum(d for d in durations if d is not None))
