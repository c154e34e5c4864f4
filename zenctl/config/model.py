"""The typed configuration every later stage works from.

Frozen dataclasses rather than pydantic models: pydantic validates them once on a cold load,
and the warm path rebuilds them from the config cache without importing pydantic (0.3 s on a
2-core machine, more than a whole cached plan may take). No `slots`: unpickling a slotted
frozen dataclass sets each field through `object.__setattr__`, 0.15 s for 1,000 steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from zenctl.diagnostics import SourceRange, UserError

COMPONENT_KINDS = (
    "orchestrator",
    "artifact_store",
    "metadata_store",
    "processing",
    "training",
    "serving",
)
REQUIRED_COMPONENTS = ("orchestrator", "artifact_store", "metadata_store")
STEP_EXECUTORS = ("processing", "training", "serving")
# Components the core opens itself rather than a provider building them.
CORE_TYPES = {"metadata_store": ("sqlite", "postgresql", "mysql")}


def is_core(kind: str, type_: str) -> bool:
    return type_ in CORE_TYPES.get(kind, ())


DEFAULT_OUTPUT = "output"


@dataclass(frozen=True)
class Ref:
    """A reference such as `var.lr`, `source.raw` or `step.split.outputs.train`."""

    parts: tuple[str, ...]
    range: SourceRange | None = field(default=None, compare=False)

    @property
    def kind(self) -> str:
        return self.parts[0]

    def __str__(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Expression:
    """A value that reads variables or files, `var.base * 2` or a template: a
    `zenctl.config.expressions` tree, evaluated on every plan."""

    node: Any  # zenctl.config.tree.Node
    refs: tuple[Ref, ...]  # the variables it reads, through locals too, located
    locals: tuple[tuple[str, Any], ...]  # the locals it reads: name and tree
    text: str  # as written, for the plan's diff: `(from var.base * 2)`
    root: str  # the project directory, which file functions read from
    files: tuple[str, ...] = ()  # the files it reads, through locals too, where written literally


def is_constant(value: Any) -> bool:
    """Whether a config value is known now: no reference and no expression left in it."""
    if isinstance(value, Ref | Expression):
        return False
    if isinstance(value, list):
        return all(map(is_constant, value))
    if isinstance(value, dict):
        return all(map(is_constant, value.values()))
    return True


def references(value: Any) -> list[Ref]:
    """Every reference inside a config value, in order of appearance."""
    if isinstance(value, Ref):
        return [value]
    if isinstance(value, Expression):
        return list(value.refs)
    if isinstance(value, list):
        return [ref for item in value for ref in references(item)]
    if isinstance(value, dict):
        return [ref for item in value.values() for ref in references(item)]
    return []


def written_as(value: Any, path: list[str]) -> str | None:
    """The expression a config value at `path` (`["opt", "lr"]`) is computed from, as written,
    when it is one: `var.base * 2` or `var.lr`; None for a literal."""
    for key in path:
        if isinstance(value, Ref | Expression):
            break
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return None
    if isinstance(value, Ref):
        return str(value)
    if isinstance(value, Expression):
        # a value read from a file names it: `local.p.train.lr, file params.yaml`
        named = [value.text] if value.text else []
        named += [f"file {', '.join(value.files)}"] if value.files else []
        return ", ".join(named) or None
    return None


@dataclass(frozen=True)
class Validation:
    """A `validation` block: `condition` is a `zenctl.config.expressions` tree."""

    condition: Any
    error_message: str
    range: SourceRange  # the condition's, where a failure points
    locals: tuple[tuple[str, Any], ...] = ()  # the locals it reads: name and tree


@dataclass(frozen=True)
class Variable:
    name: str
    type: str
    default: Any
    has_default: bool
    description: str
    sensitive: bool
    range: SourceRange
    validations: tuple[Validation, ...] = ()


@dataclass(frozen=True)
class Component:
    kind: str
    type: str
    settings: dict[str, Any]
    range: SourceRange
    checked: bool = False  # settings validated by the provider's schema, defaults filled in


@dataclass(frozen=True)
class Stack:
    name: str
    components: dict[str, Component]
    range: SourceRange | None


@dataclass(frozen=True)
class Source:
    name: str
    path: str
    range: SourceRange


@dataclass(frozen=True)
class Step:
    name: str
    run: str
    inputs: dict[str, Ref]
    params: dict[str, Any] | Expression | Ref  # an expression gives the whole map per plan
    outputs: tuple[str, ...]
    on: str | None
    range: SourceRange
    # files and folders the step reads besides its inputs, hashed like sources (relative to
    # the project folder), and where `deps` is written, for an error about a missing one
    deps: tuple[str, ...] = ()
    deps_range: SourceRange | None = None
    # output -> where `zenctl checkout` writes it in the working tree; not in the key
    paths: dict[str, str] = field(default_factory=dict)
    metrics: tuple[str, ...] = ()  # outputs whose values are recorded as metrics
    # the `resources` block: gpus, memory, cpus -> a constant, checked, or a Ref/Expression
    # evaluated per plan (`zenctl.config.resources.step_resources`); not in the key
    resources: dict[str, Any] = field(default_factory=dict)
    # output -> the materializer that stores it (a name, or "module:Class"); in the key
    materializers: dict[str, str] = field(default_factory=dict)

    @property
    def executor_kind(self) -> str:
        """The stack component that runs the step: the one `on` names, else the orchestrator."""
        return self.on or "orchestrator"

    def upstream_steps(self) -> list[str]:
        """Names of the steps whose outputs this step consumes, in input order."""
        return [ref.parts[1] for ref in self.inputs.values() if ref.kind == "step"]


@dataclass(frozen=True)
class Resources:
    """What a step needs of the machine while it runs: the walker starts it only when they
    are free. None: the step asks nothing of that kind (it is not counted against it)."""

    gpus: int | None = None  # 0: none, hidden from the step (CUDA_VISIBLE_DEVICES="")
    memory: int | None = None  # bytes
    cpus: float | None = None

    def asked(self) -> dict[str, int | float]:
        """The kinds asked for, as the plan records them: {"gpus": 1, "memory": 8589934592}."""
        given = {"gpus": self.gpus, "memory": self.memory, "cpus": self.cpus}
        return {kind: value for kind, value in given.items() if value is not None}


@dataclass(frozen=True)
class Deployment:
    """A trained model served by a serving component: a resource, planned like Terraform's."""

    name: str
    model: Ref  # step.NAME.outputs.OUTPUT
    serving: str | None  # the serving component type, e.g. "local"; None: the stack's
    settings: dict[str, Any]  # the serving type's settings, over the stack's serving block
    range: SourceRange


