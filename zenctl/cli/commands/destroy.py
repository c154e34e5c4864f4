"""`zenctl destroy`: delete every resource the workspace owns, after confirmation."""

from __future__ import annotations

import typer

from zenctl.cli.context import invocation
from zenctl.cli.options import (
    AutoApprove,
    Chdir,
    LockTimeout,
    Refresh,
    VarFiles,
    Vars,
    refresh_value,
)


def destroy(
    ctx: typer.Context,
    chdir: Chdir = None,
    var: Vars = None,
    var_file: VarFiles = None,
    auto_approve: AutoApprove = False,
    refresh: Refresh = "true",
    lock_timeout: LockTimeout = "0s",
) -> None:
    """Destroy every resource the workspace owns (model servers...), after confirmation.

    Recorded runs, step history and artifacts are kept. Example: `zenctl destroy --auto-approve`
    """
    from zenctl.application.apply import apply_secrets
    from zenctl.apply.masking import Masker
    from zenctl.apply.resources import apply_resources
    from zenctl.render.plan_text import render_plan
    from zenctl.render.progress import render_destroy_result, say_to

    call = invocation(ctx)
    console = call.stdout
    project = call.load(chdir, var, var_file)
    store = call.open_state(project)
    if store is None:
        render_plan(console, project.plan_destroy(store, refresh_value(refresh)))
        return
    with call.lock(store, project.workspace, "destroy", lock_timeout):
        plan_ = project.plan_destroy(store, refresh_value(refresh))
        render_plan(console, plan_)
        if not plan_.has_changes:
            return
        if not auto_approve:
            call.confirm("destroy")
        masker = Masker(apply_secrets(project, store))
        outcomes = apply_resources(
            project, store, plan_.resources, {}, say_to(console), plan_.refreshed, masker
        )
    if not render_destroy_result(console, call.stderr, outcomes, project.root):
        raise typer.Exit(1)
