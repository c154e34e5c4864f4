"""One step, run or artifact with its lineage, for `show`: drawn
from the views that zenctl/state/history.py reads from the store."""

from __future__ import annotations

import datetime
from typing import Any

from rich.console import Console
from rich.markup import escape

from zenctl.fingerprint.canonical import short
from zenctl.plan.diff import show_value
from zenctl.render.plan_text import format_duration
from zenctl.state.history import ArtifactView, ExecutionView, HistoryView, RunView, StepView
from zenctl.state.records import Run


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")


def _commit(run: Run | None) -> str:
    if run is None or not run.git_sha:
        return "(not a git repository)"
    return run.git_sha[:12] + (" (uncommitted changes)" if run.git_dirty else "")


def show_target(console: Console, view: HistoryView) -> None:
    """A step, a run or an artifact, as `zenctl show` found it."""
    if isinstance(view, RunView):
        _show_run(console, view)
    elif isinstance(view, ArtifactView):
        _show_artifact(console, view)
    else:
        _show_step(console, view)


def _show_step(console: Console, view: StepView) -> None:
    show_execution(console, view.shown)
    attempt = view.last_attempt
    if attempt is not None:
        console.print(
            f"  last attempt {attempt.status} in run {attempt.run_id[:8]} at "
            f"{_when(attempt.started_at)}" + (f": {escape(attempt.error)}" if attempt.error else "")
        )


def show_execution(console: Console, view: ExecutionView) -> None:
    """One execution, under the address of the step it stands for."""
    execution, address = view.execution, view.address
    c = execution.components
    console.print(f"[bold]{escape(address or execution.address)}[/]")
    if address is not None and address != execution.address:
        console.print(f"  moved from   {escape(execution.address)}")
    console.print(
        f"  status       {execution.status}"
        + (f": {escape(execution.error)}" if execution.error else "")
    )
    console.print(f"  run          {execution.run_id[:8]} at {_when(execution.started_at)}")
    if execution.duration is not None:
        console.print(f"  duration     {format_duration(execution.duration)}")
    console.print(f"  commit       {_commit(view.run)}")
    if execution.fingerprint:
        console.print(f"  fingerprint  {execution.fingerprint}")
    if c:
        console.print(f"  run target   {escape(c['run'])}")
        console.print("  code")
        for path, digest in c["code"].items():
            console.print(f"    {escape(path)}  {short(digest)}")
        console.print("  params")
        for key, value in sorted(c["params"].items()):
            console.print(f"    {escape(key)} = {escape(show_value(value))}")
        console.print("  inputs")
        for name, entry in c["inputs"].items():
            console.print(
                f"    {escape(name)} <- {escape(entry['ref'])}  {short(entry['hash'])}"
                + _origin(entry, view.producers.get(name))
            )
    if execution.outputs:
        console.print("  outputs")
        for name, item in execution.outputs.items():
            console.print(
                f"    {escape(name)}  {short(item['hash'])}  {item['materializer']}  "
                f"{item['size']} bytes  {escape(item['uri'])}"
            )
    if view.metrics:
        console.print("  metrics")
        for metric in view.metrics:
            console.print(
                f"    {escape(metric.output)}.{escape(metric.name)} = "
                f"{escape(show_value(metric.value))}"
            )
    for key, value in sorted(execution.details.items()):
        console.print(f"  {escape(key):<12} {escape(value)}")
    if execution.log_uri:
        console.print(f"  log          {escape(execution.log_uri)}")


def _origin(entry: dict[str, Any], producer_run: str | None) -> str:
    """Where an input came from: a source's path, or the run that produced the artifact."""
    if entry["ref"].startswith("source.") or not entry["hash"]:
        return f"  ({escape(entry.get('path', ''))})" if entry.get("path") else ""
    return f"  (produced by run {producer_run[:8]})" if producer_run else ""


def _show_run(console: Console, view: RunView) -> None:
    run = view.run
    console.print(f"[bold]run {run.id}[/]")
    console.print(f"  status   {run.status}")
    console.print(f"  started  {_when(run.started_at)}  finished {_when(run.finished_at)}")
    console.print(f"  commit   {_commit(run)}")
    console.print(
        f"  by       {run.username or '-'}@{run.host or '-'}  zenctl {run.zenctl_version}"
    )
    for execution in view.executions:
        took = f" {format_duration(execution.duration)}" if execution.duration is not None else ""
        console.print(f"  {execution.status:<12} {escape(execution.address)}{took}")


def _show_artifact(console: Console, view: ArtifactView) -> None:
    artifact = view.artifact
    console.print(f"[bold]artifact {artifact.hash}[/]")
    console.print(f"  materializer  {artifact.materializer}")
    console.print(f"  size          {artifact.size} bytes")
    console.print(f"  uri           {escape(artifact.uri)}")
    for consumer in view.consumers:
        console.print(f"  consumed by   {escape(consumer.address)} in run {consumer.run_id[:8]}")
    if view.producer is not None:
        producer = view.producer.execution
        console.print(f"  produced by   {escape(producer.address)} in run {producer.run_id[:8]}")
        show_execution(console, view.producer)
