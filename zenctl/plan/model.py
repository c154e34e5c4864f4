"""The plan as frozen data: rendered, saved and executed from the same objects.

Pure data, no presentation: values are kept whole (full hashes, recorded values, counts) and
zenctl/render/ words them, for the terminal, the pull-request comment and the JSON plan alike.
The plan is an ordered list of stages (`Plan.stages`): apply carries them out in that order,
and every rendering lists them in it. Every step that will run carries its reasons,
structured all the way to the JSON, in the fixed order of `ReasonKind` (as Snakemake's
`Reason` does).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum, StrEnum
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
class Digest:
    """A content hash, in full: an input's data, an artifact, a model."""

    hex: str


@dataclass(frozen=True, slots=True)
class Recorded:
    """A value as recorded: a param, an attribute, a type; secrets as their keyed hash."""

    value: Any = field(hash=False)  # compared, not hashed: it may be a dict or a list


class Placeholder(Enum):
    """A value that cannot be given, and why."""

    UNKNOWN = "known after apply"  # a model a step of this apply will produce
    MISSING = "missing"  # drift: the source data is gone


# A side of a change: text stands as written (a reference, or a value read back from a JSON
# plan, where every value is already text).
Value = str | Digest | Recorded | Placeholder


@dataclass(frozen=True, slots=True)
class Change:
    """One line of a diff: `params.lr` changed from 0.01 to 0.02."""

    op: str  # "~" changed, "+" added, "-" removed: the JSON plan's `op`
    path: str
    before: Value | None = None  # None: no value on that side
    after: Value | None = None
    origin: str | None = None  # the expression the new value came from: `var.base * 2`


@dataclass(frozen=True, slots=True)
class Reason:
    kind: ReasonKind
    note: str = ""  # words: how the last attempt ended, which fingerprint formats differ
    # the artifact reasons: each damaged output's name and hash
    outputs: tuple[tuple[str, Digest], ...] = ()


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
    # what it needs of the machine while it runs (`Resources.asked`): {"gpus": 1, ...}
    resources: dict[str, int | float] = field(default_factory=dict, hash=False)

    @property
    def conditional(self) -> bool:
        """Runs only if an upstream output changes: nothing of its own changed, and its inputs
        are known after apply, when the same bytes may come back and cut it off."""
        return (
            self.action is Action.RUN
            and self.fingerprint is None
            and all(reason.kind is ReasonKind.UPSTREAM for reason in self.reasons)
        )


class ResourceAction(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    NOOP = "no-op"


def resource_counts(actions: Iterable[ResourceAction]) -> tuple[int, int, int]:
    """(added, changed, destroyed), a replacement counting as one add and one destroy: what a
    plan will do and what an apply did, counted alike."""
    done = list(actions)
    replaced = done.count(ResourceAction.REPLACE)
    return (
        done.count(ResourceAction.CREATE) + replaced,
        done.count(ResourceAction.UPDATE),
        done.count(ResourceAction.DELETE) + replaced,
    )


@dataclass(frozen=True, slots=True)
class ResourceChange:
    """What apply will do to one resource, with the attribute diff and any drift found.

    `before`/`after` are recorded and desired attributes (None: none), `state` the refreshed
    real state; a value still unknown (a model a step will produce) is None in `after` and
    listed in `unknown`.
    """

    address: str  # stack.NAME.KIND or pipeline.NAME.deployment.NAME
    kind: str  # the component kind: "serving" for deployments (a stack's serving component
    # is no resource: it only gives its deployments their defaults)
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
    def drifted(self) -> bool:
        return self.gone or bool(self.drift)

    @property
    def deployment(self) -> bool:
        """A pipeline's deployment, which serves a model that a step makes."""
        return self.kind == "serving"


GPUS_ENV = "CUDA_VISIBLE_DEVICES"


@dataclass(frozen=True, slots=True)
class Capacity:
    """What the machine offers the steps that ask for `resources` (zenctl/plan/capacity.py)."""

    gpus: tuple[str, ...] | None  # the device ids to hand out; None: CUDA_VISIBLE_DEVICES unset
    memory: int | None  # bytes; None: unknown (no sysconf, no ZENCTL_MEMORY)
    cpus: float

    def gpu_pool(self) -> str:
        """Where the GPUs come from, for the plan: `CUDA_VISIBLE_DEVICES=2,3`."""
        if self.gpus is None:
            return f"{GPUS_ENV} unset"
        return f"{GPUS_ENV}={','.join(self.gpus)}" if self.gpus else f"{GPUS_ENV} (no device)"


class StageKind(StrEnum):
    RESOURCES = "resources"  # resources to create, update, replace or destroy
    STEPS = "steps"  # the steps to run, in dependency order, and the cached ones they read
    REMOVALS = "removals"  # steps no longer declared, recorded as removed


@dataclass(frozen=True, slots=True)
class Stage:
    """One part of the plan that apply carries out whole before the next: steps or resources."""

    kind: StageKind
    steps: tuple[StepPlan, ...] = ()
    resources: tuple[ResourceChange, ...] = ()


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
    capacity: Capacity | None = None  # the machine's, when a step to run asks for resources
    # steps whose executor's own scheduler places them by their resources (a cluster's): this
    # machine's capacity neither refuses nor holds them
    placed_elsewhere: frozenset[str] = frozenset()

    @property
    def stages(self) -> tuple[Stage, ...]:
        """What apply does, in the order it does it and every rendering lists it: the stack's
        resources (steps may need them), the steps, the removals, then the deployments (their
        models are known once the steps ran) and the resources to destroy, by address."""
        first: list[ResourceChange] = []
        last: list[ResourceChange] = []
        for change in self.resources:
            early = not change.deployment and change.action is not ResourceAction.DELETE
            (first if early else last).append(change)
        return (
            Stage(StageKind.RESOURCES, resources=tuple(first)),
            Stage(StageKind.STEPS, steps=self.steps),
            Stage(StageKind.REMOVALS, steps=self.removed),
            Stage(StageKind.RESOURCES, resources=tuple(last)),
        )

    @property
    def resource_counts(self) -> tuple[int, int, int]:
        """(to add, to change, to destroy)."""
        return resource_counts(change.action for change in self.resources)

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
    def expected_duration(self) -> float | None:
        """Sum over the steps to run, when history tells every one of them."""
        durations = [step.expected_duration for step in self.to_run]
        if not durations or any(d is None for d in durations):
            return None
        return float(sum(d for d in durations if d is not None))
