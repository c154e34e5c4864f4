"""A step's `resources { gpus = 1, memory = "8GiB", cpus = 4 }` block: decoded, each value
checked where it is written (a constant at load, a variable's value at plan), and evaluated
into the `Resources` the walker schedules with.

Resources say where and when a step may run, never what it computes: they are not in its
cache key (specs/caching.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from zenctl.config.model import Expression, Ref, Resources, Step, is_constant
from zenctl.config.variables import Sensitive, evaluate
from zenctl.diagnostics import Diagnostic, DiagnosticsError, SourceRange, UserError, suggest
from zenctl.sizes import SIZE_HINT, parse_size

if TYPE_CHECKING:  # the decoder (pydantic models, the HCL lowering) only while loading: a plan
    # from the config cache plans without it
    from zenctl.config.decoding import Decoder, SourceFile

KINDS = ("gpus", "memory", "cpus")


def decode_resources(
    decoder: Decoder, source: SourceFile, block: Any, context: str
) -> dict[str, Any] | None:
    """The block's arguments as config values (constants checked now); None after an error."""
    decoder.no_labels(source, block, "resources { gpus = 1 }")
    decoder.no_nested_blocks(source, block)
    attrs = decoder.attributes(source, block)
    ok = not decoder.failed(source.range_of(block.raw))
    for name, attr in attrs.items():
        if name not in KINDS:
            detail = (
                f'An argument named "{name}" is not expected here. A resources block takes '
                f"{', '.join(KINDS)}.{suggest(name, KINDS)}"
            )
            decoder.error("Unsupported argument", detail, attr.range, context)
            ok = False
        elif is_constant(attr.value) and (problem := _problem(name, attr.value)):
            decoder.error("Invalid resources", problem, attr.range, context)
            ok = False
    return {name: attr.value for name, attr in attrs.items()} if ok else None


def step_resources(step: Step, variables: Mapping[str, Any]) -> Resources:
    """The resources a step asks for in this plan, its variables' values checked as its
    constants were. DiagnosticsError at the argument for a bad one."""
    values: dict[str, Any] = {}
    for name, written in step.resources.items():
        value = evaluate(written, variables)
        problem = (
            "A resource may not come from a sensitive value: the plan shows it."
            if isinstance(value, Sensitive)
            else _problem(name, value)
        )
        if problem:
            where = _range(written)
            detail = f'Step "{step.name}": {problem}'
            raise DiagnosticsError([Diagnostic("error", "Invalid resources", detail, where)])
        values[name] = value
    return Resources(
        int(values["gpus"]) if "gpus" in values else None,
        parse_size(values["memory"], "memory") if "memory" in values else None,
        float(values["cpus"]) if "cpus" in values else None,
    )


def _problem(name: str, value: Any) -> str | None:
    """What is wrong with `value` for resource `name`, in words; None when it is good."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    shown = json.dumps(value)  # as HCL writes it: "8", not '8'
    if name == "gpus" and not (number and value >= 0 and float(value).is_integer()):
        return f"gpus is a whole number of GPUs, 0 or more (gpus = 1), not {shown}."
    if name == "cpus" and not (number and value > 0):
        return f"cpus is a number of CPU cores above 0 (cpus = 4, or 0.5), not {shown}."
    if name == "memory":
        if not isinstance(value, str):
            return f"memory is a size with its unit, not {shown}. {SIZE_HINT}"
        try:
            if parse_size(value, "memory") <= 0:
                return f"memory is a size above 0, not {shown}."
        except UserError:  # worded here, at the argument
            return f"memory {shown} is not a size. {SIZE_HINT}"
    return None


def _range(written: Any) -> SourceRange | None:
    if isinstance(written, Ref):
        return written.range
    if isinstance(written, Expression):
        return written.node.range  # type: ignore[no-any-return]
    return None
