"""What `zenctl report` draws, gathered: the step graphs, a fresh plan (as `zenctl plan` makes
it: read-only, no lock), the last apply and its executions, metrics across recent runs, the
variables. A plan that cannot be made (a variable without a value, source data missing) leaves
the report without statuses and params, saying why, rather than without a report."""

from __future__ import annotations

import math
import time
from typing import TypeGuard

from zenctl.application.project import Project
from zenctl.diagnostics import DiagnosticsError, UserError
from zenctl.graph import build_graph
from zenctl.plan.model import Plan
from zenctl.render.report_html import ReportData, RunMetrics
from zenctl.state.records import MetricValue, Run
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
    # `state rm` records a run too, but runs no step and records no metric
    applies = [run for run in recent if run.status != "state rm"]  # newest first
    last = applies[0] if applies else None
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
        metrics=_metrics(store, applies[::-1]),
    )


def _metrics(store: StateStore | None, applies: list[Run]) -> list[RunMetrics]:
    """Each apply's metrics that are numbers (a chart draws numbers: text, booleans and
    missing values have none), in the order given: one series a step, metrics output and key."""
    recorded = store.metrics_of_runs([run.id for run in applies]) if store and applies else {}
    return [
        RunMetrics(
            run,
            {
                f"{metric.address} {metric.output}.{metric.name}": float(metric.value)
                for metric in recorded.get(run.id, [])
                if _number(metric.value)
            },
        )
        for run in applies
    ]


def _number(value: MetricValue) -> TypeGuard[int | float]:
    """Whether a chart can draw the value: a finite int or float, not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def problem_words(exc: UserError | DiagnosticsError) -> str:
    """What stopped a plan, in a sentence or two: the first problem, and how many more."""
    found = [exc.diagnostic] if isinstance(exc, UserError) else list(exc.diagnostics)
    first = found[0]
    more = f" (and {len(found) - 1} more problems)" if len(found) > 1 else ""
    return f"{first.summary}: {first.detail}{more}" if first.detail else first.summary + more
