"""`zenctl drift` and `zenctl plan --refresh-only`: what changed since the last apply.

Read-only by design, for a scheduled CI job: no state lock, no metadata store created, no
cache saved, no step planned.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from zenctl.cli.app import (
    Chdir,
    Json,
    VarFiles,
    Vars,
    _fail_with,
    _inputs,
    _open_state,
    _refresh,
    _root,
    output_format,
)

if TYPE_CHECKING:
    from zenctl.plan.drift import DriftReport

DriftFormat = Annotated[
    str,
    typer.Option("--format", "-format", help="text, markdown (an issue or job summary) or json."),
]


def drift(
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
    if report_drift(chdir, var, var_file, output_format(format, json_)).drifted:
        raise typer.Exit(2)


def report_drift(
    chdir: Path | None, var: list[str] | None, var_file: list[str] | None, format: str
) -> DriftReport:
    """Find the drift and print it in `format`; the report, for the exit code."""
    from zenctl.project import Project

    project = Project.load(_root(chdir), _inputs(var, var_file))
    store = _open_state(project, create=False)  # none yet: nothing recorded, nothing drifted
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
        from zenctl.render.console import stdout
        from zenctl.render.drift import render_drift

        render_drift(stdout(), report)
    return report


def check_refresh_only(
    refresh: str,
    out: Path | None,
    target: list[str] | None,
    exclude: list[str] | None,
    replace: list[str] | None,
) -> None:
    """Refuse the plan options a refresh-only plan has no use for, rather than ignore them."""
    if not _refresh(refresh):
        _fail_with(
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
        _fail_with(
            f"--refresh-only takes no {', '.join(given)}",
            "A refresh-only plan plans no step and is never applied: it compares the state "
            "recorded by the last apply with reality, everything the state records. Drop "
            f"{' and '.join(given)}, or plan without --refresh-only.",
        )
