"""The results table, printed with rich and written as markdown.

Both renderings come from the same rows so the console and ``results.md`` (pasted into
docs/benchmarks.md) can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from measure import Cell, Figure, ratio
from rich.console import Console
from rich.table import Table
from rich.text import Text


@dataclass(frozen=True)
class Target:
    """A figure zenctl should reach, and how to tell whether this run reached it.

    ``met`` sees zenctl's figure and the whole row, for targets stated against a peer.
    """

    text: str
    met: Callable[[Figure, Mapping[str, Cell]], bool]

    def verdict(self, row_cells: Mapping[str, Cell]) -> str:
        """``"< 0.5 s: met"`` / ``"…: missed"``, or just the text when zenctl has no figure."""
        zen = row_cells.get("zenctl")
        if not isinstance(zen, Figure):
            return self.text
        return f"{self.text}: {'met' if self.met(zen, row_cells) else 'missed'}"


@dataclass
class Row:
    """One line of the table: a workload and each tool's median (or why there is none)."""

    workload: str
    cells: dict[str, Cell] = field(default_factory=dict)
    target: Target | None = None


def columns(peers: Sequence[str]) -> list[str]:
    """Header: workload, zenctl, then each peer with its ratio, then the target."""
    head = ["workload", "zenctl"]
    for peer in peers:
        head += [peer, f"zenctl vs {peer}"]
    return [*head, "target"]


def cells(row: Row, peers: Sequence[str]) -> list[str]:
    """One row as strings in :func:`columns` order; a missing peer figure reads ``n/a``."""
    zen = row.cells.get("zenctl", "n/a")
    out = [row.workload, str(zen)]
    for peer in peers:
        other = row.cells.get(peer, "n/a")
        out += [str(other), ratio(zen, other)]
    return [*out, row.target.verdict(row.cells) if row.target else ""]


def print_table(console: Console, rows: Sequence[Row], peers: Sequence[str]) -> None:
    """The rich table for the terminal."""
    table = Table(title="zenctl benchmark (medians)", show_lines=False)
    for i, name in enumerate(columns(peers)):
        table.add_column(name, justify="left" if i == 0 or name == "target" else "right")
    for row in rows:
        table.add_row(*(Text(cell) for cell in cells(row, peers)))  # no markup in cells
    console.print(table)


def markdown(rows: Sequence[Row], peers: Sequence[str]) -> str:
    """The same table as GitHub markdown."""
    head = columns(peers)
    lines = [
        "| " + " | ".join(head) + " |",
        "|"
        + "|".join("---" if i == 0 or h == "target" else "--:" for i, h in enumerate(head))
        + "|",
    ]
    lines += [
        "| " + " | ".join(c.replace("|", "\\|") for c in cells(row, peers)) + " |" for row in rows
    ]
    return "\n".join(lines) + "\n"


def write_results(
    path: Path,
    machine: Sequence[tuple[str, str]],
    command: str,
    rows: Sequence[Row],
    peers: Sequence[str],
) -> None:
    """``results.md``: machine, command and table, ready to paste into the docs."""
    parts = [f"- {key}: {value}" for key, value in machine]
    text = "\n".join([*parts, f"- Command: `{command}`", "", markdown(rows, peers)])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
