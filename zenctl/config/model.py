"""The typed configuration every later stage works from.

Frozen dataclasses rather than pydantic models: pydantic validates them once on a cold load,
and the warm path rebuilds them from the config cache without importing pydantic (0.3 s on a
2-core machine, more than a whole cached plan may take). No `slots`: unpickling a slotted
frozen dataclass sets each field through `object.__setattr__`, 0.15 s for 1,000 steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from zenctl.diagnostics import SourceRange

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
class Template:
    """A string with interpolations, `"run-${var.name}"`: literal text and references."""

    parts: tuple[str | Ref, ...]


@dataclass(frozen=True)
class Validation:
    """A `validation` block: `condition` parsed by `zenctl.config.expressions`."""

    condition: tuple[Any, ...]
    error_message: str
    range: SourceRange  # the condition's, where a failure points


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
    params: dict[str, Any]
    outputs: tuple[str, ...]
    on: str | None
    range: SourceRange

    def upstream_steps(self) -> list[str]:
        """Names of the steps whose outputs this step consumes, in input order."""
        return [ref.parts[1] for ref in self.inputs.values() if ref.kind == "step"]


@dataclass(frozen=True)
class Pipeline:
    name: str
    stack: str
    sources: dict[str, Source]
    steps: dict[str, Step]
    range: SourceRange

    def address(self, step: str) -> str:
        return f"pipeline.{self.name}.step.{step}"


@dataclass(frozen=True)
class Config:
    root: str
    variables: dict[str, Variable]
    stacks: dict[str, Stack]
    pipelines: dict[str, Pipeline]
    files: tuple[str, ...]
