"""`zenctl metrics show|diff` and `zenctl params diff`: what steps recorded as metrics, and
what their params were, for a workspace, a run or any git revision that once ran (see
zenctl/application/revisions.py for how each spelling resolves, docs/metrics.md for use)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from zenctl.cli.context import Invocation, invocation
from zenctl.cli.options import Chdir, Json, Markdown, VarFiles, Vars, print_json
from zenctl.diagnostics import UserError

if TYPE_CHECKING:
    from zenctl.application.project import Project
    from zenctl.render.metrics import Side
    from zenctl.state.store import StateStore

metrics_app = typer.Typer(
    help="Show the metrics steps recorded, and compare them between revisions, runs or workspaces.",
    no_args_is_help=True,
)
params_app = typer.Typer(
    help="Compare the params of every step between revisions, runs or workspaces.",
    no_args_is_help=True,
)

SideA = Annotated[
    str | None,
    typer.Argument(help="A git revision, run ID or workspace (default: HEAD).", show_default=False),
]
SideB = Annotated[
    str | None,
    typer.Argument(
        help="A git revision, run ID or workspace (default: the last apply of this workspace).",
        show_default=False,
    ),
]


DiffExitcode = Annotated[
    bool,
    typer.Option(
        "--detailed-exitcode",
        "-detailed-exitcode",
        help="Exit 0 when both sides are the same, 2 when anything differs, 1 on error.",
    ),
]
Table = tuple[list[str], list[list[str]]]


@metrics_app.command("show")
def metrics_show(
    ctx: typer.Context,
    target: Annotated[
        str | None,
        typer.Argument(
            help="A git revision, run ID or workspace (default: the last apply of this workspace).",
            show_default=False,
        ),
    ] = None,
    chdir: Chdir = None,
    json_: Json = False,
    markdown: Markdown = False,
    var: Vars = None,
    var_file: VarFiles = None,
) -> None:
    """Show the metrics of every step, as recorded by the executions TARGET stands for.

    Example: `zenctl metrics show`, `zenctl metrics show main --md`
    """
    from zenctl.render import metrics as render

    call = invocation(ctx)
    _check_formats(json_, markdown)
    project, store = _open(call, chdir)
    side = _side(call, project, store, target, var, var_file)
    rows = render.metric_rows([side])
    empty = f"No metrics recorded for {side.label}. A step names its metrics outputs with " + (
        '`metrics = ["scores"]`.'
    )
    _print(
        call,
        json_,
        markdown,
        lambda: render.show_document(side, rows),
        render.metrics_table([side], rows),
        empty,
    )


@metrics_app.command("diff")
def metrics_diff(
    ctx: typer.Context,
    a: SideA = None,
    b: SideB = None,
    chdir: Chdir = None,
    json_: Json = False,
    markdown: Markdown = False,
    detailed_exitcode: DiffExitcode = False,
    var: Vars = None,
    var_file: VarFiles = None,
) -> None:
    """Compare the metrics of A and B: each value, the change and its relative change, and
    "not run" where a side has no execution of the step.

    Example: `zenctl metrics diff main`, `zenctl metrics diff HEAD~1 HEAD --md`
    """
    from zenctl.render import metrics as render

    call = invocation(ctx)
    first, second = _two_sides(call, chdir, json_, markdown, a, b, var, var_file)
    rows = render.metric_rows([first, second])
    _print(
        call,
        json_,
        markdown,
        lambda: render.diff_document(first, second, rows),
        render.metrics_table([first, second], rows),
        "No metrics recorded on either side.",
    )
    if detailed_exitcode and any(row.changed for row in rows):
        raise typer.Exit(2)


@params_app.command("diff")
def params_diff(
    ctx: typer.Context,
    a: SideA = None,
    b: SideB = None,
    chdir: Chdir = None,
    json_: Json = False,
    markdown: Markdown = False,
    detailed_exitcode: DiffExitcode = False,
    var: Vars = None,
    var_file: VarFiles = None,
) -> None:
    """List the params that differ between A and B, per step.

    Example: `zenctl params diff main`, `zenctl params diff HEAD~1 HEAD --json`
    """
    from zenctl.render import metrics as render

    call = invocation(ctx)
    first, second = _two_sides(call, chdir, json_, markdown, a, b, var, var_file)
    rows = render.params_rows(first, second)
    _print(
        call,
        json_,
        markdown,
        lambda: render.params_document(first, second, rows),
        render.params_table(first, second, rows),
        "No params differ.",
    )
    if detailed_exitcode and rows:
        raise typer.Exit(2)


def _print(
    call: Invocation,
    json_: bool,
    markdown: bool,
    document: Callable[[], dict[str, Any]],
    table: Table,
    empty: str,
) -> None:
    """One of the three forms every command here prints: JSON, a markdown table (the
    pull-request comment's), or the terminal's table."""
    from zenctl.render import metrics as render

    if json_:
        print_json(document())
    elif markdown:
        typer.echo(render.markdown_table(table, empty), nl=False)
    else:
        render.print_table(call.stdout, table, empty)


def _two_sides(
    call: Invocation,
    chdir: Path | None,
    json_: bool,
    markdown: bool,
    a: str | None,
    b: str | None,
    var: list[str] | None,
    var_file: list[str] | None,
) -> tuple[Side, Side]:
    """A (default HEAD's configuration) and B (default the workspace's last apply)."""
    _check_formats(json_, markdown)
    project, store = _open(call, chdir)
    return (
        _side(call, project, store, a or "HEAD", var, var_file),
        _side(call, project, store, b, var, var_file),
    )


def _check_formats(json_: bool, markdown: bool) -> None:
    if json_ and markdown:
        raise UserError("Conflicting output formats", "Give --json or --md, not both.")


def _open(call: Invocation, chdir: Path | None) -> tuple[Project, StateStore | None]:
    """The project (its own variables are not needed: a side is read, not planned) and its
    store, None before the first apply."""
    project = call.load(chdir, evaluates=False)
    return project, call.open_state(project)


def _side(
    call: Invocation,
    project: Project,
    store: StateStore | None,
    spelling: str | None,
    var: list[str] | None,
    var_file: list[str] | None,
) -> Side:
    """What `spelling` stands for, with the metrics its executions recorded."""
    from zenctl.application.revisions import recorded_metrics, resolve
    from zenctl.render.metrics import Side

    def warn(text: str) -> None:
        call.stderr.print(f"[yellow]Warning:[/] {text}")

    resolved = resolve(project, store, spelling, call.inputs(var, var_file), warn)
    metrics = recorded_metrics(store, resolved)
    return Side(
        resolved.spelling,
        resolved.kind,
        resolved.label,
        resolved.steps,
        frozenset(resolved.executions),
        tuple(metrics),
    )
