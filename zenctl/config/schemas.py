"""The schemas of the language's blocks, and the words for a body that does not fit one.

Each block's arguments, once decoded into values, are checked by a strict pydantic model;
`body_problems` turns pydantic's errors into diagnostics worded as Terraform words the same
mistakes. It is the one place a pydantic error is worded for the configuration, provider
settings schemas included.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, InstanceOf, StringConstraints, ValidationError

from zenctl.config.model import DEFAULT_OUTPUT, STEP_EXECUTORS, Expression, Ref
from zenctl.diagnostics import Diagnostic, SourceRange, suggest, validation_words

IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_-]{0,63}"
NAME_RULE = (
    "start with a letter or underscore, then letters, digits, underscores or dashes (at most 64)"
)
Name = Annotated[str, StringConstraints(pattern=f"^{IDENTIFIER}$")]
RunTarget = Annotated[
    str,
    StringConstraints(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"
    ),
]

# what to write instead, for the arguments whose mistakes have one answer
HINTS = {
    "run": 'Write it as "package.module:function", importable from the project directory.',
    "inputs": "Inputs are references: source.NAME or step.NAME.outputs.OUTPUT.",
    "stack": "Reference a declared stack, stack = stack.NAME, or a variable naming one.",
    "on": f"Choose one of {', '.join(STEP_EXECUTORS)}.",
    "outputs": 'List the output names, e.g. outputs = ["train", "test"].',
    "metrics": 'List the outputs that hold metrics, e.g. metrics = ["scores"].',
    "model": "Reference a step output: model = step.train.outputs.output.",
}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, arbitrary_types_allowed=True)


class VariableBody(_Body):
    type: str = "any"
    default: Any = None
    description: str = ""
    sensitive: bool = False


class SourceBody(_Body):
    path: Annotated[str, StringConstraints(min_length=1)]


class StepBody(_Body):
    run: RunTarget
    inputs: dict[Name, InstanceOf[Ref]] = {}
    params: (
        dict[Name, Any] | InstanceOf[Expression] | InstanceOf[Ref]
    ) = {}  # a map, or what gives one
    outputs: list[Name] = [DEFAULT_OUTPUT]
    metrics: list[Name] = []  # which outputs are metrics: each a flat mapping, recorded
    on: Literal["processing", "training", "serving"] | None = None
    deps: list[Annotated[str, StringConstraints(min_length=1)]] = []
    paths: dict[Name, Annotated[str, StringConstraints(min_length=1)]] = {}
    materializers: dict[Name, Annotated[str, StringConstraints(min_length=1)]] = {}


class PipelineBody(_Body):
    stack: InstanceOf[Ref] | None = None


class DeploymentBody(_Body):
    model: InstanceOf[Ref]
    serving: Name | None = None


def body_problems(
    model: type[BaseModel],
    error: ValidationError,
    ranges: Mapping[str, SourceRange],
    where: SourceRange | None,
    context: str = "",
    unreported: Collection[str] = (),
) -> list[Diagnostic]:
    """A diagnostic for each of pydantic's errors validating a block's body against `model`:
    at the argument (`ranges`: where each one given was written), else at the block
    (`where`). Arguments in `unreported` are left out: those checked once their value is
    known, and those whose value had an error of its own (pydantic finds them missing)."""
    fields = list(model.model_fields)
    problems: list[Diagnostic] = []
    for item in error.errors():
        name = str(item["loc"][0]) if item["loc"] else ""
        if name in unreported:
            continue
        hint = f" {HINTS[name]}" if name in HINTS else ""
        kind = item["type"]
        if kind == "extra_forbidden":
            summary = "Unsupported argument"
            detail = f'An argument named "{name}" is not expected here.' + suggest(name, fields)
        elif kind == "missing":
            summary = "Missing required argument"
            detail = f'The argument "{name}" is required, but no definition was found.{hint}'
        elif kind == "string_pattern_mismatch" and name != "run":
            summary = "Invalid name"
            detail = (
                f'"{item["input"]}" is not a valid name ({_path(item["loc"])}): {NAME_RULE}.{hint}'
            )
        elif kind == "is_instance_of":  # a Ref or an Expression expected
            given = item["input"]
            written = f'the string "{given}"' if isinstance(given, str) else "a value"
            summary = "Invalid reference"
            detail = (
                f'"{_path(item["loc"])}" takes a reference, written without quotes, '
                f"not {written}.{hint}"
            )
        else:
            summary = "Incorrect attribute value type"
            said = validation_words(item)
            detail = f'Inappropriate value for "{_path(item["loc"])}": {said}.{hint}'
        problems.append(Diagnostic("error", summary, detail, ranges.get(name, where), context))
    return problems


def _path(loc: Iterable[Any]) -> str:
    return ".".join(str(part) for part in loc)
