"""`zenctl logs [STEP] [--run ID] [-f]`: a step's log, printed or followed."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from zenctl.cli.context import invocation
from zenctl.cli.options import Chdir
from zenctl.diagnostics import UserError


def logs(
    ctx: typer.Context,
    step: Annotated[
        str | None,
        typer.Argument(
            help="The step: its address, its name, or PIPELINE.NAME. Default: the run's one "
            "failed step, else its one running step.",
            show_default=False,
        ),
    ] = None,
    run: Annotated[
        str | None,
        typer.Option(
            "--run",
            "-run",
            metavar="ID",
            help="The run (an ID or its first characters). Default: the workspace's last.",
            show_default=False,
        ),
    ] = None,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow", "-f", "-follow", help="Keep printing until the step ends (Ctrl-C stops)."
        ),
    ] = False,
    chdir: Chdir = None,
) -> None:
    """Print a step's log from a run (the last one unless --run); -f follows a running step.

    Example: `zenctl logs train -f`, `zenctl logs --run 3f2a1b9c`
    """
    from zenctl.application.logs import chosen_run, chosen_step, print_log, step_to_follow

    call = invocation(ctx)
    project = call.load(chdir, evaluates=False)
    store = call.open_state(project)
    if store is None:
        raise UserError("No runs yet", "Run `zenctl apply` first; then its steps' logs show.")
    chosen = chosen_run(store, project.workspace, run)

    def write(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    try:
        if follow:
            execution = step_to_follow(store, chosen, step)
        else:
            execution = chosen_step(chosen, store.executions_of_run(chosen.id), step)
        print_log(store, execution, write, follow, artifact_stores=project.artifact_stores())
    except KeyboardInterrupt:  # following stops here, quietly: nothing was running for us
        raise typer.Exit(130) from None
