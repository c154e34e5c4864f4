"""The options several commands share, declared once, and the checks of their values.

Every option has Terraform's single-dash spelling (`-auto-approve`) beside the double-dash one
(`--auto-approve`). A repeatable option names its metavar (TEXT): typer 0.26+ would print its
Python type (`<list[str]>`). Only typer is imported here: every command module imports this
one, and `zenctl --help` must stay fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from zenctl.diagnostics import UserError

Chdir = Annotated[
    Path | None,
    typer.Option(
        "--chdir",
        "-C",
        "-chdir",
        help="Project folder (default: the current one).",
        show_default=False,
    ),
]
Vars = Annotated[
    list[str] | None,
    typer.Option(
        "--var",
        "-var",
        metavar="TEXT",
        help="Set a variable: --var name=value (repeatable).",
        show_default=False,
    ),
]
VarFiles = Annotated[
    list[str] | None,
    typer.Option(
        "--var-file",
        "-var-file",
        metavar="TEXT",
        help="Set variables from an HCL file of name = value lines (repeatable).",
        show_default=False,
    ),
]
Targets = Annotated[
    list[str] | None,
    typer.Option(
        "--target",
        "-target",
        metavar="TEXT",
        help="Plan only this step, deployment, stack resource or pipeline.NAME, and what it "
        "needs (repeatable).",
        show_default=False,
    ),
]
Excludes = Annotated[
    list[str] | None,
    typer.Option(
        "--exclude",
        "-exclude",
        metavar="TEXT",
        help="Plan everything but this step, deployment, stack resource or pipeline.NAME, and "
        "what depends on it (repeatable).",
        show_default=False,
    ),
]
Replace = Annotated[
    list[str] | None,
    typer.Option(
        "--replace",
        "-replace",
        metavar="TEXT",
        help="Run this step even if it is cached (repeatable).",
        show_default=False,
    ),
]
Json = Annotated[bool, typer.Option("--json", "-json", help="Print machine-readable JSON.")]
Markdown = Annotated[
    bool,
    typer.Option("--md", "-md", help="Print a markdown table (as the pull-request comment does)."),
]
DetailedExitcode = Annotated[
    bool,
    typer.Option(
        "--detailed-exitcode",
        "-detailed-exitcode",
        help="Exit 0 when there is nothing to do, 2 when there are changes, 1 on error.",
    ),
]
Refresh = Annotated[
    str,
    typer.Option(
        "--refresh",
        "-refresh",
        metavar="BOOL",
        help="--refresh=false: trust the recorded resource state, do not read it back.",
    ),
]
AutoApprove = Annotated[
    bool, typer.Option("--auto-approve", "-auto-approve", help="Skip the confirmation.")
]
LockTimeout = Annotated[
    str,
    typer.Option(
        "--lock-timeout",
        "-lock-timeout",
        help="How long to wait for the state lock held by another zenctl, e.g. 30s or 5m.",
    ),
]
Format = Annotated[
    str,
    typer.Option("--format", "-format", help="text, markdown (a pull-request comment) or json."),
]
Summary = Annotated[
    bool,
    typer.Option(
        "--summary",
        "-summary",
        help="Only the steps and resources that change, grouped by reason (code: FILE, params, "
        "new, upstream changes...), then the summary line. Not with --json.",
    ),
]


def refresh_value(value: str) -> bool:
    """--refresh's value: Terraform spells it `-refresh=false`, so it is a word, not a flag."""
    if value.lower() not in ("true", "false"):
        raise UserError(
            "Invalid --refresh value", f"Use --refresh=true or --refresh=false, not {value!r}."
        )
    return value.lower() == "true"


def output_format(format: str, json_: bool) -> str:
    """The --format chosen, --json being --format json."""
    if format not in ("text", "markdown", "json"):
        raise UserError("Unknown output format", f"Choose text, markdown or json, not {format!r}.")
    if json_ and format not in ("text", "json"):
        raise UserError(
            "Conflicting output formats", f"Give --json or --format {format}, not both."
        )
    return "json" if json_ else format


def check_summary(summary: bool, format: str) -> None:
    if summary and format == "json":
        raise UserError(
            "Conflicting output options",
            "--summary shortens the text and markdown plans; the JSON plan is always whole (each "
            "step's `reasons` and `changes` are there to group by). Drop --summary or --json.",
        )


def print_json(document: Any) -> None:
    """A --json document on stdout, as every command prints one: indented, keys sorted."""
    import json

    typer.echo(json.dumps(document, indent=2, sort_keys=True))
