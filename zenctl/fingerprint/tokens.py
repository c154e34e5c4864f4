"""The normal form of a Python file that its code hash is taken over: its tokens.

Standard library only, so that a test can run it under every Python version installed.
"""

from __future__ import annotations

import ast
import io
import tokenize

_SKIPPED = ("ENCODING", "COMMENT", "NL", "ENDMARKER")
_LAYOUT = ("NEWLINE", "INDENT", "DEDENT")
_OPENING, _CLOSING = "([{", ")]}"


def normal_form(source: bytes) -> list[str]:
    """The file's tokens as `KIND text`, the same on every Python version (an AST dump is not:
    its fields change between 3.11, 3.12 and 3.13).

    Comments, blank lines and whitespace between tokens are no tokens; indentation is kept as
    INDENT/DEDENT and the end of a statement as NEWLINE, whatever their spelling; numbers and
    plain string literals are written as `repr` of their value (`0x10` is `16`, `'a'` is
    `"a"`); docstrings are left out.
    """
    tokens = [token for token in _tokens(source) if token[0] not in _SKIPPED]
    form: list[str] = []
    body_starts = True  # where a docstring may stand: a module's start, a def's or class's body
    header, depth = False, 0
    index = 0
    while index < len(tokens):
        kind, text = tokens[index]
        if body_starts and kind not in ("NEWLINE", "INDENT"):
            body_starts = False
            end = index
            while end < len(tokens) and _is_docstring_part(*tokens[end]):
                end += 1
            after = tokens[end] if end < len(tokens) else ("NEWLINE", "")
            if end > index and (after == ("OP", ";") or after[0] == "NEWLINE"):
                # A docstring on its own line goes with its NEWLINE; one after `def f():` on the
                # same line keeps it, or the next line would join the def's body.
                alone = not form or form[-1] == "INDENT"
                index = end + (1 if after[1] == ";" or alone else 0)
                continue
        if kind == "NAME" and text in ("def", "class"):
            header, depth = True, 0
        elif kind == "OP" and header:
            depth += (text in _OPENING) - (text in _CLOSING)
            if text == ":" and depth == 0:
                header, body_starts = False, True
        form.append(kind if kind in _LAYOUT else f"{kind} {_literal(kind, text)}")
        index += 1
    return form


def _tokens(source: bytes) -> list[tuple[str, str]]:
    """`(kind, text)` of each token; an f-string (3.12 splits it into parts) is one STRING."""
    found = list(tokenize.tokenize(io.BytesIO(source).readline))
    lines = io.StringIO(source.decode(found[0].string)).readlines()
    tokens: list[tuple[str, str]] = []
    nesting, start = 0, (0, 0)
    for token in found:
        kind = tokenize.tok_name[token.type]
        if kind.endswith("STRING_START"):
            nesting, start = nesting + 1, start if nesting else token.start
        elif kind.endswith("STRING_END"):
            nesting -= 1
            if not nesting:
                tokens.append(("STRING", _text(lines, start, token.end)))
        elif not nesting:
            tokens.append((kind, token.string))
    return tokens


def _text(lines: list[str], start: tuple[int, int], end: tuple[int, int]) -> str:
    (first, column), (last, end_column) = start, end
    if first == last:
        return lines[first - 1][column:end_column]
    return (
        lines[first - 1][column:] + "".join(lines[first : last - 1]) + lines[last - 1][:end_column]
    )


def _prefix(literal: str) -> str:
    """`rb` of `rb"..."`: the letters before a string literal's quote."""
    return literal[: len(literal) - len(literal.lstrip("bBfFrRtTuU"))].lower()


def _is_docstring_part(kind: str, text: str) -> bool:
    """A plain string literal: with bytes or f-strings, the statement is no docstring."""
    return kind == "STRING" and not set(_prefix(text)) & set("bft")


def _literal(kind: str, text: str) -> str:
    if kind == "NUMBER" or (kind == "STRING" and not set(_prefix(text)) & set("ft")):
        return repr(ast.literal_eval(text))
    return text
