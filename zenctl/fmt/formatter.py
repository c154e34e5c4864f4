"""Canonical style for `*.zc.hcl` files, the style `terraform fmt` gives `*.tf` files.

python-hcl2 drops comments when it writes HCL back, so this works on tokens instead: each line
keeps its tokens and is re-indented, re-spaced and aligned with its neighbours; strings,
heredocs and comments are opaque tokens and come back byte for byte. Lines are never split or
joined, so the output reads like the input, only tidier.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from zenctl.config.tokens import CLOSERS, OPENERS, FormatError, Kind, Token, tokenize

INDENT = "  "
# Words that are keywords only directly inside the brackets of a for expression.
_FOR_KEYWORDS = frozenset({"in", "if"})
_OPERAND_KINDS = frozenset({Kind.IDENT, Kind.NUMBER, Kind.STRING, Kind.HEREDOC})


@dataclass(frozen=True)
class FormatResult:
    """One file before and after formatting, for `fmt`, `fmt --check` and `fmt --diff`."""

    path: Path
    original: str
    formatted: str

    @property
    def changed(self) -> bool:
        return self.original != self.formatted

    def unified_diff(self) -> str:
        name = self.path.name
        diff = difflib.unified_diff(
            self.original.splitlines(keepends=True),
            self.formatted.splitlines(keepends=True),
            f"a/{name}",
            f"b/{name}",
        )
        return "".join(_terminated(diff))


def format_paths(paths: list[Path]) -> list[FormatResult]:
    """Format each file in memory; the caller decides whether to write, check or diff.

    Raises FormatError, with its `path` set, for the first file that is not valid HCL.
    """
    results = []
    for path in paths:
        data = path.read_bytes()
        try:
            original = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
            raise FormatError("the file is not valid UTF-8", line, column, path) from None
        try:
            formatted = format_source(original)
        except FormatError as exc:
            exc.path = path
            raise
        results.append(FormatResult(path, original, formatted))
    return results


def format_source(text: str) -> str:
    """`text` in canonical style; raises FormatError when it is not valid HCL.

    Idempotent: formatting the result again changes nothing.
    """
    text = text.replace("\r\n", "\n")
    tokens = tokenize(text)
    _check_syntax(text)
    lines = _split_lines(tokens)
    _indent(lines)
    _space(lines)
    return _render(_blank_lines(lines))


def _check_syntax(text: str) -> None:
    # The tokenizer catches unbalanced brackets and unterminated strings; the parser catches
    # everything else (a missing `=`, a stray token) before it could be re-emitted as garbage.
    # the loader's own reading: strip markers in a quoted string's `${~ x ~}` are valid HCL
    # that python-hcl2 alone refuses
    from zenctl.config.fastparse import parse
    from zenctl.config.lowering import hide_strip_markers

    try:
        parse(hide_strip_markers(text)[0])
    except Exception as exc:  # lark raises several types; all carry line and column
        token = getattr(exc, "token", None)
        if token is None:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        elif getattr(token, "type", "") == "$END":
            message = "unexpected end of file"
        else:
            message = f"unexpected {str(token).splitlines()[0]!r}"
        line = max(int(getattr(exc, "line", 1) or 1), 1)
        column = max(int(getattr(exc, "column", 1) or 1), 1)
        raise FormatError(message, line, column) from exc


@dataclass
class _Line:
    tokens: list[Token]
    indent: int = 0
    opens: bool = False  # leaves one more level of indentation open
    closes_first: bool = False  # starts with a closing bracket
    ends_block: bool = False  # closes the body of a multi-line block
    header: bool = False  # `kind "label" {`, opening a multi-line block
    spaced: list[bool] = field(default_factory=list)  # spaced[i]: a space before tokens[i]

    @property
    def comment_only(self) -> bool:
        return len(self.tokens) == 1 and self.tokens[0].kind is Kind.COMMENT


@dataclass
class _Open:
    indented: bool = False
    block: bool = False


def _split_lines(tokens: list[Token]) -> list[_Line]:
    lines = [_Line([])]
    for token in tokens:
        if token.kind is Kind.NEWLINE:
            lines.append(_Line([]))
        else:
            lines[-1].tokens.append(token)
    return lines


def _indent(lines: list[_Line]) -> None:
    """One level per line that leaves brackets open, however many it opens, like Terraform.

    Closing brackets at the start of a line dedent that line itself; only the innermost
    bracket a line leaves open counts, so `[{` ... `}, {` ... `}]` stays at one level.
    """
    stack: list[_Open] = []
    for line in lines:
        tokens = line.tokens
        first = 0
        while first < len(tokens) and tokens[first].is_punct(*CLOSERS):
            closed = stack.pop()
            line.ends_block |= closed.block
            first += 1
        line.closes_first = first > 0
        line.indent = sum(level.indented for level in stack)
        low = len(stack)
        for token in tokens[first:]:
            if token.is_punct(*OPENERS):
                stack.append(_Open())
            elif token.is_punct(*CLOSERS):
                stack.pop()
                low = min(low, len(stack))
        if len(stack) > low:
            line.opens = stack[-1].indented = True
            line.header = stack[-1].block = _is_block_header(tokens)


def _is_block_header(tokens: list[Token]) -> bool:
    if tokens and tokens[-1].kind is Kind.COMMENT:
        tokens = tokens[:-1]
    return (
        len(tokens) >= 2
        and tokens[0].kind is Kind.IDENT
        and tokens[-1].is_punct("{")
        and all(token.kind in (Kind.IDENT, Kind.STRING) for token in tokens[1:-1])
    )


def _space(lines: list[_Line]) -> None:
    """Decide the single spaces between the tokens of each line."""
    in_for: list[bool] = []  # per open bracket: it holds a for expression
    fresh = False  # a bracket was just opened; its first token tells whether it is a `for`
    for line in lines:
        tokens = line.tokens
        keyword = [False] * len(tokens)
        line.spaced = [False] * len(tokens)
        for i, token in enumerate(tokens):
            if fresh and token.kind is not Kind.COMMENT:
                in_for[-1] = token.kind is Kind.IDENT and token.text == "for"
                fresh = False
            keyword[i] = (
                token.kind is Kind.IDENT
                and token.text in _FOR_KEYWORDS
                and bool(in_for)
                and in_for[-1]
            )
            if i:
                line.spaced[i] = _spaced(tokens, keyword, i)
            if token.is_punct(*OPENERS):
                in_for.append(False)
                fresh = True
            elif token.is_punct(*CLOSERS):
                in_for.pop()
                fresh = False


def _spaced(tokens: list[Token], keyword: list[bool], i: int) -> bool:
    """Whether tokens[i] is separated from tokens[i - 1] by a space, the way Terraform spaces."""
    prev, token = tokens[i - 1], tokens[i]
    if Kind.COMMENT in (prev.kind, token.kind):
        return True
    if token.is_punct(",", "..."):
        return False
    if prev.is_punct(","):
        return True
    if prev.is_punct(".", "::") or token.is_punct(".", "::"):
        return False
    if prev.is_punct("{"):
        return not token.is_punct("}")  # `{ a = 1 }` but `{}`
    if token.is_punct("}"):
        return True
    if prev.is_punct("(", "[") or token.is_punct(")", "]"):
        return False
    callee = prev.kind is Kind.IDENT and not keyword[i - 1]
    if token.is_punct("(") and callee:  # a function call
        return False
    if token.is_punct("[") and (callee or prev.is_punct(")", "]", "}")):  # an index
        return False
    if prev.is_punct("!"):
        return False
    if prev.is_punct("-"):  # negation is glued to its operand, subtraction is not
        return i > 1 and _ends_operand(tokens[i - 2], keyword[i - 2])
    return True


def _ends_operand(token: Token, keyword: bool) -> bool:
    if token.kind in _OPERAND_KINDS:
        return not keyword
    return token.is_punct(")", "]", "}")


def _blank_lines(lines: list[_Line]) -> list[_Line | None]:
    """The lines to print, None for a blank line.

    Several blank lines become one; none is kept at either end of the file, after a line that
    opens an indentation level or before a line that closes one; a multi-line block (with the
    comments just above it) is set apart from its siblings by one blank line.
    """
    block_starts = set()  # a block's leading comments belong to it: the blank goes above them
    for index, line in enumerate(lines):
        if line.header:
            start = index
            while start > 0 and lines[start - 1].comment_only:
                start -= 1
            block_starts.add(start)
    out: list[_Line | None] = []
    previous: _Line | None = None
    blank = False
    for index, line in enumerate(lines):
        if not line.tokens:
            blank = True
            continue
        separated = blank or index in block_starts or (previous is not None and previous.ends_block)
        if separated and previous is not None and not previous.opens and not line.closes_first:
            out.append(None)
        out.append(line)
        previous = line
        blank = False
    return out


def _render(lines: list[_Line | None]) -> str:
    """Print the lines, aligning `=` and then end-of-line comments over runs of lines.

    A run is consecutive lines that each hold a one-line attribute (or a trailing comment);
    anything else, a blank line included, ends it, as in Terraform.
    """
    leads: list[str | None] = []
    codes: list[str] = []
    comments: list[str | None] = []
    for line in lines:
        if line is None:
            leads.append(None)
            codes.append("")
            comments.append(None)
            continue
        end = len(line.tokens)
        comment = None
        if end > 1 and line.tokens[-1].kind is Kind.COMMENT:
            end -= 1
            comment = line.tokens[-1].text
        indent = INDENT * line.indent
        equals = _assignment(line, end)
        if equals is None:
            leads.append(None)
            codes.append(indent + _join(line, 0, end))
        else:
            leads.append(indent + _join(line, 0, equals))
            codes.append(_join(line, equals, end))
        comments.append(comment)

    for start, stop in _runs(leads):
        width = max(_width(lead) for lead in leads[start:stop] if lead is not None)
        for i in range(start, stop):
            lead = leads[i]
            assert lead is not None  # _runs only spans lines that have one
            codes[i] = lead + " " * (width - _width(lead) + 1) + codes[i]

    for start, stop in _runs(comments):
        width = max(_width(code) for code in codes[start:stop])
        for i in range(start, stop):
            codes[i] += " " * (width - _width(codes[i]) + 1) + str(comments[i])

    return "".join(code + "\n" for code in codes)


def _assignment(line: _Line, end: int) -> int | None:
    """The index of the `=` of a one-line attribute, None when the line is something else."""
    if line.closes_first:
        return None
    depth = 0
    equals = None
    for i, token in enumerate(line.tokens[:end]):
        if token.is_punct(*OPENERS):
            depth += 1
        elif token.is_punct(*CLOSERS):
            depth -= 1
        elif equals is None and i > 0 and depth == 0 and token.is_punct("="):
            equals = i
    return equals if depth == 0 else None


def _join(line: _Line, start: int, stop: int) -> str:
    parts: list[str] = []
    for i in range(start, stop):
        if i > start and line.spaced[i]:
            parts.append(" ")
        parts.append(line.tokens[i].text)
    return "".join(parts)


def _runs(cells: list[str | None]) -> Iterator[tuple[int, int]]:
    """The [start, stop) spans of consecutive cells that are not None."""
    start = None
    for i, cell in enumerate([*cells, None]):
        if cell is None and start is not None:
            yield start, i
            start = None
        elif cell is not None and start is None:
            start = i


def _width(text: str) -> int:
    # A multi-line token (block comment, heredoc) only makes its last line longer.
    return len(text.rsplit("\n", 1)[-1])


def _terminated(diff: Iterator[str]) -> Iterator[str]:
    """Diff lines, each ending in a newline, with git's marker where the file lacks one."""
    for line in diff:
        if line.endswith("\n"):
            yield line
        else:
            yield line + "\n"
            yield "\\ No newline at end of file\n"
