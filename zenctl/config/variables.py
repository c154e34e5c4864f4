"""Variable values from every source, with Terraform's precedence (later wins):

  1. the `default` in the `variable` block
  2. `ZENCTL_VAR_name` environment variables
  3. `*.auto.zcvars` files in the project folder, in lexical order of their names
  4. `--var-file FILE` and `--var name=value`, in the order given on the command line
  5. values given as data: the Python API's `vars=` (docs/python-api.md)

A required variable nobody set is asked for on a terminal (`ask`), and an error otherwise.
Values are converted to the declared type, then every `validation` block is checked.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from zenctl.config.assignments import parse_expression, read_assignments
from zenctl.config.model import Config, Expression, Ref, Step, Variable
from zenctl.config.types import TypeMismatch, convert_value, is_structural
from zenctl.diagnostics import Diagnostic, DiagnosticsError, SourceRange, closest

ENV_PREFIX = "ZENCTL_VAR_"
PARAM_NAME = r"[A-Za-z_][A-Za-z0-9_-]{0,63}"  # as the loader checks names written out
AUTO_GLOB = "*.auto.zcvars"


@dataclass(frozen=True, slots=True)
class Sensitive:
    """A value from a sensitive variable: passed to steps, never shown or stored in clear."""

    value: Any

    def __repr__(self) -> str:
        return "(sensitive)"


@dataclass(frozen=True, slots=True)
class VariableInputs:
    """What the command line says about variables: `("var", "name=value")` and
    `("file", PATH)` in the order given; `ask` prompts for a missing one (None: no terminal)."""

    cli: tuple[tuple[str, str], ...] = ()
    environ: Mapping[str, str] | None = None
    ask: Callable[[Variable], str] | None = None
    values: Mapping[str, Any] | None = None  # the Python API's `vars=`: values, not text


@dataclass(frozen=True, slots=True)
class _Given:
    """One assignment: text (flags, environment, prompt) is parsed per the type; file
    values are already HCL values."""

    value: Any
    is_text: bool
    origin: str  # "the --var option", "environment variable ZENCTL_VAR_x", "vars.zcvars:3"
    range: SourceRange | None = None


def resolve_variables(
    config: Config, inputs: VariableInputs, preset: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Every declared variable's value; sensitive ones wrapped in `Sensitive`.

    `preset`: values already decided (a saved plan's), above every other source, checked
    against their type and validations like any other (a saved plan may have been edited)."""
    problems: list[Diagnostic] = []
    given = _assignments(config, inputs, problems)
    for name, value in (preset or {}).items():
        if name in config.variables:
            given[name] = _Given(value, False, "the saved plan")
    values: dict[str, Any] = {}
    for name, variable in config.variables.items():
        assignment = given.get(name)
        if assignment is None and not variable.has_default and inputs.ask is not None:
            assignment = given[name] = _Given(inputs.ask(variable), True, "the prompt")
        if assignment is None:
            if variable.has_default:
                values[name] = variable.default
            else:
                problems.append(_missing(variable, saved=preset is not None))
            continue
        try:
            values[name] = _convert(assignment, variable)
        except (TypeMismatch, ValueError) as exc:
            given_text = assignment.is_text and not variable.sensitive  # never echo a secret
            problems.append(
                Diagnostic(
                    "error",
                    "Invalid value for variable",
                    f'The value of variable "{name}" from {assignment.origin} is not a valid '
                    f"{variable.type}: {exc}"
                    + (f" ({assignment.value!r} was given)." if given_text else "."),
                    # a secret's assignment is never quoted: the error points at its declaration
                    variable.range if variable.sensitive else assignment.range or variable.range,
                )
            )
    if not problems:
        origins = {name: given[name].origin for name in given}
        problems = _failed_validations(config, values, origins)
    if problems:
        raise DiagnosticsError(problems)
    return {
        name: Sensitive(value) if config.variables[name].sensitive else value
        for name, value in values.items()
    }


