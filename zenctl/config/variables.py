"""Variable values: defaults, `ZENCTL_VAR_name` environment variables, then `--var` flags."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from zenctl.config.model import Config, Ref, Template
from zenctl.config.types import coerce_text, type_error
from zenctl.diagnostics import Diagnostic, DiagnosticsError

ENV_PREFIX = "ZENCTL_VAR_"


@dataclass(frozen=True, slots=True)
class Sensitive:
    """A value from a sensitive variable: passed to steps, never shown or stored in clear."""

    value: Any

    def __repr__(self) -> str:
        return "(sensitive)"


def parse_var_flags(flags: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for flag in flags:
        name, sep, value = flag.partition("=")
        if not sep or not name.strip():
            raise DiagnosticsError(
                [
                    Diagnostic(
                        "error",
                        "Invalid --var option",
                        f"The given --var option {flag!r} is not correctly specified. "
                        "It must be a variable name and value separated by an equals sign: "
                        "--var name=value.",
                    )
                ]
            )
        values[name.strip()] = value
    return values


def resolve_variables(
    config: Config,
    flags: Mapping[str, str],
    environ: Mapping[str, str] | None = None,
    preset: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Every declared variable's value; sensitive ones wrapped in `Sensitive`."""
    environ = os.environ if environ is None else environ
    preset = preset or {}
    problems: list[Diagnostic] = []
    for name in flags:
        if name not in config.variables:
            problems.append(
                Diagnostic(
                    "error",
                    "Value for undeclared variable",
                    f'A variable named "{name}" was assigned on the command line, but the '
                    "configuration does not declare it. Declare it with a "
                    f'variable "{name}" block.',
                )
            )
    values: dict[str, Any] = {}
    for name, variable in config.variables.items():
        text = flags.get(name, environ.get(f"{ENV_PREFIX}{name}"))
        if name in preset:
            value = preset[name]
        elif text is not None:
            try:
                value = coerce_text(text, variable.type)
            except ValueError as exc:
                problems.append(
                    Diagnostic(
                        "error",
                        "Invalid value for variable",
                        f'Variable "{name}" is {variable.type}: {exc}.',
                        variable.range,
                    )
                )
                continue
            if problem := type_error(value, variable.type):
                problems.append(
                    Diagnostic(
                        "error",
                        "Invalid value for variable",
                        f'Variable "{name}": {problem}.',
                        variable.range,
                    )
                )
                continue
        elif variable.has_default:
            value = variable.default
        else:
            problems.append(
                Diagnostic(
                    "error",
                    "No value for required variable",
                    f'The variable "{name}" has no default. Pass --var {name}=VALUE or set '
                    f"{ENV_PREFIX}{name}.",
                    variable.range,
                )
            )
            continue
        values[name] = Sensitive(value) if variable.sensitive else value
    if problems:
        raise DiagnosticsError(problems)
    return values


def evaluate(value: Any, variables: Mapping[str, Any]) -> Any:
    """Substitute `var.NAME` references; a template touching a secret becomes sensitive."""
    if isinstance(value, Ref):
        return variables[value.parts[1]]
    if isinstance(value, Template):
        parts = [evaluate(part, variables) for part in value.parts]
        text = "".join(str(p.value if isinstance(p, Sensitive) else p) for p in parts)
        return Sensitive(text) if any(isinstance(p, Sensitive) for p in parts) else text
    if isinstance(value, list):
        return [evaluate(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: evaluate(item, variables) for key, item in value.items()}
    return value


def reveal(value: Any) -> Any:
    """The real value, secrets included: only for handing to the step function."""
    if isinstance(value, Sensitive):
        return reveal(value.value)
    if isinstance(value, list):
        return [reveal(item) for item in value]
    if isinstance(value, dict):
        return {key: reveal(item) for key, item in value.items()}
    return value


def choose_stacks(config: Config, variables: Mapping[str, Any]) -> Config:
    """Bind each `stack = var.NAME` pipeline to the stack the variable names for this run."""
    if not any(pipeline.stack_var for pipeline in config.pipelines.values()):
        return config
    problems: list[Diagnostic] = []
    pipelines = dict(config.pipelines)
    for pipeline in config.pipelines.values():
        if pipeline.stack_var is None:
            continue
        value = variables[pipeline.stack_var]
        context = f'in pipeline "{pipeline.name}"'
        stack = config.stacks.get(value) if isinstance(value, str) else None
        if stack is None:
            problems.append(
                Diagnostic(
                    "error",
                    "No such stack",
                    f'Variable "{pipeline.stack_var}" is {value!r}, which names no stack; the '
                    f"declared stacks are {', '.join(sorted(config.stacks))}.",
                    pipeline.range,
                    context,
                )
            )
            continue
        for step in pipeline.steps.values():
            if step.on and step.on not in stack.components:
                problems.append(
                    Diagnostic(
                        "error",
                        "Component not in stack",
                        f'Step "{step.name}" runs on "{step.on}", but stack "{stack.name}" '
                        f"(chosen by var.{pipeline.stack_var}) declares no {step.on} component.",
                        step.range,
                        context,
                    )
                )
        pipelines[pipeline.name] = replace(pipeline, stack=stack.name)
    if problems:
        raise DiagnosticsError(problems)
    return replace(config, pipelines=pipelines)
