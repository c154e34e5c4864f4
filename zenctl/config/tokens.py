"""A tokenizer for HCL 2 that keeps what a formatter must give back unchanged.

The config stage's lexical layer: syntax errors are located with it, heredocs are scanned with
it, and `zenctl fmt` (zenctl/fmt/) formats its tokens. Comments and newlines are tokens of
their own, and each string (with its `${...}` and
`%{...}` sequences), heredoc or comment is one opaque token, so the formatter can move tokens
around without ever looking inside them.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

OPENERS = {"{": "}", "[": "]", "(": ")"}
CLOSERS = {close: open_ for open_, close in OPENERS.items()}

# Longest first, so that `...` wins over `.` and `=>` over `=`.
_PUNCTUATION = ("...", "::", "==", "!=", "<=", ">=", "&&", "||", "=>", *"{}[]()=,.:?+-*/%<>!")
_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_IDENT = re.compile(r"[^\W\d][\w-]*")
_HEREDOC = re.compile(r"<<-?([^\W\d][\w-]*)[ \t]*\n")
_SPACE = re.compile(r"[ \t\r]+")
_PLAIN_STRING = re.compile(r'"[^"\\\n$%]*"')  # no escape, sequence or marker: ends at its quote
_PUNCT_SET = frozenset(_PUNCTUATION)


class FormatError(ValueError):
    """The input is not valid HCL: formatting it would only produce garbage.

    `line` and `column` are 1-based; `path` is set by `format_paths` to name the file.
    """

    def __init__(self, message: str, line: int, column: int, path: Path | None = None) -> None:
        super().__init__(message, line, column)
        self.message = message
        self.line = line
        self.column = column
        self.path = path

    def __str__(self) -> str:
        where = f"{self.path}:" if self.path else "line "
        return f"{where}{self.line}:{self.column}: {self.message}"


class Kind(Enum):
    IDENT = "ident"
    NUMBER = "number"
    STRING = "string"
    HEREDOC = "heredoc"
    COMMENT = "comment"
    PUNCT = "punct"
    NEWLINE = "newline"


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    text: str
    line: int
    column: int

    def is_punct(self, *texts: str) -> bool:
        return self.kind is Kind.PUNCT and self.text in texts


def tokenize(text: str) -> list[Token]:
    """The tokens of `text`; raises FormatError for what cannot be tokenized or is unbalanced."""
    return _Lexer(text).run()


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.tokens: list[Token] = []

    def where(self, offset: int) -> tuple[int, int]:
        index = bisect.bisect_right(self.line_starts, offset) - 1
        return index + 1, offset - self.line_starts[index] + 1

    def error(self, message: str, offset: int) -> FormatError:
        return FormatError(message, *self.where(offset))

    def add(self, kind: Kind, text: str, offset: int) -> None:
        self.tokens.append(Token(kind, text, *self.where(offset)))

    def run(self) -> list[Token]:
        text = self.text
        pos = 0
        while pos < len(text):
            ch = text[pos]
            if ch in " \t\r":
                pos = _SPACE.match(text, pos).end()  # type: ignore[union-attr]
            elif ch == "\n":
                self.add(Kind.NEWLINE, ch, pos)
                pos += 1
            elif ch == "#" or text.startswith("//", pos):
                end = text.find("\n", pos)
                end = len(text) if end < 0 else end
                self.add(Kind.COMMENT, text[pos:end].rstrip(), pos)
                pos = end
            elif text.startswith("/*", pos):
                end = text.find("*/", pos + 2)
                if end < 0:
                    raise self.error("unterminated /* comment", pos)
                lines = text[pos : end + 2].split("\n")
                self.add(Kind.COMMENT, "\n".join(line.rstrip() for line in lines), pos)
                pos = end + 2
            elif ch == '"':
                plain = _PLAIN_STRING.match(text, pos)
                end = plain.end() if plain else self.string_end(pos)
                self.add(Kind.STRING, text[pos:end], pos)
                pos = end
            elif text.startswith("<<", pos):
                end = self.heredoc_end(pos)
                self.add(Kind.HEREDOC, text[pos:end], pos)
                pos = end
            elif match := _NUMBER.match(text, pos) or _IDENT.match(text, pos):
                kind = Kind.IDENT if match.re is _IDENT else Kind.NUMBER
                self.add(kind, match.group(), pos)
                pos = match.end()
            else:
                # Longest first, so that `...` wins over `.` and `=>` over `=`.
                punct = next(
                    (p for n in (3, 2, 1) if (p := text[pos : pos + n]) in _PUNCT_SET), None
                )
                if punct is None:
                    raise self.error(f"unexpected character {ch!r}", pos)
                self.add(Kind.PUNCT, punct, pos)
                pos += len(punct)
        self.check_brackets()
        return self.tokens

    def string_end(self, start: int) -> int:
        """Offset just past the quote closing the string that opens at `start`."""
        text = self.text
        pos = start + 1
        while pos < len(text):
            ch = text[pos]
            if ch == "\\":
                pos += 2
            elif ch == '"':
                return pos + 1
            elif ch == "\n":
                break
            elif text.startswith(("$${", "%%{"), pos):  # escaped: literal text
                pos += 3
            elif text.startswith(("${", "%{"), pos):
                pos = self.sequence_end(pos + 2, start)
            else:
                pos += 1
        raise self.error("unterminated string", start)

    def sequence_end(self, pos: int, string_start: int) -> int:
        """Offset just past the `}` that closes a `${` or `%{` sequence; it may nest strings."""
        text = self.text
        depth = 0
        while pos < len(text):
            ch = text[pos]
            if ch == '"':
                pos = self.string_end(pos)
                continue
            if ch == "{":
                depth += 1
            elif ch == "}":
                if depth == 0:
                    return pos + 1
                depth -= 1
            pos += 1
        raise self.error("unterminated ${ ... } sequence in string", string_start)

    def heredoc_end(self, start: int) -> int:
        """Offset just past the closing marker of the heredoc that opens at `start`."""
        text = self.text
        match = _HEREDOC.match(text, start)
        if match is None:
            raise self.error("a heredoc opens with <<MARKER or <<-MARKER alone on its line", start)
        marker = match.group(1)
        pos = match.end()
        while pos < len(text):
            end = text.find("\n", pos)
            end = len(text) if end < 0 else end
            line = text[pos:end]
            if line.strip() == marker:
                return pos + line.index(marker) + len(marker)
            pos = end + 1
        raise self.error(f"heredoc <<{marker} has no closing {marker} line", start)

    def check_brackets(self) -> None:
        # Checked here rather than left to the parser to point at the bracket that is at fault.
        stack: list[Token] = []
        for token in self.tokens:
            if token.is_punct(*OPENERS):
                stack.append(token)
            elif token.is_punct(*CLOSERS):
                if not stack:
                    raise FormatError(f"unexpected {token.text!r}", token.line, token.column)
                opener = stack.pop()
                if OPENERS[opener.text] != token.text:
                    raise FormatError(
                        f"{token.text!r} does not close the {opener.text!r} opened at line "
                        f"{opener.line}",
                        token.line,
                        token.column,
                    )
        if stack:
            opener = stack[-1]
            raise FormatError(
                f"{opener.text!r} is never closed (expected {OPENERS[opener.text]!r})",
                opener.line,
                opener.column,
            )
