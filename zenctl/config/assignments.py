"""Plain HCL assignments: variable files (`*.zcvars`) and structured `--var` values.

Kept apart from the config parser (`hcl.py`) because these are read on every plan (they may
hold secrets, so they are never cached on disk) and must not pull in pydantic; python-hcl2
itself (~45 ms) is imported only when there is something to parse.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zenctl.diagnostics import Diagnostic, DiagnosticsError, Position, SourceRange


@dataclass(frozen=True, slots=True)
class Assignment:
    name: str
    value: Any
    range: SourceRange


def node_range(filename: str, node: Any) -> SourceRange:
    meta = node._meta
    return SourceRange(
        filename,
        Position(getattr(meta, "line", 1), getattr(meta, "column", 1)),
        Position(getattr(meta, "end_line", 1), getattr(meta, "end_column", 1)),
    )


def syntax_diagnostic(filename: str, exc: Exception) -> Diagnostic:
    """A parse failure from python-hcl2 (lark raises many types; all carry line/column)."""
    node = getattr(exc, "obj", None)  # lark's VisitError: python-hcl2 refused a node it built
    if hasattr(node, "meta"):  # e.g. "Unterminated template if directive": no line of its own
        detail = f"The file could not be parsed: {getattr(exc, 'orig_exc', exc)}."
        return Diagnostic("error", "Invalid HCL syntax", detail, node_range(filename, node))
    line = int(getattr(exc, "line", 0) or 1)
    column = int(getattr(exc, "column", 0) or 1)
    token = str(getattr(exc, "token", "") or "").strip()
    found = f" near `{token.splitlines()[0]}`" if token else " at the end of the line"
    expected = sorted(getattr(exc, "expected", None) or getattr(exc, "allowed", None) or [])
    hint = "Check for a missing `=`, quote, bracket or closing brace."
    if "RBRACE" in expected and len(expected) < 4:
        hint = "A block seems to be missing its closing brace `}`."
    return Diagnostic(
        "error",
        "Invalid HCL syntax",
        f"The file could not be parsed{found}. {hint}",
        SourceRange(filename, Position(line, column), Position(line, column + 1)),
    )


def read_assignments(path: Path) -> list[Assignment]:
    """`name = value` lines of a variables file, with where each one is."""
    from hcl2.api import query

    from zenctl.config.values import UnsupportedExpression

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
        document = query(text)  # type: ignore[no-untyped-call]
    except Exception as exc:
        raise DiagnosticsError([syntax_diagnostic(filename, exc)]) from None
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
        try:
            assignments.append(Assignment(attribute.name, literal(attribute.value), where))
        except UnsupportedExpression as exc:
            problems.append(Diagnostic("error", "Variables not allowed", str(exc), where))
    if problems:
        raise DiagnosticsError(problems)
    return assignments


def literal(raw: Any) -> Any:
    """A serialized HCL value with no references in it (variable values are literals)."""
    from zenctl.config.values import UnsupportedExpression, convert, references

    value = convert(raw)
    if references(value):
        raise UnsupportedExpression(
            "A variable value must be a literal (string, number, bool, list or map); it "
            "cannot reference other values."
        )
    return value


def parse_expression(text: str) -> Any:
    """A structured value given as text, `[64, 32]` or `{a = 1}`; ValueError when it is not."""
    from hcl2.api import query

    from zenctl.config.values import UnsupportedExpression

    try:
        document = query(f"value = {text}\n")  # type: ignore[no-untyped-call]
        (attribute,) = document.attributes()
        return literal(attribute.value)
    except UnsupportedExpression as exc:
        raise ValueError(str(exc)) from None
    except Exception:
        raise ValueError(
            "it is not a valid HCL value; write lists as [1, 2] and maps as {a = 1}"
        ) from None
