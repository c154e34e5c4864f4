"""Garbage collection: what in the artifact stores no kept execution references any more.

Decided from the metadata store (the retention policy, each step's current state) and from
the plan of the current configuration in every workspace (what it would reuse), then swept
per artifact store.
Anything younger than `GRACE_SECONDS` stays: an apply running now may have stored it without
recording it yet (docs/integrity.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from zenctl.artifacts.trees import DIRECTORY, members
from zenctl.config.model import Config
from zenctl.fingerprint.step import Fingerprinter
from zenctl.plan.model import StepPlan
from zenctl.providers.protocol import ArtifactStore, StoredItem
from zenctl.state.records import Execution
from zenctl.state.store import StateStore

GRACE_SECONDS = 15 * 60


@dataclass
class Collection:
    garbage: list[tuple[ArtifactStore, list[StoredItem]]] = field(default_factory=list)
    kept: int = 0  # referenced by a kept execution
    recent: int = 0  # unreferenced but younger than the grace period

    @property
    def items(self) -> list[StoredItem]:
        return [item for _, items in self.garbage for item in items]

    @property
    def size(self) -> int:
        return sum(item.size for item in self.items)


def referenced(executions: Iterable[Execution | StepPlan]) -> set[str]:
    """Every hash a kept execution (or a cached step of a plan) produced or consumed: its
    artifacts and source snapshots."""
    hashes: set[str] = set()
    for execution in executions:
        outputs = (
            execution.outputs if isinstance(execution, Execution) else execution.cached_outputs
        )
        hashes.update(item["hash"] for item in outputs.values())
        inputs = execution.components.get("inputs", {}).values()
        hashes.update(entry["hash"] for entry in inputs if entry.get("hash"))
    return hashes


def directories(executions: Iterable[Execution | StepPlan]) -> set[str]:
    """The manifests among what `referenced` gives: a stored directory's files stay with it.

    Known from the outputs that produced them; a directory only consumed by a kept execution
    (its producer's executions gone) keeps its manifest, not its files."""
    return {
        item["hash"]
        for execution in executions
        for item in (
            execution.outputs if isinstance(execution, Execution) else execution.cached_outputs
        ).values()
        if item.get("materializer") == DIRECTORY
    }


def _files_of(store: ArtifactStore, manifests: Iterable[str]) -> set[str]:
    """The hashes of the files the `manifests` present in `store` list."""
    found: set[str] = set()
    for digest in manifests:
        try:
            found.update(entry["hash"] for entry in members(store.get(digest)))
        except (FileNotFoundError, ValueError, KeyError):
            continue  # gone or damaged: the plan runs its producer again, which stores them anew
    return found


def reused_by_config(
    config: Config,
    variables: Mapping[str, Any],
    fingerprinter: Fingerprinter,
    store: StateStore,
    workspaces: Iterable[str],
) -> list[StepPlan]:
    """The steps that the configuration's plan, in each workspace, would reuse from state:
    whatever their age or address (a renamed step finds its old execution by fingerprint),
    what they read and wrote must stay."""
    from zenctl.plan.planner import PlanInputs, make_plan

    return [
        step
        for workspace in sorted(set(workspaces))
        for step in make_plan(PlanInputs(config, variables, workspace), fingerprinter, store).cached
    ]


def collect(
    stores: Iterable[ArtifactStore],
    keep: set[str],
    cutoff: float,
    manifests: set[str] | None = None,
) -> Collection:
    """What may go: unreferenced objects and snapshots, leftovers of killed applies and
    quarantined corrupt objects, all last modified before `cutoff`. The files of each kept
    directory (`manifests`, from `directories`) are kept with it."""
    found = Collection()
    for store in stores:
        kept = keep | _files_of(store, sorted((manifests or set()) & keep))
        garbage: list[StoredItem] = []
        for item in store.items():
            if item.digest is not None and item.digest in kept:
                found.kept += 1
            elif item.modified >= cutoff:
                found.recent += 1
            else:
                garbage.append(item)
        if garbage:
            found.garbage.append((store, garbage))
    return found


def sweep(collection: Collection) -> None:
    for store, items in collection.garbage:
        store.remove(items)
