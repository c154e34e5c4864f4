"""What `show` and `state show` print, read from the store: one step's current state (and a
later attempt that did not settle), one run and its executions, or one artifact with who made
and who read it. Plain data, extracted here so that render/history.py only draws it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from zenctl.diagnostics import UserError, suggest
from zenctl.state.records import SETTLED, Artifact, Execution, MetricRecord, Run

if TYPE_CHECKING:  # the views are plain data: drawing them needs no store
    from zenctl.state.store import StateStore


@dataclass(frozen=True, slots=True)
class ExecutionView:
    execution: Execution
    # the step it stands for when a `moved` block renamed it; None: its own address
    address: str | None
    run: Run | None  # the run that recorded it (its commit, for one)
    producers: dict[str, str]  # input name -> the run that produced that input's artifact
    metrics: list[MetricRecord]  # what it recorded of the outputs its step names in `metrics`


@dataclass(frozen=True, slots=True)
class StepView:
    """A step's current state or, for a step that has none, its latest attempt."""

    shown: ExecutionView
    last_attempt: Execution | None  # newer than the current state, and not settled


@dataclass(frozen=True, slots=True)
class RunView:
    run: Run
    executions: list[Execution]


@dataclass(frozen=True, slots=True)
class ArtifactView:
    artifact: Artifact
    consumers: list[Execution]
    producer: ExecutionView | None


HistoryView = StepView | RunView | ArtifactView


def target_view(
    store: StateStore, workspace: str, target: str, moved_to: Mapping[str, str] | None = None
) -> HistoryView:
    """The step, run (ID prefix) or artifact (hash prefix) that `target` names. `moved_to`
    (the configuration's `moved` blocks) finds a renamed step's state before the apply that
    records the move."""
    if target.startswith("pipeline."):
        return _step_view(store, workspace, target, moved_from(target, moved_to or {}))
    run = store.run(target) if len(target) >= 4 else None
    if run is not None:
        return RunView(run, store.executions_of_run(run.id))
    artifact = store.artifact(target) if len(target) >= 6 else None
    if artifact is not None:
        producer = store.execution(artifact.produced_by) if artifact.produced_by else None
        return ArtifactView(
            artifact,
            store.consumers(artifact.hash),
            execution_view(store, producer) if producer is not None else None,
        )
    raise UserError(
        f"Nothing matches {target!r}",
        "Give a step address (pipeline.NAME.step.NAME), a run ID from `zenctl runs`, or an "
        "artifact hash (at least 6 characters).",
    )


def _step_view(store: StateStore, workspace: str, address: str, previous: list[str]) -> StepView:
    """The step's current state (or that of an address it was moved from), and a later
    attempt that did not settle."""
    current = current_execution(store, workspace, address, previous)
    history = store.history(workspace, address, limit=1)
    if current is None and not history:
        recorded = {e.address for e in store.snapshot(workspace).settled.values()}
        raise UserError(
            f"No executions recorded for {address}",
            f"Check the address with `zenctl graph`, or run `zenctl apply` first."
            f"{suggest(address, recorded)}",
        )
    if current is None:
        return StepView(execution_view(store, history[0]), None)
    attempt = history[0] if history else None
    if attempt is not None and (attempt.serial <= current.serial or attempt.status in SETTLED):
        attempt = None  # the current state is the latest word
    return StepView(execution_view(store, current, address), attempt)


def moved_from(address: str, moved_to: Mapping[str, str]) -> list[str]:
    """The addresses a `moved` block renamed to `address` (`moved_to`: Config.moved_to())."""
    return [old for old, new in moved_to.items() if new == address]


def current_execution(
    store: StateStore, workspace: str, address: str, previous: list[str]
) -> Execution | None:
    """The step's current state, or that of an address it was moved from (`moved_from`)
    while no apply has recorded the move yet."""
    current = store.current(workspace, address)
    for old in previous:
        current = current or store.current(workspace, old)
    return current


def execution_view(
    store: StateStore, execution: Execution, address: str | None = None
) -> ExecutionView:
    """One execution with what its display needs; `address` is the step it stands for when
    a `moved` block renamed it."""
    producers: dict[str, str] = {}
    for name, entry in execution.components.get("inputs", {}).items():
        if entry["ref"].startswith("source.") or not entry["hash"]:
            continue  # source data: no producer to name
        artifact = store.artifact(entry["hash"])
        producer = (
            store.execution(artifact.produced_by) if artifact and artifact.produced_by else None
        )
        if producer is not None:
            producers[name] = producer.run_id
    metrics = store.metrics_of_executions({execution.address: execution.id})
    return ExecutionView(execution, address, store.run(execution.run_id), producers, metrics)
