"""Diagnostics: the one shape every user-facing error takes, whichever stage found it.

Modelled on Terraform's: a summary, a detail that says what to do, and where in the source
the problem is. Stages raise; only the CLI renders.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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
