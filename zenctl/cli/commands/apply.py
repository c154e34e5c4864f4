"""`zenctl apply`: plan (or take a saved plan), confirm, then run exactly what the plan says."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from zenctl.cli.context import invocation
from zenctl.cli.options import (
    AutoApprove,
    Chdir,
    DetailedExitcode,
    Excludes,
    LockTimeout,
    Refresh,
    Replace,
    Targets,
    VarFiles,
    Vars,
    refresh_value,
)
from zenctl.diagnostics import UserError

if TYPE_CHECKING:
    from zenctl.plan.planfile import Expected


def apply(
    ctx: typer.Context,
    plan_file: Annotated[
        Path | None,
        typer.Argument(help="A plan saved by `zenctl plan --out`: applied exactly, or refused."),
    ] = None,
    chdir: Chdir = None,
    var: Vars = None,
    var_file: VarFiles = None,
    target: Targets = None,
    exclude: Excludes = None,
    replace: Replace = None,
    auto_approve: AutoApprove = False,
    parallelism: Annotated[
        int | None,
        typer.Option(
            "--parallelism", "-parallelism", help="Steps run at once (default: CPU count).", min=1
        ),
    ] = None,
    detailed_exitcode: DetailedExitcode = False,
    refresh: Refresh = "true",
    lock_timeout: LockTimeout = "0s",
    expect_plan_hash: Annotated[
        str | None,
        typer.Option(
            "--expect-plan-hash",
            "-expect-plan-hash",
            help="Refuse unless the plan's hash is H (from `plan --out` or the PR comment).",
            metavar="H",
        ),
    ] = None,
    expect_plan_comment: Annotated[
        Path | None,
        typer.Option(
            "--expect-plan-comment",
            "-expect-plan-comment",
            help="Refuse unless the plan is the one reviewed in FILE (the PR comment of `plan "
            "--format markdown`, or its marker line), naming what differs.",
            metavar="FILE",
        ),
    ] = None,
) -> None:
    """Plan, confirm, then run exactly the steps the plan says must run.

    Holds the state lock from the plan to the end; `--lock-timeout 5m` waits for another
    apply's. Example: `zenctl apply --auto-approve --parallelism 4`, or `zenctl apply plan.json`
    """
    from zenctl.application.apply import apply_plan
    from zenctl.application.saved_plans import load_saved, plan_again, plan_document
    from zenctl.apply.forking import start_fork_server
    from zenctl.cli.commands.plan import warn_if_partial
    from zenctl.plan.planfile import check_expected_hash
    from zenctl.render.plan_text import render_plan
    from zenctl.render.progress import ProgressReporter, render_apply_result

    start_fork_server()  # it imports the step runtime while zenctl plans
    call = invocation(ctx)
    expected = _expected(expect_plan_hash, expect_plan_comment)
    console = call.stdout
    if plan_file is None:
        project = call.load(chdir, var, var_file)
    else:  # a saved plan was reviewed already: no confirmation, as in Terraform
        if var or var_file:
            raise UserError(
                "Can't set variables when applying a saved plan",
                "A saved plan records the variable values it was made with. Make a new plan "
                "with the values you want: zenctl plan --var ... --out FILE.",
            )
        if target or exclude or replace:
            raise UserError(
                "Can't target, exclude or replace when applying a saved plan",
                "A saved plan records its --target, --exclude and --replace options. Make a new "
                "plan with the ones you want: zenctl plan --exclude ... --out FILE.",
            )
        project, saved = load_saved(call.project_root(chdir), plan_file, call.inputs(None, None))
    store = call.create_state(project)
    with call.lock(store, project.workspace, "apply", lock_timeout):
        if plan_file is None:
            plan_ = project.plan(
                store,
                tuple(target or ()),
                tuple(replace or ()),
                refresh_value(refresh),
                excludes=tuple(exclude or ()),
            )
            render_plan(console, plan_)
            warn_if_partial(call, plan_)
            if expected is not None:
                document = plan_document(project, store, plan_)
                check_expected_hash(expected, document, "the plan computed now", store.db.url)
            if plan_.has_changes and not auto_approve:
                call.confirm()
        else:
            plan_, document = plan_again(project, store, plan_file, saved)
            if expected is not None:
                check_expected_hash(expected, document, str(plan_file), store.db.url)
        if not plan_.has_changes:
            from zenctl.apply.walker import settle_plan

            if plan_file is not None:  # said for a saved plan too: it had nothing to do
                render_plan(console, plan_)
            store.interrupt_stale(project.workspace)  # still close what a killed apply left open
            settle_plan(store, plan_)
            return
        with ProgressReporter(console, len(plan_.to_run), _heartbeat()) as reporter:
            result = apply_plan(
                project,
                store,
                plan_,
                parallelism or os.cpu_count() or 1,
                reporter,
                reporter.say,
                reporter.began,
            )
    render_apply_result(console, call.stderr, plan_, result, project.root)
    if result.status != "succeeded":
        raise typer.Exit(130 if result.status == "interrupted" else 1)
    if detailed_exitcode:
        raise typer.Exit(2)


def _heartbeat() -> float:
    """Seconds between heartbeat lines without a terminal: ZENCTL_HEARTBEAT_SECONDS, a knob
    for tests (which want two heartbeats in a second), else 30."""
    from zenctl.render.progress import HEARTBEAT_S

    text = os.environ.get("ZENCTL_HEARTBEAT_SECONDS", "")
    try:
        return float(text) if text else HEARTBEAT_S
    except ValueError:
        raise UserError(
            "Invalid ZENCTL_HEARTBEAT_SECONDS",
            f"It is {text!r}; give a number of seconds (0: no heartbeat), or unset it.",
        ) from None


def _expected(plan_hash: str | None, comment: Path | None) -> Expected | None:
    """The reviewed plan that --expect-plan-hash or --expect-plan-comment names, if any."""
    from zenctl.plan.planfile import expected_comment, expected_hash

    if plan_hash is not None and comment is not None:
        raise UserError(
            "Conflicting expected plans",
            "Give --expect-plan-hash or --expect-plan-comment, not both: the comment's marker "
            "holds the plan hash.",
        )
    if comment is not None:
        return expected_comment(comment)
    return None if plan_hash is None else expected_hash(plan_hash)
