"""The two consoles: results to stdout, diagnostics and progress to stderr.

rich turns colour off by itself when the output is not a terminal; soft wrapping keeps long
plan lines whole in CI logs instead of folding them at 80 columns. `plain` (`--no-color`, or
NO_COLOR set) prints no escape sequence at all: rich's own NO_COLOR handling drops colours
but keeps bold and underline, and FORCE_COLOR or a terminal would bring them back. A console
reads the environment (NO_COLOR, COLUMNS) when made: the command line makes its two once per
call (zenctl/cli/context.py), never once per process.
"""

from __future__ import annotations

import os

from rich.console import Console


def plain_requested(no_color: bool) -> bool:
    """--no-color, or NO_COLOR set to anything but empty (https://no-color.org)."""
    return no_color or os.environ.get("NO_COLOR", "") != ""


def stdout(plain: bool) -> Console:
    return _console(plain, stderr=False)


def stderr(plain: bool) -> Console:
    return _console(plain, stderr=True)


def _console(plain: bool, stderr: bool) -> Console:
    if plain:  # no colour system: rich renders every style, bold included, as nothing; and
        # not a terminal, whatever FORCE_COLOR says: no live status line moving the cursor
        return Console(
            stderr=stderr,
            highlight=False,
            soft_wrap=True,
            color_system=None,
            force_terminal=False,
        )
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


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
