"""Drift: where reality no longer matches what the last apply recorded (`zenctl drift`,
`zenctl plan --refresh-only`).

Two things are compared, and nothing else: each recorded resource against what its provider
reads back (as `plan` refreshes it), and each source file or dep (a step's `deps`) a current
execution read against its recorded content hash. Code, params and the configuration are never
fingerprinted: they are the user's own edits, which `plan` reviews, not changes made behind
zenctl's back. Reading state, files and providers is all this does; the report is published as
its own document (specs/drift.schema.json, written by zenctl/render/drift.py), since it plans
no step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zenctl.diagnostics import UserError
from zenctl.fingerprint.files import StatCache, hash_path
from zenctl.paths import resolve_in_project
from zenctl.plan.model import Change, Digest, Placeholder
from zenctl.plan.resources import DeclaredResource, reader, refresh_state
from zenctl.state.records import Execution, ResourceRecord


@dataclass(frozen=True, slots=True)
class SourceDrift:
    """One source input of a step whose data is no longer the bytes the step read."""

    input: str  # the step's input name
    ref: str  # source.NAME
    path: str  # as recorded (relative to the project folder unless absolute)
    before: str  # the recorded content hash
    after: str | None  # the content hash now; None: the file or folder is gone

    @property
    def change(self) -> Change:
        after = Digest(self.after) if self.after else Placeholder.MISSING
        return Change("~", f"inputs.{self.input} ({self.path})", Digest(self.before), after)


@dataclass(frozen=True, slots=True)
class DepDrift:
    """One file or folder of a step's `deps` that is no longer the bytes the step read."""

    path: str  # as written in `deps` (relative to the project folder unless absolute)
    before: str  # the recorded content hash
    after: str | None  # the content hash now; None: deleted

    @property
    def change(self) -> Change:
        # worded as the plan words a changed dep (`~ deps: configs/ changed`)
        return Change("~", f"deps: {self.path} {'changed' if self.after else 'deleted'}")


@dataclass(frozen=True, slots=True)
class StepDrift:
    address: str
    sources: tuple[SourceDrift, ...]  # may be empty when only deps drifted
    deps: tuple[DepDrift, ...] = ()

    @property
    def data(self) -> tuple[SourceDrift | DepDrift, ...]:
        return (*self.sources, *self.deps)

    @property
    def changes(self) -> tuple[Change, ...]:
        return tuple(item.change for item in self.data)

    @property
    def what(self) -> str:
        gone = all(item.after is None for item in self.data)
        if self.sources:
            return "source data missing" if gone else "source data changed"
        return "deps deleted" if gone else "deps changed"


@dataclass(frozen=True, slots=True)
class ResourceDrift:
    address: str
    kind: str
    type: str
    changes: tuple[Change, ...]  # recorded state -> real state; empty when gone
    recorded: dict[str, Any]  # the state the last apply recorded
    real: dict[str, Any] | None  # what the provider reads now; None: it no longer exists

    @property
    def what(self) -> str:
        return "no longer exists" if self.real is None else "changed"


@dataclass(frozen=True, slots=True)
class DriftReport:
    workspace: str
    lineage: str
    serial: int
    recorded: bool  # a metadata store with state exists
    resources: tuple[ResourceDrift, ...]  # only those that drifted, by address
    steps: tuple[StepDrift, ...]  # only those whose source data or deps drifted, by address
    checked_resources: int
    checked_sources: int  # distinct source and dep files and folders

    @property
    def drifted(self) -> bool:
        return bool(self.resources or self.steps)


def data_drift(
    root: Path, settled: Mapping[str, Execution], cache: StatCache
) -> tuple[tuple[StepDrift, ...], int]:
    """Steps whose recorded source inputs or deps no longer hash the same, and how many
    distinct files and folders were checked. Each is hashed once however many steps read it
    (as a source or a dep); the stat cache is read (unchanged files are not read again) but
    never saved: drift writes nothing."""
    hashes: dict[Path, str | None] = {}

    def now(written: str) -> str | None:
        path = resolve_in_project(root, written)
        if path not in hashes:
            hashes[path] = _hash_now(path, cache)
        return hashes[path]

    drifted: list[StepDrift] = []
    for address, execution in sorted(settled.items()):
        if execution.status != "succeeded":
            continue
        sources = tuple(
            SourceDrift(name, entry["ref"], entry["path"], entry["hash"], now(entry["path"]))
            for name, entry in sorted(execution.components.get("inputs", {}).items())
            if entry["ref"].startswith("source.") and now(entry["path"]) != entry["hash"]
        )
        deps = tuple(
            DepDrift(dep, recorded, now(dep))
            for dep, recorded in sorted(execution.components.get("deps", {}).items())
            if now(dep) != recorded
        )
        if sources or deps:
            drifted.append(StepDrift(address, sources, deps))
    return tuple(drifted), len(hashes)


def _hash_now(path: Path, cache: StatCache) -> str | None:
    if not path.exists():
        return None
    try:
        return hash_path(path, cache)
    except OSError as exc:
        raise UserError(
            f"Reading {path} failed",
            f"{exc}. Drift compares each recorded source file and dep with its content now; "
            "make it readable by this user and run again.",
        ) from None


def resource_drift(
    records: Mapping[str, ResourceRecord],
    declared: Mapping[str, DeclaredResource],
    root: Path,
    workspace: str,
) -> tuple[ResourceDrift, ...]:
    """Each recorded resource read back as `plan` refreshes it; those whose real state moved."""
    drifted = []
    for address, record in sorted(records.items()):
        resource = reader(record, declared.get(address), root)
        real, changes = refresh_state(resource, record, root, workspace, refresh=True)
        if real is None or changes:
            drifted.append(
                ResourceDrift(address, record.kind, record.type, changes, record.state, real)
            )
    return tuple(drifted)
