"""`zenctl plan`: which steps are cached and which must run, and why; saved with --out."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from zenctl.cli.context import Invocation, invocation
from zenctl.cli.options import (
    Chdir,
    DetailedExitcode,
    Excludes,
    Format,
    Json,
    Refresh,
    Replace,
    Summary,
    Targets,
    VarFiles,
    Vars,
    check_summary,
    output_format,
    refresh_value,
)
from zenctl.diagnostics import UserError

if TYPE_CHECKING:
    from zenctl.application.project import Project
    from zenctl.plan.model import Plan
    from zenctl.state.store import StateStore


def plan(
    ctx: typer.Context,
    chdir: Chdir = None,
    var: Vars = None,
    var_file: VarFiles = None,
    target: Targets = None,
    exclude: Excludes = None,
    replace: Replace = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-out", help="Save the plan to FILE, for `zenctl apply FILE`."),
    ] = None,
    json_: Json = False,
    format: Format = "text",
    summary: Summary = False,
    detailed_exitcode: DetailedExitcode = False,
    refresh: Refresh = "true",
    refresh_only: Annotated[
        bool,
        typer.Option(
            "--refresh-only",
            "-refresh-only",
            help="Plan no steps: only report what changed since the last apply (resources, "
            "source data), as `zenctl drift` does; exit 2 on drift with --detailed-exitcode.",
        ),
    ] = False,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            "-explain",
            help="After the plan, what each step's code fingerprint covers: the definitions "
            "reached in each file, and why a file is hashed whole. Text output only.",
        ),
    ] = False,
) -> None:
    """Show which steps are cached and which must run, and why; what resources will change.

    Example: `zenctl plan --var lr=0.02 --out plan.json`, `zenctl plan --format markdown`,
    `zenctl plan --summary` (a 1,000-step plan in a few lines per reason)
    """
    from zenctl.application.saved_plans import plan_document
    from zenctl.plan.planfile import write_planfile

    call = invocation(ctx)
    format = output_format(format, json_)
    check_summary(summary, format)
    check_explain(explain, format, refresh_only)
    if refresh_only:
        from zenctl.cli.commands.drift import check_refresh_only, report_drift

        check_refresh_only(refresh, out, target, exclude, replace)
        if report_drift(call, chdir, var, var_file, format).drifted and detailed_exitcode:
            raise typer.Exit(2)
        return
    project = call.load(chdir, var, var_file)
    # A saved plan or a PR comment needs the store's lineage now: secrets are hashed with a key
    # tied to it, and the plan hash covers the lineage, so `apply` must find the same hashes.
    hashed = out is not None or format == "markdown"
    store = call.open_state(project, create=hashed)
    plan_ = project.plan(
        store,
        tuple(target or ()),
        tuple(replace or ()),
        refresh_value(refresh),
        excludes=tuple(exclude or ()),
    )
    document: dict[str, Any] = plan_document(project, store, plan_) if hashed else {}
    if format == "json":
        import json

        from zenctl.render.plan_json import to_document

        typer.echo(json.dumps(to_document(plan_), indent=2, sort_keys=True))
    elif format == "markdown":
        from zenctl.plan.basis import basis, for_marker
        from zenctl.render.plan_markdown import render_markdown

        comment = render_markdown(
            plan_,
            document["plan_hash"],
            project.root.name,
            summary=summary,
            basis=for_marker(basis(document)),
            metrics=reused_metrics(store, plan_),
        )
        typer.echo(comment, nl=False)
    else:
        from zenctl.render.plan_text import render_plan

        render_plan(call.stdout, plan_, summary)
        if explain:
            from zenctl.render.explain import render_code_explanation

            render_code_explanation(call.stdout, code_explanation(project, plan_))
    warn_if_partial(call, plan_)
    if out is not None:
        write_planfile(out, document)
        if format == "text":
            call.stdout.print(
                f"\nSaved the plan to: {out} (plan hash {document['plan_hash'][:16]})\n"
                f"To perform exactly these actions, run: zenctl apply {out}"
            )
    if detailed_exitcode and plan_.has_changes:
        raise typer.Exit(2)


def check_explain(explain: bool, format: str, refresh_only: bool) -> None:
    if explain and (format != "text" or refresh_only):
        raise UserError(
            "Conflicting output options",
            "--explain adds what each step's code fingerprint covers to the text plan. Drop "
            "--explain, or --json, --format markdown and --refresh-only.",
        )


def code_explanation(project: Project, plan_: Plan) -> list[tuple[str, list[str]]]:
    """Each planned step's address with what its code hash covers, from the code cache the
    plan has just written."""
    from zenctl.plan.model import StageKind

    code = project.fingerprinter(None).code
    return [
        (step.address, code.reach(step.components["run"]).explain())
        for stage in plan_.stages
        if stage.kind is StageKind.STEPS
        for step in stage.steps
    ]


def reused_metrics(store: StateStore | None, plan_: Plan) -> str:
    """The comment's section of the metrics the plan's reused executions recorded."""
    from zenctl.render.metrics import Side, reused_metrics_markdown

    reused = {step.address: step.cached_from for step in plan_.cached if step.cached_from}
    if store is None or not reused:
        return ""
    records = store.metrics_of_executions(reused)
    side = Side("plan", "plan", "VALUE", {}, frozenset(reused), tuple(records))
    return reused_metrics_markdown(side)


def warn_if_partial(call: Invocation, plan_: Plan) -> None:
    """Terraform's warning, after the plan, when --target, --exclude or --replace shaped it."""
    from zenctl.plan.targeting import partial_plan_warnings

    call.print_diagnostics(partial_plan_warnings(plan_.targets, plan_.replace, plan_.excludes))
