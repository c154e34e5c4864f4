"""Diagnostics in Terraform's shape: summary, location, the source line underlined, detail."""

from __future__ import annotations

import os
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from zenctl.diagnostics import Diagnostic


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
        lines = Path(filename).read_text(errors="replace").splitlines()
    except OSError:
        return None
    return lines[number - 1] if 0 < number <= len(lines) else None
