"""Plain HCL assignments: variable files (`*.zcvars`) and structured `--var` values.

Kept apart from the config parser (`hcl.py`) because these are read on every plan (they may
hold secrets, so they are never cached on disk) and must not pull in pydantic; python-hcl2
itself (~45 ms) is imported only when there is something to parse.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zenctl.config.syntax import node_range, syntax_diagnostic
from zenctl.diagnostics import Diagnostic, DiagnosticsError, SourceRange

if TYPE_CHECKING:
    from zenctl.config.lowering import Marks


@dataclass(frozen=True, slots=True)
class Assignment:
    name: str
    value: Any
    range: SourceRange


def read_assignments(path: Path) -> list[Assignment]:
    """`name = value` lines of a variables file, with where each one is."""
    from zenctl.config.lowering import parse_document
    from zenctl.config.source_checks import value_problems
    from zenctl.config.tree import ExpressionError

    filename = str(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise DiagnosticsError(
            [
                Diagnostic(
                    "error",
                    "Failed to read variables file",
                    f"Given variables file {path} does not exist or cannot be read "
                    f"({exc.strerror}).",
                )
            ]
        ) from None
    try:
        document, marks = parse_document(text)
    except Exception as exc:  # lark raises many types; all carry a position
        raise DiagnosticsError([syntax_diagnostic(filename, exc, text)]) from None
    problems = [
        Diagnostic(
            "error",
            "Unexpected block in variables file",
            "A variables file holds `name = value` assignments only.",
            node_range(filename, block.raw),
        )
        for block in document.blocks()
    ]
    assignments: list[Assignment] = []
    for attribute in document.attributes():
        where = node_range(filename, attribute.raw)
        found = value_problems(filename, attribute.raw)
        if found:
            problems += found
            continue
        try:
            value = literal(attribute.value_node.raw, filename, marks)
        except ExpressionError as exc:
            problems.append(Diagnostic("error", exc.summary, exc.detail, exc.range or where))
            continue
        assignments.append(Assignment(attribute.name, value, where))
    if problems:
        raise DiagnosticsError(problems)
    return assignments


def literal(rule: Any, filename: str, marks: Marks) -> Any:
    """The value of an expression that reads no variable (variable values are constants:
    `[for n in range(3) : n * 2]` is one, `var.x` is not). ExpressionError otherwise."""
    from zenctl.config.lowering import Lowering
    from zenctl.config.values import Values

    return Values(".").value(Lowering(filename, marks=marks).lower(rule), references=False)


def parse_expression(text: str) -> Any:
    """A structured value given as text, `[64, 32]` or `{a = 1}`; ValueError when it is not."""
    from zenctl.config.lowering import NotOneExpression, parse_value
    from zenctl.config.source_checks import value_problems
    from zenctl.config.tree import ExpressionError

    try:
        rule, marks = parse_value(text)
    except NotOneExpression:
        raise ValueError(
            "it is not a valid HCL value; write lists as [1, 2] and maps as {a = 1}"
        ) from None
    problems = value_problems("", rule)
    if problems:
        raise ValueError(problems[0].summary.lower())  # no detail: it could quote a secret
    try:
        return literal(rule, "", marks)
    except ExpressionError as exc:
        raise ValueError(exc.summary.lower()) from None
