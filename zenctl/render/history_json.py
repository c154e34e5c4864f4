"""The JSON documents of `show`, `state show` and `state list`: steps, runs and artifacts with
their lineage, under the conventions of documents.py (specs/show.schema.json,
specs/state-list.schema.json)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zenctl.render.documents import document, iso_time
from zenctl.state.history import ArtifactView, ExecutionView, HistoryView, RunView, StepView
from zenctl.state.records import Artifact, Execution, Run


def run_entry(run: Run) -> dict[str, Any]:
    """One run: who, where, from which commit, and its counts."""
    return {
        "id": run.id,
        "workspace": run.workspace,
        "status": run.status,
        "started_at": iso_time(run.started_at),
        "finished_at": iso_time(run.finished_at),
        "commit": {"sha": run.git_sha, "dirty": run.git_dirty},
        "zenctl_version": run.zenctl_version,
        "user": run.username,
        "host": run.host,
        "summary": run.counts,
    }


# The counts an apply records with its run (zenctl/apply/walker.py), in the order shown.
RUN_COUNTS = (
    "ran",
    "cached",
    "failed",
    "skipped",
    "interrupted",
    "removed",
    "added",
    "changed",
    "destroyed",
)
RUN_COLUMNS = (
    "id",
    "workspace",
    "status",
    "started_at",
    "finished_at",
    "zenctl_version",
    "user",
    "host",
    "git_sha",
    "git_dirty",
    *RUN_COUNTS,
)


def run_row(run: Run) -> dict[str, Any]:
    """One run as a flat row of a table (the Python API's `zenctl.runs()`): `run_entry`'s
    fields, with its commit's and each of RUN_COUNTS as a column of its own (None where the
    run recorded none: one still running, a `state rm`). Its keys are RUN_COLUMNS, in order."""
    entry = run_entry(run)
    commit, summary = entry.pop("commit"), entry.pop("summary")
    return {
        **entry,
        "git_sha": commit["sha"],
        "git_dirty": commit["dirty"],
        **{count: summary.get(count) for count in RUN_COUNTS},
    }


def execution_entry(execution: Execution) -> dict[str, Any]:
    """One execution of a step, as recorded: its components (params with secrets as keyed
    hashes), its outputs, and where its log is."""
    return {
        "id": execution.id,
        "address": execution.address,
        "run_id": execution.run_id,
        "status": execution.status,
        "error": execution.error,
        "started_at": iso_time(execution.started_at),
        "finished_at": iso_time(execution.finished_at),
        "duration_seconds": execution.duration,
        "fingerprint": execution.fingerprint,
        "components": execution.components or None,
        "outputs": execution.outputs,
        "details": execution.details,
        "log_uri": execution.log_uri,
    }


def _with_lineage(view: ExecutionView) -> dict[str, Any]:
    """An execution under the address of the step it stands for, with the run that recorded
    it and the run that produced each input artifact."""
    return {
        **execution_entry(view.execution),
        "address": view.address or view.execution.address,
        "moved_from": (
            view.execution.address
            if view.address is not None and view.address != view.execution.address
            else None
        ),
        "run": run_entry(view.run) if view.run is not None else None,
        "input_producers": view.producers,
        "metrics": [
            {"output": metric.output, "name": metric.name, "value": metric.value}
            for metric in view.metrics
        ],
    }


def _artifact(artifact: Artifact) -> dict[str, Any]:
    return {
        "hash": artifact.hash,
        "materializer": artifact.materializer,
        "size": artifact.size,
        "uri": artifact.uri,
        "created_at": iso_time(artifact.created_at),
        "produced_by": artifact.produced_by,
    }


def show_document(view: HistoryView, workspace: str) -> dict[str, Any]:
    """`zenctl show TARGET --json`: a step, a run or an artifact, with its lineage."""
    if isinstance(view, RunView):
        return document(
            workspace=workspace,
            kind="run",
            run=run_entry(view.run),
            executions=[execution_entry(e) for e in view.executions],
        )
    if isinstance(view, ArtifactView):
        return document(
            workspace=workspace,
            kind="artifact",
            artifact=_artifact(view.artifact),
            producer=_with_lineage(view.producer) if view.producer is not None else None,
            consumers=[execution_entry(e) for e in view.consumers],
        )
    return step_document(view, workspace)


def step_document(view: StepView, workspace: str) -> dict[str, Any]:
    """A step: the execution that stands for it, and a later attempt that did not settle
    (`state show` has none: it shows the state alone)."""
    attempt = view.last_attempt
    return document(
        workspace=workspace,
        kind="step",
        step=_with_lineage(view.shown),
        last_attempt=execution_entry(attempt) if attempt is not None else None,
    )


def state_list_document(in_state: Mapping[str, Execution], workspace: str) -> dict[str, Any]:
    """`zenctl state list --json`: every step in state with the execution standing for it."""
    return document(
        workspace=workspace,
        steps=[
            {
                "address": address,
                "fingerprint": execution.fingerprint,
                "execution_id": execution.id,
                "run_id": execution.run_id,
                "finished_at": iso_time(execution.finished_at),
            }
            for address, execution in in_state.items()
        ],
    )
