"""Diagnostics: the one shape every user-facing error takes, whichever stage found it.

Modelled on Terraform's: a summary, a detail that says what to do, and where in the source
the problem is. Stages raise; only the CLI renders.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Position:
    line: int
    column: int


@dataclass(frozen=True)
class SourceRange:
    filename: str
    start: Position
    end: Position


def source_lines(text: str) -> list[str]:
    """A file's lines as the parser numbers them: only `\n` ends a line (`str.splitlines`
    also splits at a form feed or U+2028 in a comment, and the lines quoted would drift)."""
    return [line.removesuffix("\r") for line in text.split("\n")]


def find_in(lines: Sequence[str], within: SourceRange, pattern: re.Pattern[str]) -> SourceRange:
    """Where `pattern` first matches on the lines of `within` (its first group, when it has
    one), to point at a name rather than at its whole block; `within` when it does not."""
    for number in range(within.start.line, within.end.line + 1):
        line = lines[number - 1] if number <= len(lines) else ""
        match = pattern.search(line)
        if match:
            start, end = match.span(1 if pattern.groups else 0)
            return SourceRange(
                within.filename, Position(number, start + 1), Position(number, end + 1)
            )
    return within


def close_names(name: str, known: Iterable[str], most: int = 1, cutoff: float = 0.6) -> list[str]:
    """The known names `name` is most likely a typo of, closest first: at most `most`, each
    at least `cutoff` alike (0 to 1; raise it where names share long prefixes)."""
    import difflib

    return difflib.get_close_matches(name, list(known), n=most, cutoff=cutoff)


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name `name` is most likely a typo of, if any is close."""
    match = close_names(name, known)
    return match[0] if match else None


def suggest(name: str, known: Iterable[str]) -> str:
    """` Did you mean "x"?` with the closest known name, for a detail; empty when none is close."""
    match = closest(name, known)
    return f' Did you mean "{match}"?' if match else ""


@dataclass(frozen=True)
class Diagnostic:
    severity: Severity
    summary: str
    detail: str = ""
    range: SourceRange | None = None
    context: str = ""  # e.g. 'in pipeline "iris"', shown beside the location


class DiagnosticsError(Exception):
    """Raised with every diagnostic a stage found, so the user fixes them all in one pass."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__(f"{len(diagnostics)} error(s)")
        self.diagnostics = tuple(diagnostics)


class UserError(Exception):
    """A failure the user can act on (refusal, missing setup): printed as a diagnostic, exit 1."""

    def __init__(self, summary: str, detail: str = "", exit_code: int = 1) -> None:
        super().__init__(summary)
        self.diagnostic = Diagnostic("error", summary, detail)
        self.exit_code = exit_code


def validation_words(error: Mapping[str, Any]) -> str:
    """What one of pydantic's errors says: a validator's ValueError in its own words, without
    pydantic's "Value error, " prefix; pydantic's message otherwise."""
    return str(error["ctx"]["error"]) if error["type"] == "value_error" else str(error["msg"])