def _assignments(
    config: Config, inputs: VariableInputs, problems: list[Diagnostic]
) -> dict[str, _Given]:
    """The winning assignment of each variable, lowest precedence read first."""
    environ = os.environ if inputs.environ is None else inputs.environ
    given: dict[str, _Given] = {}
    for name in config.variables:
        if f"{ENV_PREFIX}{name}" in environ:
            text = environ[f"{ENV_PREFIX}{name}"]
            given[name] = _Given(text, True, f"environment variable {ENV_PREFIX}{name}")
    root = Path(config.root)
    files = [("file", str(path)) for path in sorted(root.glob(AUTO_GLOB))]
    for kind, text in [*files, *inputs.cli]:
        if kind == "file":
            path = Path(text) if Path(text).is_absolute() else root / text
            try:
                assignments = read_assignments(path)
            except DiagnosticsError as exc:
                problems.extend(exc.diagnostics)
                continue
            for item in assignments:
                if item.name not in config.variables:
                    problems.append(_undeclared(item.name, config, f"in {path.name}", item.range))
                else:
                    origin = f"{path.name}:{item.range.start.line}"
                    given[item.name] = _Given(item.value, False, origin, item.range)
            continue
        name, sep, value = text.partition("=")
        name = name.strip()
        if not sep or not name:
            problems.append(
                Diagnostic(
                    "error",
                    "Invalid --var option",
                    f"The given --var option {text!r} is not correctly specified. It must be a "
                    "variable name and value separated by an equals sign: --var name=value.",
                )
            )
        elif name not in config.variables:
            problems.append(_undeclared(name, config, "on the command line", None))
        else:
            given[name] = _Given(value, True, "the --var option")
    for name, value in (inputs.values or {}).items():
        if name not in config.variables:
            problems.append(_undeclared(name, config, "in vars=", None))
        else:
            given[name] = _Given(value, False, "vars=")
    return given


def _convert(assignment: _Given, variable: Variable) -> Any:
    value = assignment.value
    if assignment.is_text and is_structural(variable.type):
        stripped = value.strip()
        if variable.type != "any" or stripped[:1] in ("[", "{"):
            value = parse_expression(stripped)
        else:  # untyped: a number or bool when it reads as one, else the text itself
            for candidate in ("number", "bool"):
                try:
                    return convert_value(value, candidate)
                except TypeMismatch:
                    continue
    return convert_value(value, variable.type)


def _failed_validations(
    config: Config, values: dict[str, Any], origins: dict[str, str]
) -> list[Diagnostic]:
    problems: list[Diagnostic] = []
    if not any(variable.validations for variable in config.variables.values()):
        return problems  # the expression evaluator is not imported for nothing
    from zenctl.config.conversions import ConversionError, to_bool
    from zenctl.config.expressions import Scope, evaluate
    from zenctl.config.tree import ExpressionError

    for variable in config.variables.values():
        for validation in variable.validations:
            scope = Scope(reveal(values), dict(validation.locals), Path(config.root))
            try:
                passed = to_bool(evaluate(validation.condition, scope))
            except (ExpressionError, ConversionError) as exc:
                reason = (
                    f"{exc.summary}: {exc.detail}"
                    if isinstance(exc, ExpressionError)
                    else f"the condition must give a bool; {exc}"
                )
                problems.append(
                    Diagnostic(
                        "error",
                        "Invalid validation condition",
                        f'The condition of variable "{variable.name}" could not be evaluated: '
                        f"{reason.rstrip('.')}.",
                        getattr(exc, "range", None) or validation.range,
                    )
                )
                continue
            if not passed:
                problems.append(
                    Diagnostic(
                        "error",
                        "Invalid value for variable",
                        f"{validation.error_message}\n\nThis was checked by the validation rule "
                        f'of variable "{variable.name}", whose value came from '
                        f"{origins.get(variable.name, 'its default')}.",
                        validation.range,
                    )
                )
    return problems


def _undeclared(name: str, config: Config, where: str, at: SourceRange | None) -> Diagnostic:
    close = closest(name, config.variables)
    return Diagnostic(
        "error",
        "Value for undeclared variable",
        f'A variable named "{name}" was assigned {where}, but the configuration does not '
        f'declare it. Declare it with a variable "{name}" block'
        + (f', or did you mean "{close}"?' if close else "."),
        at,
    )


