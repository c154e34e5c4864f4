"""`zenctl drift` and `zenctl plan --refresh-only`: what changed since the last apply.

Read-only by design, for a scheduled CI job: no state lock, no metadata store created, no
cache saved, no step planned.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from zenctl.cli.context import Invocation, invocation
from zenctl.cli.options import Chdir, Json, VarFiles, Vars, output_format, refresh_value
from zenctl.diagnostics import UserError

if TYPE_CHECKING:
    from zenctl.plan.drift import DriftReport

DriftFormat = Annotated[
    str,
    typer.Option("--format", "-format", help="text, markdown (an issue or job summary) or json."),
]


def drift(
    ctx: typer.Context,
    chdir: Chdir = None,
    var: Vars = None,
    var_file: VarFiles = None,
    json_: Json = False,
    format: DriftFormat = "text",
) -> None:
    """Compare what the last apply recorded with reality: resources changed or deleted outside
    zenctl, source data changed or missing. Plans no step; writes nothing; takes no lock.

    Exits 0 when nothing drifted, 2 when something did, 1 on error.

    Example: `zenctl drift`, `zenctl drift --format markdown >> "$GITHUB_STEP_SUMMARY"`
    """
    format = output_format(format, json_)
    if report_drift(invocation(ctx), chdir, var, var_file, format).drifted:
        raise typer.Exit(2)


def report_drift(
    call: Invocation,
    chdir: Path | None,
    var: list[str] | None,
    var_file: list[str] | None,
    format: str,
) -> DriftReport:
    """Find the drift and print it in `format`; the report, for the exit code."""
    project = call.load(chdir, var, var_file)
    store = call.open_state(project)  # none yet: nothing recorded, nothing drifted
    try:
        report = project.drift(store)
    finally:
        if store is not None:
            store.close()
    if format == "json":
        import json

        from zenctl.render.drift import drift_document

        typer.echo(json.dumps(drift_document(report), indent=2, sort_keys=True))
    elif format == "markdown":
        from zenctl.render.drift import render_drift_markdown

        typer.echo(render_drift_markdown(report, project.root.name), nl=False)
    else:
        from zenctl.render.drift import render_drift

        render_drift(call.stdout, report)
    return report


def check_refresh_only(
    refresh: str,
    out: Path | None,
    target: list[str] | None,
    exclude: list[str] | None,
    replace: list[str] | None,
) -> None:
    """Refuse the plan options a refresh-only plan has no use for, rather than ignore them."""
    if not refresh_value(refresh):
        raise UserError(
            "Conflicting options: --refresh-only and --refresh=false",
            "--refresh-only reads every recorded resource back; --refresh=false reads none. "
            "Drop one of them.",
        )
    given = [
        flag
        for flag, value in (
            ("--out", out),
            ("--target", target),
            ("--exclude", exclude),
            ("--replace", replace),
        )
        if value
    ]
    if given:
        raise UserError(
            f"--refresh-only takes no {', '.join(given)}",
            "A refresh-only plan plans no step and is never applied: it compares the state "
            "recorded by the last apply with reality, everything the state records. Drop "
            f"{' and '.join(given)}, or plan without --refresh-only.",
        )
