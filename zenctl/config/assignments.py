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


def syntax_diagnostic(filename: str, exc: Exception, text: str) -> Diagnostic:
    """A parse failure from python-hcl2 (lark raises many types; all carry line/column).

    Lark notices an unclosed bracket, string or heredoc only at the end of the file, so zenctl's
    own tokenizer names the one left open first; a position past the end is moved back onto
    the last line."""
    from zenctl.fmt.tokens import OPENERS as CLOSING
    from zenctl.fmt.tokens import FormatError, tokenize

    try:
        tokenize(text)
    except FormatError as unbalanced:
        line, column = unbalanced.line, unbalanced.column
        detail = f"{unbalanced.message[0].upper()}{unbalanced.message[1:]}."
        if "never closed" in unbalanced.message:
            lines = text.split("\n")  # as the tokenizer counts them
            line, column = _unclosed(lines) or (line, column)
            opener = lines[line - 1][column - 1 : column]
            if opener in CLOSING:
                detail = (
                    f"This `{opener}` is never closed: add the `{CLOSING[opener]}` that ends it."
                )
        elif unbalanced.message == "unexpected '}'":
            line, column = _stray_brace(text.split("\n")) or (line, column)
            detail = "This `}` closes nothing: remove it, or add the `{` it was meant to close."
        elif unbalanced.message == "unterminated string":
            detail = 'This string is never closed: add the closing `"` on the same line.'
    else:
        line = int(getattr(exc, "line", 0) or 1)
        column = int(getattr(exc, "column", 0) or 1)
        token = str(getattr(exc, "token", "") or "").strip()
        found = f" near `{token.splitlines()[0]}`" if token else " at the end of the line"
        expected = sorted(getattr(exc, "expected", None) or getattr(exc, "allowed", None) or [])
        hint = "Check for a missing `=`, quote, bracket or closing brace."
        if "RBRACE" in expected and len(expected) < 4:
            hint = "A block seems to be missing its closing brace `}`."
        detail = f"The file could not be parsed{found}. {hint}"
        lines = text.splitlines()
        if line > len(lines):
            line = next((n for n in range(len(lines), 0, -1) if lines[n - 1].strip()), 1)
            column = len(lines[line - 1]) + 1 if lines else 1
    return Diagnostic(
        "error",
        "Invalid HCL syntax",
        detail,
        SourceRange(filename, Position(line, column), Position(line, column + 1)),
    )


def _unclosed(lines: list[str]) -> tuple[int, int] | None:
    """Where the brace a user left out most likely is, where counting alone blames the
    outermost block: a `{` left open inside one line, else the first `{` ending a line whose
    block is not closed by a `}` at that line's indentation."""
    from zenctl.fmt.tokens import FormatError, tokenize

    for number, line in enumerate(lines, 1):
        try:
            tokenize(line)
        except FormatError as exc:
            if "never closed" in exc.message and exc.column < len(line.rstrip()):
                return number, exc.column
    for number, line in enumerate(lines, 1):
        if not line.rstrip().endswith("{"):
            continue
        indent = len(line) - len(line.lstrip())
        after = (text for text in lines[number:] if text.strip())
        closing = next((t for t in after if len(t) - len(t.lstrip()) <= indent), "")
        if not closing.strip().startswith("}") or len(closing) - len(closing.lstrip()) != indent:
            return number, len(line.rstrip())
    return None


def _stray_brace(lines: list[str]) -> tuple[int, int] | None:
    """The first `}` opening a line that closes no `{` ending a line at its indentation: the
    one a user left in, where counting alone blames the last brace of the file."""
    opened: list[int] = []  # the indentation of each line ending with `{`, innermost last
    for number, line in enumerate(lines, 1):
        text = line.strip()
        indent = len(line) - len(line.lstrip())
        column = indent + 1
        while text.startswith("}"):
            if not opened or opened[-1] != indent:
                return number, column
            opened.pop()
            text = text[1:].lstrip()
            column = len(line) - len(text) + 1 if text else column
        if text.endswith("{"):
            opened.append(indent)
    return None


def read_assignments(path: Path) -> list[Assignment]:
    """`name = value` lines of a variables file, with where each one is."""
    from hcl2.api import query

    from zenctl.config.source_checks import value_problems
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

    from zenctl.config.source_checks import value_problems
    from zenctl.config.values import UnsupportedExpression

    try:
        document = query(f"value = {text}\n")  # type: ignore[no-untyped-call]
        (attribute,) = document.attributes()
        problems = value_problems("", attribute.raw)
        if problems:
            raise UnsupportedExpression(problems[0].summary.lower())  # no detail: a secret
        return literal(attribute.value)
    except UnsupportedExpression as exc:
        raise ValueError(str(exc)) from None
    except Exception:
        raise ValueError(
            "it is not a valid HCL value; write lists as [1, 2] and maps as {a = 1}"
        ) from None
