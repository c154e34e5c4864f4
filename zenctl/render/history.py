"""Past runs, and one step, run or artifact with its lineage, for `runs` and `show`."""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from zenctl.diagnostics import UserError
from zenctl.fingerprint.canonical import short
from zenctl.plan.diff import show_value
from zenctl.render.plan_text import format_duration
from zenctl.state.db import Row
from zenctl.state.store import SETTLED, Execution, StateStore


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")


def _commit(run: Row | None) -> str:
    if run is None or not run["git_sha"]:
        return "(not a git repository)"
    return str(run["git_sha"])[:12] + (" (uncommitted changes)" if run["git_dirty"] else "")


def render_runs(console: Console, runs: list[Row]) -> None:
    if not runs:
        console.print("No runs yet. Run `zenctl apply` to make one.")
        return
    table = Table(box=None, pad_edge=False)
    for column in ("RUN", "STARTED", "STATUS", "RAN", "CACHED", "FAILED", "COMMIT"):
        table.add_column(column)
    for run in runs:
        summary = json.loads(run["summary"] or "{}")
        table.add_row(
            run["id"][:8],
            _when(run["started_at"]),
            run["status"],
            str(summary.get("ran", "-")),
            str(summary.get("cached", "-")),
            str(summary.get("failed", "-")),
            (run["git_sha"] or "-")[:12],
        )
    console.print(table)


def show_target(
    console: Console,
    store: StateStore,
    workspace: str,
    target: str,
    moved_to: Mapping[str, str] | None = None,
) -> None:
    """`moved_to` (the configuration's `moved` blocks) finds a renamed step's state before
    the apply that records the move."""
    if target.startswith("pipeline."):
        previous = [old for old, new in (moved_to or {}).items() if new == target]
        _show_step(console, store, workspace, target, previous)
        return
    run = store.run(target) if len(target) >= 4 else None
    if run is not None:
        _show_run(console, store, run)
        return
    artifact = store.artifact(target) if len(target) >= 6 else None
    if artifact is not None:
        _show_artifact(console, store, artifact)
        return
    raise UserError(
        f"Nothing matches {target!r}",
        "Give a step address (pipeline.NAME.step.NAME), a run ID from `zenctl runs`, or an "
        "artifact hash (at least 6 characters).",
    )


def _show_step(
    console: Console, store: StateStore, workspace: str, address: str, previous: list[str]
) -> None:
    """The step's current state (or that of an address it was moved from); a later attempt
    that did not settle is named below it."""
    current = store.current(workspace, address)
    for old in previous:
        current = current or store.current(workspace, old)
    history = store.history(workspace, address, limit=1)
    if current is None and not history:
        raise UserError(
            f"No executions recorded for {address}",
            "Check the address with `zenctl graph`, or run `zenctl apply` first.",
        )
    if current is None:
        show_execution(console, store, history[0])
        return
    show_execution(console, store, current, address)
    attempt = history[0] if history else None
    if attempt is not None and attempt.serial > current.serial and attempt.status not in SETTLED:
        console.print(
            f"  last attempt {attempt.status} in run {attempt.run_id[:8]} at "
            f"{_when(attempt.started_at)}" + (f": {escape(attempt.error)}" if attempt.error else "")
        )


def show_execution(
    console: Console, store: StateStore, execution: Execution, address: str | None = None
) -> None:
    """One execution; `address` is the step it stands for when a `moved` block renamed it."""
    run = store.run(execution.run_id)
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
    console.print(f"  commit       {_commit(run)}")
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
                + _producer(store, entry)
            )
    if execution.outputs:
        console.print("  outputs")
        for name, item in execution.outputs.items():
            console.print(
                f"    {escape(name)}  {short(item['hash'])}  {item['materializer']}  "
                f"{item['size']} bytes  {escape(item['uri'])}"
            )
    for key, value in sorted(execution.details.items()):
        console.print(f"  {escape(key):<12} {escape(value)}")
    if execution.log_uri:
        console.print(f"  log          {escape(execution.log_uri)}")


def _producer(store: StateStore, entry: dict[str, Any]) -> str:
    if entry["ref"].startswith("source.") or not entry["hash"]:
        return f"  ({escape(entry.get('path', ''))})" if entry.get("path") else ""
    artifact = store.artifact(entry["hash"])
    producer = (
        store.execution(artifact["produced_by"]) if artifact and artifact["produced_by"] else None
    )
    return f"  (produced by run {producer.run_id[:8]})" if producer else ""


def _show_run(console: Console, store: StateStore, run: Row) -> None:
    console.print(f"[bold]run {run['id']}[/]")
    console.print(f"  status   {run['status']}")
    console.print(f"  started  {_when(run['started_at'])}  finished {_when(run['finished_at'])}")
    console.print(f"  commit   {_commit(run)}")
    console.print(
        f"  by       {run['username'] or '-'}@{run['host'] or '-'}  zenctl {run['zenctl_version']}"
    )
    for execution in store.executions_of_run(run["id"]):
        took = f" {format_duration(execution.duration)}" if execution.duration is not None else ""
        console.print(f"  {execution.status:<12} {escape(execution.address)}{took}")


def _show_artifact(console: Console, store: StateStore, artifact: Row) -> None:
    console.print(f"[bold]artifact {artifact['hash']}[/]")
    console.print(f"  materializer  {artifact['materializer']}")
    console.print(f"  size          {artifact['size']} bytes")
    console.print(f"  uri           {escape(artifact['uri'])}")
    producer = store.execution(artifact["produced_by"]) if artifact["produced_by"] else None
    for consumer in store.consumers(artifact["hash"]):
        console.print(f"  consumed by   {escape(consumer.address)} in run {consumer.run_id[:8]}")
    if producer is not None:
        console.print(f"  produced by   {escape(producer.address)} in run {producer.run_id[:8]}")
        show_execution(console, store, producer)
