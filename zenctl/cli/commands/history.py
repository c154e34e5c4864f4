"""`zenctl show`: a saved plan, or a step, run or artifact with its lineage."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zenctl.cli.context import invocation
from zenctl.cli.options import Chdir, Json, Summary, check_summary, print_json
from zenctl.diagnostics import UserError


def show(
    ctx: typer.Context,
    target: Annotated[
        str,
        typer.Argument(
            help="A saved plan file, a step address, a run ID or an artifact hash (prefixes work)."
        ),
    ],
    chdir: Chdir = None,
    json_: Json = False,
    summary: Summary = False,
) -> None:
    """Show a saved plan, or a step, run or artifact with its lineage: commit, params, inputs.
    --json: the plan's document (specs/plan.schema.json), or specs/show.schema.json.

    Example: `zenctl show pipeline.iris.step.train`, `zenctl show --json plan.json`,
    `zenctl show --summary plan.json`
    """
    from zenctl.render.history import show_target
    from zenctl.state.history import target_view

    call = invocation(ctx)
    check_summary(summary, "json" if json_ else "text")
    if summary and not Path(target).is_file():
        raise UserError(
            "--summary shows a saved plan only",
            f"{target} is not a plan file. Give a file saved by `zenctl plan --out FILE`, or "
            "drop --summary to show a step, run or artifact.",
        )
    if Path(target).is_file():
        from zenctl.plan.planfile import read_planfile
        from zenctl.render.plan_json import from_document
        from zenctl.render.plan_text import render_plan

        document = read_planfile(Path(target))
        if json_:
            print_json(document)
        else:
            render_plan(call.stdout, from_document(document), summary)
        return
    project = call.load(chdir, evaluates=False)
    store = call.open_state(project)
    if store is None:
        raise UserError(
            "Nothing recorded yet", "Run `zenctl apply` first; then its steps can be shown."
        )
    view = target_view(store, project.workspace, target, project.config.moved_to())
    if json_:
        from zenctl.render.history_json import show_document

        print_json(show_document(view, project.workspace))
    else:
        show_target(call.stdout, view)
