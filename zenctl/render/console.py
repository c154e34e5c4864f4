"""The two consoles: results to stdout, diagnostics and progress to stderr.

rich turns colour off by itself when the output is not a terminal or NO_COLOR is set; soft
wrapping keeps long plan lines whole in CI logs instead of folding them at 80 columns. A
console reads the environment (NO_COLOR, COLUMNS) when made: the command line makes its two
once per call (zenctl/cli/context.py), never once per process.
"""

from __future__ import annotations

from rich.console import Console


def stdout() -> Console:
    return Console(highlight=False, soft_wrap=True)


def stderr() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def byte_size(count: int) -> str:
    """A size for people: `512 B`, `1.5 KiB`, `12.0 MiB`."""
    if count < 1024:
        return f"{count} B"
    value = count / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
