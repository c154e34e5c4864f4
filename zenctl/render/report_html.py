"""`zenctl report` as one self-contained HTML page: the pipeline graph with each step's status,
the last apply's timeline, metrics across recent runs, and the params and variables.

The page fetches nothing when it is viewed (it is opened from CI artifacts, maybe offline):
Chart.js (vendored in assets/, its licence beside it) and the page's own script and style are
inlined, and a Content-Security-Policy forbids any request. Every string from the project or
the store is escaped: into HTML with `html.escape`, into the charts' data as JSON with `<`,
`>` and `&` written as \\u escapes, so nothing a user wrote can close an element or a script.
Secrets are never drawn: params come from the plan (secrets as keyed hashes, shown as
`(sensitive)`), variables from sensitive declarations are shown as `(sensitive)`.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from importlib.resources import files
from typing import Any

from zenctl.config.variables import Sensitive
from zenctl.graph import StepGraph
from zenctl.plan.diff import show_value
from zenctl.plan.model import Plan
from zenctl.render.plan_text import format_duration
from zenctl.render.report_graph import FAILED, STATUSES, StepStatus, graph_svg, step_status
from zenctl.state.records import Execution, Run

CHART_JS = "chart.umd.min.js"  # Chart.js 4.6.2 (assets/README.md says where it came from)
# What the page may do: run and style what it carries inline, show inline images; no request.
POLICY = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"
# an execution's bar in the timeline, by how it ended
BAR_COLOURS = {"succeeded": "#4f7fc9", "running": "#9bb7e0"} | dict.fromkeys(FAILED, "#d64545")


@dataclass(frozen=True, slots=True)
class RunMetrics:
    """One run's metrics, for the charts: each series' value in that run."""

    run: Run
    values: Mapping[str, float]  # series ("pipeline.demo.step.evaluate score") -> value


@dataclass(frozen=True, slots=True)
class ReportData:
    project: str
    workspace: str
    generated_at: float
    graphs: Sequence[StepGraph]
    plan: Plan | None
    plan_problem: str | None  # why no plan could be made (then `plan` is None)
    last_apply: Run | None
    executions: Sequence[Execution]  # the last apply's, in the order they were recorded
    variables: Mapping[str, Any]  # as resolved: a sensitive one's value is a `Sensitive`
    metrics: Sequence[RunMetrics]  # oldest run first


def render_report(data: ReportData) -> str:
    """The whole page."""
    body = "".join(
        (
            _header(data),
            _graph_section(data),
            _timeline_section(data),
            _metrics_section(data),
            _params_section(data),
        )
    )
    page_data = {"timeline": _timeline_data(data), "metrics": _metrics_data(data)}
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>zenctl report: {escape(data.project)}</title>"
        f"<style>{_asset('report.css')}{_status_css()}</style></head>"
        f'<body>{body}<script type="application/json" id="report-data">'
        f"{_script_json(page_data)}</script>"
        f"<script>/* Chart.js 4.6.2, MIT License (zenctl/render/assets/LICENSE-chart.js.md) */\n"
        f"{_chart_js()}</script><script>{_asset('report.js')}</script></body></html>\n"
    )


def _header(data: ReportData) -> str:
    last = data.last_apply
    if last is None:
        applied = "No apply recorded yet."
    else:
        took = (
            f", took {format_duration(last.finished_at - last.started_at)}"
            if last.finished_at
            else ""
        )
        commit = f", commit {escape(last.git_sha[:12])}" if last.git_sha else ""
        applied = (
            f"Last apply: run <code>{escape(last.id[:8])}</code>, {escape(last.status)}, "
            f"started {_when(last.started_at)}{took}{commit}."
        )
    return (
        f"<header><h1>zenctl report: {escape(data.project)}</h1>"
        f"<p>Workspace <code>{escape(data.workspace)}</code>, made {_when(data.generated_at)}. "
        f"{applied}</p></header>"
    )


def _graph_section(data: ReportData) -> str:
    planned = {step.address: step for step in data.plan.steps} if data.plan else {}
    last = {execution.address: execution for execution in data.executions}
    if data.plan is not None:
        note = "Statuses from a fresh plan against the current configuration and state"
        note += ", failures from the last apply." if data.last_apply else "; nothing applied yet."
    else:
        note = f"No plan could be made: {data.plan_problem}"
    legend = "".join(
        f'<li><span class="swatch status-{key}"></span>{escape(words)}</li>'
        for key, (words, _) in STATUSES.items()
    )
    parts = [
        f'<section id="graph"><h2>Pipeline graph</h2><p class="note lines">{escape(note)}</p>'
        f'<ul class="legend">{legend}</ul>'
    ]
    for graph in data.graphs:
        statuses: dict[str, StepStatus] = {}
        for name in graph.order:
            address = graph.pipeline.address(name)
            statuses[address] = step_status(planned.get(address), last.get(address))
        parts.append(
            f'<h3>pipeline "{escape(graph.pipeline.name)}" '
            f'<span class="dim">(stack {escape(graph.pipeline.stack)})</span></h3>'
            f'<div class="scroll">{graph_svg(graph, statuses)}</div>'
        )
    if not data.graphs:
        parts.append('<p class="empty">The configuration declares no pipeline.</p>')
    parts.append(_arrow_marker() + "</section>")
    return "".join(parts)


def _arrow_marker() -> str:
    """The edges' arrowhead, defined once for every graph on the page."""
    return (
        '<svg width="0" height="0" aria-hidden="true"><defs><marker id="arrow" viewBox="0 0 10 10" '
        'refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#8a93a3"/></marker></defs></svg>'
    )