def deployment_serving(
    stack: Stack, serving: str | None, deployment: str
) -> tuple[str, dict[str, Any]]:
    """The serving type a deployment uses on `stack`, and the settings it inherits from it."""
    component = stack.components.get("serving")
    chosen = serving or (component.type if component else None)
    if chosen is None:
        raise UserError(
            "Missing serving component",
            f'Deployment "{deployment}" names no serving type and stack "{stack.name}" declares '
            'no serving block: add serving = "local" to the deployment, or a serving "local" '
            "{ } block to the stack.",
        )
    same = component is not None and component.type == chosen
    return chosen, dict(component.settings) if same and component else {}


@dataclass(frozen=True)
class Pipeline:
    name: str
    stack: str
    sources: dict[str, Source]
    steps: dict[str, Step]
    range: SourceRange
    deployments: dict[str, Deployment] = field(default_factory=dict)
    stack_var: str | None = None  # `stack = var.NAME`: `stack` is set once variables are known

    def address(self, step: str) -> str:
        return f"pipeline.{self.name}.step.{step}"


@dataclass(frozen=True)
class ProviderRequirement:
    """`local = ">= 0.1"` in `zenctl { required_providers { ... } }`."""

    name: str
    constraint: str
    range: SourceRange


@dataclass(frozen=True)
class Moved:
    """`moved { from = pipeline.P.step.OLD  to = pipeline.P.step.NEW }`: a renamed step keeps
    its recorded state (docs/state.md)."""

    from_: str
    to: str
    range: SourceRange


@dataclass(frozen=True)
class Config:
    root: str
    variables: dict[str, Variable]
    stacks: dict[str, Stack]
    pipelines: dict[str, Pipeline]
    files: tuple[str, ...]
    required_providers: dict[str, ProviderRequirement] = field(default_factory=dict)
    moved: tuple[Moved, ...] = ()

    def moved_to(self) -> dict[str, str]:
        """Each old address -> the declared step it now is, chains (A to B, B to C) followed."""
        step = {move.from_: move.to for move in self.moved}
        resolved: dict[str, str] = {}
        for origin in step:
            target, seen = step[origin], {origin}
            while target in step and target not in seen:  # a loop is refused by the parser
                seen.add(target)
                target = step[target]
            resolved[origin] = target
        return resolved
