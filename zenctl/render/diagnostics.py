"""Diagnostics in Terraform's shape: summary, location, the source line underlined, detail."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from zenctl.diagnostics import Diagnostic, Position, source_lines


def display_path(filename: str, root: Path | None = None) -> str:
    """A file as people read it: relative to the current folder, else to the project folder
    (as Terraform shows paths under -chdir), else absolute."""
    for base in (Path.cwd(), root):
        if base is None:
            continue
        try:
            relative = os.path.relpath(filename, base)
        except ValueError:
            continue
        if not relative.startswith(".."):
            return relative
    return filename


def render_diagnostic(console: Console, diagnostic: Diagnostic, root: Path | None = None) -> None:
    colour = "red" if diagnostic.severity == "error" else "yellow"
    label = "Error" if diagnostic.severity == "error" else "Warning"
    bar = f"[{colour}]│[/]"
    console.print(f"[{colour}]╷[/]")
    console.print(f"{bar} [bold {colour}]{label}:[/] [bold]{escape(diagnostic.summary)}[/]")
    where = diagnostic.range
    if where is not None and where.filename != "(built-in)":
        console.print(bar)
        context = f", {escape(diagnostic.context)}" if diagnostic.context else ""
        console.print(
            f"{bar}   on {escape(display_path(where.filename, root))} "
            f"line {where.start.line}{context}:"
        )
        line = _source_line(where.filename, where.start.line)
        if line is not None:
            prefix = f"{where.start.line}: "
            console.print(f"{bar}   {prefix}{escape(line)}")
            width = (
                where.end.column - where.start.column
                if where.end.line == where.start.line and where.end.column > where.start.column
                else max(1, len(line.rstrip()) - where.start.column + 1)
            )
            console.print(
                f"{bar}   {' ' * (len(prefix) + where.start.column - 1)}[{colour}]{'^' * width}[/]"
            )
    if diagnostic.detail:
        console.print(bar)
        for line in diagnostic.detail.splitlines():
            console.print(f"{bar} {escape(line)}")
    console.print(f"[{colour}]╵[/]")


def _source_line(filename: str, number: int) -> str | None:
    try:
        lines = source_lines(Path(filename).read_text(errors="replace"))
    except OSError:
        return None
    return lines[number - 1] if 0 < number <= len(lines) else None


VALIDATE_FORMAT_VERSION = "1.0"


def validate_document(diagnostics: Sequence[Diagnostic], root: Path) -> dict[str, Any]:
    """`validate --json` in Terraform's shape (specs/validate.schema.json), so editors and CI
    annotators that read `terraform validate -json` read ours too. File names are relative to
    the project folder, as Terraform's are to the module folder."""
    errors = sum(1 for d in diagnostics if d.severity == "error")
    return {
        "format_version": VALIDATE_FORMAT_VERSION,
        "valid": errors == 0,
        "error_count": errors,
        "warning_count": len(diagnostics) - errors,
        "diagnostics": [_diagnostic_entry(d, root) for d in diagnostics],
    }


def _diagnostic_entry(diagnostic: Diagnostic, root: Path) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "severity": diagnostic.severity,
        "summary": diagnostic.summary,
        "detail": diagnostic.detail,
    }
    where = diagnostic.range
    if where is not None and where.filename != "(built-in)":
        path = Path(where.filename)
        lines = _lines(path)
        entry["range"] = {
            "filename": os.path.relpath(path, root) if path.is_absolute() else where.filename,
            "start": _position(where.start, lines),
            "end": _position(where.end, lines),
        }
    return entry


def _lines(path: Path) -> list[bytes] | None:
    try:
        return path.read_bytes().splitlines(keepends=True)
    except OSError:
        return None


def _position(position: Position, lines: list[bytes] | None) -> dict[str, int]:
    """Line and column (1-based, in characters) and, when the file is readable, Terraform's
    0-based byte offset."""
    found = {"line": position.line, "column": position.column}
    if lines is not None and 0 < position.line <= len(lines):
        before = sum(len(line) for line in lines[: position.line - 1])
        text = lines[position.line - 1].decode("utf-8", errors="replace")
        found["byte"] = before + len(text[: position.column - 1].encode())
    return found
