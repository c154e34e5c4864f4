"""`zenctl report`: one self-contained HTML page of the project: the step graph with each step's
status, the last apply's timeline, metrics across recent runs, the params."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zenctl.cli.context import invocation
from zenctl.cli.options import Chdir, VarFiles, Vars
from zenctl.diagnostics import Diagnostic, DiagnosticsError, UserError


def report(
    ctx: typer.Context,
    chdir: Chdir = None,
    var: Vars = None,
    var_file: VarFiles = None,
    out: Annotated[
        Path,
        typer.Option("--out", "-out", "-o", help="Where to write the HTML page."),
    ] = Path("report.html"),
    runs: Annotated[
        int,
        typer.Option(
            "--runs", "-runs", min=1, help="How many recent runs the metrics charts show."
        ),
    ] = 20,
) -> None:
    """Write an HTML report: the step graph with statuses, the last apply's timeline, metrics
    across the last runs, the params. One file that fetches nothing: open it from CI artifacts.

    Example: `zenctl report -o report.html --runs 50`
    """
    from zenctl.application.report import problem_words, report_data
    from zenctl.paths import write_output
    from zenctl.render.report_html import render_report

    call = invocation(ctx)
    problem = None
    try:
        project = call.load(chdir, var, var_file)
    except (UserError, DiagnosticsError) as exc:  # a variable without a value: no plan
        project = call.load(chdir, evaluates=False)  # a configuration error stops here
        problem = problem_words(exc)
    data = report_data(project, call.open_state(project), runs, problem)
    if data.plan_problem is not None:
        call.print_diagnostics([Diagnostic("warning", "The report has no plan", data.plan_problem)])
    # relative to where zenctl was started, as a user reads `-o`; an ordinary file, not 0600
    write_output(out, render_report(data), "report", mode=0o666)
    steps = sum(len(graph.order) for graph in data.graphs)
    last = (
        f", last apply {data.last_apply.id[:8]} ({data.last_apply.status})"
        if data.last_apply
        else ", no apply yet"
    )
    call.stdout.print(
        f"Wrote the report to {out}: {steps} steps{last}.", markup=False, highlight=False
    )
