"""Garbage collection: what in the artifact stores no kept execution references any more.

Decided from the metadata store alone (the retention policy), then swept per artifact store.
Anything younger than `GRACE_SECONDS` stays: an apply running now may have stored it without
recording it yet (docs/integrity.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from zenctl.providers.protocol import ArtifactStore, StoredItem
from zenctl.state.store import Execution

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


def referenced(executions: Iterable[Execution]) -> set[str]:
    """Every hash a kept execution produced or consumed: its artifacts and source snapshots."""
    hashes: set[str] = set()
    for execution in executions:
        hashes.update(item["hash"] for item in execution.outputs.values())
        inputs = execution.components.get("inputs", {}).values()
        hashes.update(entry["hash"] for entry in inputs if entry.get("hash"))
    return hashes


def collect(stores: Iterable[ArtifactStore], keep: set[str], cutoff: float) -> Collection:
    """What may go: unreferenced objects and snapshots, leftovers of killed applies and
    quarantined corrupt objects, all last modified before `cutoff`."""
    found = Collection()
    for store in stores:
        garbage: list[StoredItem] = []
        for item in store.items():
            if item.digest is not None and item.digest in keep:
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
