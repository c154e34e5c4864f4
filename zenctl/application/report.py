"""What `zenctl report` draws, gathered: the step graphs, a fresh plan (as `zenctl plan` makes
it: read-only, no lock), the last apply and its executions, metrics across recent runs, the
variables. A plan that cannot be made (a variable without a value, source data missing) leaves
the report without statuses and params, saying why, rather than without a report."""

from __future__ import annotations

import time

from zenctl.application.project import Project
from zenctl.diagnostics import DiagnosticsError, UserError
from zenctl.graph import build_graph
from zenctl.plan.model import Plan
from zenctl.render.report_html import ReportData, RunMetrics
from zenctl.state.records import Run
from zenctl.state.store import StateStore


def report_data(
    project: Project, store: StateStore | None, runs: int, plan_problem: str | None = None
) -> ReportData:
    """The report of `project`; `plan_problem` says why it cannot be planned (its variables
    could not be resolved), else a plan is made now."""
    plan: Plan | None = None
    if plan_problem is None:
        try:
            plan = project.plan(store)
        except (UserError, DiagnosticsError) as exc:
            plan_problem = problem_words(exc)
    recent = store.runs(project.workspace, runs) if store else []
    # `state rm` records a run too, but runs no step: the last apply is the latest other one
    last = next((run for run in recent if run.status != "state rm"), None)
    return ReportData(
        project=project.root.name,
        workspace=project.workspace,
        generated_at=time.time(),
        graphs=[
            build_graph(project.config.pipelines[name]) for name in sorted(project.config.pipelines)
        ],
        plan=plan,
        plan_problem=plan_problem,
        last_apply=last,
        executions=store.executions_of_run(last.id) if store and last else [],
        variables=project.variables,
        metrics=_metrics(list(reversed(recent))),
        runs_asked=runs,
    )


def _metrics(runs: list[Run]) -> list[RunMetrics]:
    """Each run's metrics, oldest run first. The store keeps no metrics yet: every run has
    none, and the report says so."""
    return [RunMetrics(run, {}) for run in runs if run.status != "state rm"]


def problem_words(exc: UserError | DiagnosticsError) -> str:
    """What stopped a plan, in a sentence or two: the first problem, and how many more."""
    found = [exc.diagnostic] if isinstance(exc, UserError) else list(exc.diagnostics)
    first = found[0]
    more = f" (and {len(found) - 1} more problems)" if len(found) > 1 else ""
    return f"{first.summary}: {first.detail}{more}" if first.detail else first.summary + more
