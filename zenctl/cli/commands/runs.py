"""`zenctl runs` (the experiments table: past applies with their params and metrics) and
`zenctl runs show ID` (one run's steps and their logs). See docs/runs.md."""

from __future__ import annotations

from typing import Annotated

import typer

from zenctl.cli.context import invocation
from zenctl.cli.options import Chdir, Json, print_json
from zenctl.diagnostics import UserError

runs_app = typer.Typer()  # its help is the listing's (the callback's docstring)


@runs_app.callback(invoke_without_command=True)
def runs(
    ctx: typer.Context,
    chdir: Chdir = None,
    limit: Annotated[
        int, typer.Option("--limit", "-limit", help="How many runs to list.", min=1)
    ] = 20,
    where: Annotated[
        list[str] | None,
        typer.Option(
            "--where",
            "-where",
            metavar="EXPR",
            help="Only runs where KEY OP VALUE holds, OP one of = != < <= > >= (repeatable, "
            "AND-ed): params.lr=0.1, metrics.accuracy>=0.9, workspace=dev, result=failed.",
            show_default=False,
        ),
    ] = None,
    sort: Annotated[
        str | None,
        typer.Option(
            "--sort",
            "-sort",
            metavar="KEY",
            help="Sort by KEY ascending; --sort=-KEY descending. Runs without it come last.",
            show_default=False,
        ),
    ] = None,
    json_: Json = False,
) -> None:
    """List past applies, newest first: when, how long, commit, who, result, steps run and
    reused, the params changed since the run before, metrics.

    Example: `zenctl runs --limit 5`, `zenctl runs --where 'params.lr>=0.01' --sort=-ran`,
    `zenctl runs show 3f2a1b9c`
    """
    call = invocation(ctx)
    if ctx.invoked_subcommand is not None:
        call.chdir = chdir or call.chdir  # `zenctl runs -C DIR show ID`
        return
    from zenctl.render.runs import render_runs, runs_document
    from zenctl.state.runs_table import RunsTable, runs_table

    project = call.load(chdir, evaluates=False)
    store = call.open_state(project)
    table = (
        runs_table(store, project.workspace, where or (), sort, limit)
        if store is not None
        else RunsTable([], [])
    )
    if json_:
        print_json(runs_document(table))
    else:
        render_runs(call.stdout, table, filtered=bool(where))


@runs_app.command("show")
def show(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="A run ID, or its first characters (4 or more).")],
    chdir: Chdir = None,
    json_: Json = False,
) -> None:
    """One run's steps: what each did (ran, reused, failed...), how long, and its log.

    Example: `zenctl runs show 3f2a1b9c`, `zenctl runs show 3f2a --json`
    """
    from zenctl.render.runs import render_run_steps, run_steps_document
    from zenctl.state.runs_table import run_row, step_outcomes

    call = invocation(ctx)
    project = call.load(chdir, evaluates=False)
    store = call.open_state(project)
    run = store.run(run_id) if store is not None and len(run_id) >= 4 else None
    if store is None or run is None:
        raise UserError(
            f"No run {run_id!r}",
            "Give a run ID from `zenctl runs`, or its first characters (at least 4).",
        )
    row = run_row(store, run)
    steps = step_outcomes(run, store.executions_of_run(run.id))
    if json_:
        print_json(run_steps_document(row, steps, project.root))
    else:
        render_run_steps(call.stdout, row, steps, project.root)