def _ran(data: ReportData) -> list[Execution]:
    """The last apply's executions that ran, in the order they started: not the steps it only
    marked (skipped)."""
    ran = [
        e for e in data.executions if e.status in (*FAILED, "succeeded", "running") and e.started_at
    ]
    return sorted(ran, key=lambda e: e.started_at or 0.0)


def _timeline_section(data: ReportData) -> str:
    head = '<section id="timeline"><h2>Timeline of the last apply</h2>'
    if data.last_apply is None:
        return (
            f'{head}<p class="empty">No apply recorded yet: run <code>zenctl apply</code>, '
            "then <code>zenctl report</code> again.</p></section>"
        )
    ran = _ran(data)
    if not ran:
        return head + '<p class="empty">The last apply ran no step.</p></section>'
    start = data.last_apply.started_at
    rows = "".join(
        f'<tr data-execution="{escape(e.address)}"><td>{escape(e.address)}</td>'
        f"<td>{escape(e.status)}</td><td>+{format_duration((e.started_at or start) - start)}</td>"
        f"<td>{format_duration(_end(e) - (e.started_at or start))}</td></tr>"
        for e in ran
    )
    height = 60 + 26 * len(ran)
    return (
        f'{head}<p class="note">One bar per step that ran, on seconds since the apply started: '
        "bars side by side in time ran in parallel.</p>"
        f'<div class="chart" style="height:{height}px"><canvas id="timeline-chart"></canvas></div>'
        "<table><thead><tr><th>step</th><th>status</th><th>started</th><th>took</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></section>"
    )


def _end(execution: Execution) -> float:
    """When an execution ended; one still running (or killed) ends at its start."""
    return execution.finished_at or execution.started_at or 0.0


def _timeline_data(data: ReportData) -> dict[str, Any] | None:
    ran = _ran(data)
    if data.last_apply is None or not ran:
        return None
    start = data.last_apply.started_at
    return {
        "labels": [e.address for e in ran],
        "bars": [[(e.started_at or start) - start, _end(e) - start] for e in ran],
        "statuses": [e.status for e in ran],
        "colors": [BAR_COLOURS[e.status] for e in ran],
    }


def _metrics_section(data: ReportData) -> str:
    count = len(data.metrics)
    head = f'<section id="metrics"><h2>Metrics across the last {count} applies</h2>'
    if not any(run.values for run in data.metrics):
        words = "No metrics recorded in these runs." if data.metrics else "No runs recorded yet."
        return f'{head}<p class="empty">{words}</p></section>'
    charts = "".join(
        f'<figure class="chart metric"><canvas data-series="{escape(name)}"></canvas></figure>'
        for name in _series(data)
    )
    return f'{head}<div class="metrics">{charts}</div></section>'


def _series(data: ReportData) -> list[str]:
    return sorted({name for run in data.metrics for name in run.values})


def _metrics_data(data: ReportData) -> dict[str, Any]:
    return {
        "runs": [
            f"{run.run.id[:8]} {_when(run.run.started_at, short=True)}" for run in data.metrics
        ],
        "series": {name: [run.values.get(name) for run in data.metrics] for name in _series(data)},
    }


def _params_section(data: ReportData) -> str:
    head = '<section id="params"><h2>Params</h2>'
    if data.plan is None:
        steps = f'<p class="empty lines">Not evaluated: {escape(data.plan_problem or "")}</p>'
    else:
        rows = []
        for step in data.plan.steps:
            params: dict[str, Any] = step.components["params"]
            cells = [(name, show_value(value)) for name, value in sorted(params.items())]
            for index, (name, value) in enumerate(cells or [("", "(no params)")]):
                label = escape(step.address) if index == 0 else ""
                rows.append(
                    f"<tr><td>{label}</td><td>{escape(name)}</td><td><code>{escape(value)}</code></td></tr>"
                )
        steps = _table(("step", "param", "value"), rows)
    variables = [
        f"<tr><td>{escape(name)}</td><td><code>{escape(_variable(value))}</code></td></tr>"
        for name, value in sorted(data.variables.items())
    ]
    shown = (
        _table(("variable", "value"), variables)
        if variables
        else '<p class="empty">No variables.</p>'
    )
    return f"{head}{steps}<h3>Variables</h3>{shown}</section>"


def _table(columns: Sequence[str], rows: Sequence[str]) -> str:
    head = "".join(f"<th>{column}</th>" for column in columns)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _variable(value: Any) -> str:
    """A variable's value as the plan shows a param: a sensitive one, at any depth, masked."""
    return show_value(_hidden(value))


def _hidden(value: Any) -> Any:
    """`value` with each secret in the recorded form that show_value masks."""
    if isinstance(value, Sensitive):
        return {"sensitive": ""}
    if isinstance(value, list):
        return [_hidden(item) for item in value]
    if isinstance(value, dict):
        return {key: _hidden(item) for key, item in value.items()}
    return value


def _when(timestamp: float, short: bool = False) -> str:
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.UTC)
    return moment.strftime("%m-%d %H:%M" if short else "%Y-%m-%d %H:%M:%S UTC")


def _status_css() -> str:
    return "".join(
        f".status-{key} rect,.swatch.status-{key}{{fill:{colour};background:{colour}}}"
        for key, (_, colour) in STATUSES.items()
    )


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element: no `</script>`, no `<!--`, whatever the strings."""
    text = json.dumps(value, sort_keys=True, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _asset(name: str) -> str:
    return files("zenctl.render").joinpath("assets", name).read_text(encoding="utf-8")


def _chart_js() -> str:
    """The vendored library, less its source-map comment (the map is not shipped: a browser's
    developer tools would ask for it)."""
    text = _asset(CHART_JS)
    return text[: text.rindex("//# sourceMappingURL=")] if "//# sourceMappingURL=" in text else text
