"""HCL syntax errors, located where the problem is.

python-hcl2 (lark) notices an unclosed bracket, string or heredoc only at the end of the file,
and a stray `}` only at the last one; zenctl's own tokenizer (the formatter's) and the
indentation of the lines name the one at fault.
"""

from __future__ import annotations

from typing import Any

from zenctl.diagnostics import Diagnostic, Position, SourceRange, source_lines


def node_range(filename: str, node: Any) -> SourceRange:
    """Where a node of python-hcl2's parse tree stands in its file."""
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
    from zenctl.config.tokens import OPENERS as CLOSING
    from zenctl.config.tokens import FormatError, tokenize

    node = getattr(exc, "obj", None)  # lark's VisitError: python-hcl2 refused a node it built
    if hasattr(node, "meta"):  # e.g. "Unterminated template if directive": no line of its own
        detail = f"The file could not be parsed: {getattr(exc, 'orig_exc', exc)}."
        return Diagnostic("error", "Invalid HCL syntax", detail, node_range(filename, node))
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
        lines = source_lines(text)
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
    from zenctl.config.tokens import FormatError, tokenize

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
