"""What the command line says about variables: the order of `--var` and `--var-file`, and the
terminal prompt for a required variable nobody set."""

from __future__ import annotations

import functools
import sys
from typing import TYPE_CHECKING

from zenctl.config.model import Variable
from zenctl.config.variables import VariableInputs
from zenctl.diagnostics import UserError

if TYPE_CHECKING:
    from rich.console import Console

_SPELLINGS = {
    f"{dashes}{flag}": kind
    for flag, kind in (("var", "var"), ("var-file", "file"))
    for dashes in ("-", "--")
}


def variable_inputs(
    var: list[str] | None,
    var_file: list[str] | None,
    argv: list[str],
    console: Console | None = None,
) -> VariableInputs:
    """Terraform applies `-var` and `-var-file` in the order they were given, interleaved;
    click keeps each option's values apart, so the order is read back from argv. A required
    variable nobody set is asked for on `console` when there is a terminal."""
    var, var_file = var or [], var_file or []
    found: list[tuple[str, str]] = []
    index = 0
    while index < len(argv):
        flag, sep, value = argv[index].partition("=")
        kind = _SPELLINGS.get(flag)
        if kind is not None and sep:
            found.append((kind, value))
        elif kind is not None and index + 1 < len(argv):
            found.append((kind, argv[index + 1]))
            index += 1
        index += 1
    parsed = [("file", path) for path in var_file] + [("var", text) for text in var]
    in_order = sorted(found) == sorted(parsed)  # anything unusual: files first, then flags
    ask = functools.partial(_prompt, console) if console and sys.stdin.isatty() else None
    return VariableInputs(tuple(found if in_order else parsed), ask=ask)


def _prompt(console: Console, variable: Variable) -> str:
    """Ask as Terraform does; a sensitive variable's input is not echoed."""
    from rich.markup import escape

    console.print(f"[bold]var.{escape(variable.name)}[/]")
    if variable.description:
        console.print(f"  {escape(variable.description)}")
    console.print()
    try:
        return console.input("  Enter a value: ", password=variable.sensitive)
    except EOFError:  # Ctrl-D
        raise UserError(
            f"No value for var.{variable.name}",
            "The input ended before a value was typed. Set it with --var, a --var-file or "
            f"ZENCTL_VAR_{variable.name}.",
        ) from None