def _missing(variable: Variable, saved: bool) -> Diagnostic:
    name = variable.name
    if saved and variable.sensitive:  # a saved plan holds no secret, and takes no --var
        return Diagnostic(
            "error",
            "No value for sensitive variable",
            f'A saved plan never holds the value of the sensitive variable "{name}", and there '
            "is no terminal to ask on. Give it again, as when the plan was made, with one of:\n"
            f"  the environment variable {ENV_PREFIX}{name}\n"
            f"  a *.auto.zcvars file holding {name} = VALUE",
            variable.range,
        )
    return Diagnostic(
        "error",
        "No value for required variable",
        f'The variable "{name}" has no default and no value was given, and there is no '
        "terminal to ask on. Set it with one of:\n"
        f"  --var {name}=VALUE\n"
        f"  --var-file FILE (or a *.auto.zcvars file) holding {name} = VALUE\n"
        f"  the environment variable {ENV_PREFIX}{name}",
        variable.range,
    )


def evaluate(value: Any, variables: Mapping[str, Any]) -> Any:
    """Substitute `var.NAME` references and evaluate expressions; an expression that reads a
    secret gives a sensitive value. DiagnosticsError, located, when one cannot be evaluated."""
    if isinstance(value, Ref):
        return variables[value.parts[1]]
    if isinstance(value, Expression):
        return _evaluate_expression(value, variables)
    if isinstance(value, list):
        return [evaluate(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: evaluate(item, variables) for key, item in value.items()}
    return value


def step_params(step: Step, variables: Mapping[str, Any]) -> dict[str, Any]:
    """A step's params for this plan; `params = local.settings` gives its keys only now, so
    they are checked here: a map whose keys are names."""
    params = evaluate(step.params, variables)
    if isinstance(params, Sensitive):
        params = params.value if isinstance(params.value, dict) else params
        if isinstance(params, dict):
            params = {key: Sensitive(value) for key, value in params.items()}
    clash = sorted(set(params) & set(step.inputs)) if isinstance(params, dict) else []
    if clash:
        where = step.params.range if isinstance(step.params, Ref) else None
        raise DiagnosticsError(
            [
                Diagnostic(
                    "error",
                    "Input and param share a name",
                    f'Step "{step.name}" passes {", ".join(clash)} both as an input and as a '
                    "param; the function receives both as keyword arguments, so rename one.",
                    where or _params_range(step),
                )
            ]
        )
    if isinstance(params, dict) and all(
        isinstance(key, str) and re.fullmatch(PARAM_NAME, key) for key in params
    ):
        return params
    where = _params_range(step)
    what = (
        "a map whose keys are names (letters, digits, _ and -, not starting with a digit)"
        if isinstance(params, dict)
        else "a map"
    )
    raise DiagnosticsError(
        [
            Diagnostic(
                "error",
                "Incorrect attribute value type",
                f'The params of step "{step.name}" must be {what}.',
                where,
            )
        ]
    )


def _params_range(step: Step) -> SourceRange:
    if isinstance(step.params, Expression):
        return step.params.node.range or step.range
    if isinstance(step.params, Ref):
        return step.params.range or step.range
    return step.range


def _evaluate_expression(expression: Expression, variables: Mapping[str, Any]) -> Any:
    from zenctl.config.expressions import Scope, evaluate_to_python
    from zenctl.config.tree import ExpressionError

    read = {ref.parts[1]: variables[ref.parts[1]] for ref in expression.refs}
    secret = any(isinstance(value, Sensitive) for value in read.values())
    scope = Scope(reveal(read), dict(expression.locals), Path(expression.root))
    try:
        result = evaluate_to_python(expression.node, scope)
    except ExpressionError as exc:
        detail = (
            "This expression cannot be evaluated. It reads a sensitive variable, so the "
            "reason is not shown (it could quote the value)."
            if secret  # the evaluator's message may quote a value
            else exc.detail
        )
        where = exc.range or expression.node.range
        raise DiagnosticsError([Diagnostic("error", exc.summary, detail, where)]) from None
    return Sensitive(result) if secret else result


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
        # commands that evaluate nothing (runs, show) get no values: the default names it
        value = variables.get(pipeline.stack_var, config.variables[pipeline.stack_var].default)
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
