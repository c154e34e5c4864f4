"""What the store hands out: one record per kind of row (a run, a step execution, an artifact,
a resource), the snapshot a plan reads, and the statuses that settle a step.

Plain frozen data, built from rows by the store and read by plan, apply, gc and the history
views; nothing here touches a database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from zenctl.state.db import Row

# Statuses that end a step's story in state: it succeeded, it is no longer declared, or the
# user made zenctl forget it (`zenctl state rm`: the next apply runs it again).
SETTLED = ("succeeded", "removed", "forgotten")

EMPTY_LINEAGE = "(none)"  # what a plan without a store records as the lineage it saw


R = TypeVar("R")


def from_row(
    cls: type[R], row: Row, json_columns: tuple[str, ...] = (), booleans: tuple[str, ...] = ()
) -> R:
    """The record `cls` (a dataclass) of a row with a column of each field's name, the
    columns holding JSON text parsed (NULL: empty), and booleans made so from SQLite's and
    MySQL's 0 and 1."""
    values = {field.name: row[field.name] for field in fields(cls)}  # type: ignore[arg-type]
    for column in json_columns:
        values[column] = json.loads(values[column] or "{}")
    for column in booleans:
        values[column] = None if values[column] is None else bool(values[column])
    return cls(**values)


@dataclass(frozen=True, slots=True)
class Run:
    """One apply (or `state rm`): who ran it, where, from which commit, and its counts."""

    id: str
    workspace: str
    status: str
    started_at: float
    finished_at: float | None
    git_sha: str | None
    git_dirty: bool | None
    zenctl_version: str
    username: str | None
    host: str | None
    # counts once it ended (ran, cached, failed...); an apply's `steps` from when it began:
    # each planned step's params, and whether it was reused
    summary: dict[str, Any]

    @classmethod
    def from_row(cls, row: Row) -> Run:
        return from_row(cls, row, json_columns=("summary",), booleans=("git_dirty",))

    @property
    def counts(self) -> dict[str, int]:
        """The summary's counts: empty while it runs."""
        return {key: value for key, value in self.summary.items() if key != "steps"}

    @property
    def planned(self) -> dict[str, dict[str, Any]] | None:
        """The steps its apply recorded when it began: address -> {params, reused}. None for
        a `state rm` and for runs of a zenctl from before runs recorded them."""
        steps = self.summary.get("steps")
        return steps if isinstance(steps, dict) else None


@dataclass(frozen=True, slots=True)
class Execution:
    id: str
    run_id: str
    address: str
    serial: int
    status: str
    fingerprint: str | None
    components: dict[str, Any]
    outputs: dict[str, dict[str, Any]]
    started_at: float | None
    finished_at: float | None
    duration: float | None
    log_uri: str | None
    error: str | None
    details: dict[str, str]  # from the executor: e.g. a Dataflow job's ID and console URL

    @classmethod
    def from_row(cls, row: Row) -> Execution:
        return from_row(cls, row, json_columns=("components", "outputs", "details"))


@dataclass(frozen=True, slots=True)
class Artifact:
    """Bytes some step wrote, by content hash, with the execution that first produced them."""

    hash: str
    materializer: str
    size: int
    uri: str
    created_at: float
    produced_by: str | None

    @classmethod
    def from_row(cls, row: Row) -> Artifact:
        return from_row(cls, row)


@dataclass(frozen=True, slots=True)
class ResourceRecord:
    """A resource as the last apply left it."""

    address: str
    kind: str
    type: str
    attributes: dict[str, Any]
    state: dict[str, Any]

    @classmethod
    def from_row(cls, row: Row) -> ResourceRecord:
        return from_row(cls, row, json_columns=("attributes", "state"))


@dataclass(frozen=True, slots=True)
class StateSnapshot:
    """What a plan needs from state, read with a fixed number of queries."""

    lineage: str
    serial: int
    # each address's current state: the execution the last apply left in place (a reuse from
    # history included), or the mark that removed or forgot the step; keyed by the address it
    # stands for now, which a `moved` block makes differ from the execution's own
    settled: dict[str, Execution]
    attempts: dict[str, Execution]  # latest other attempt (failed, interrupted...) per address


# What a metric's value may be: a flat mapping's scalar, as the step returned it.
MetricValue = float | int | str | bool | None


@dataclass(frozen=True, slots=True)
class MetricRecord:
    """One key of a step's metrics output, as an execution recorded it."""

    address: str  # the step's address
    output: str  # the metrics output's name
    name: str  # the key inside the output's mapping
    value: MetricValue


def metric_order(record: MetricRecord) -> tuple[str, str, str]:
    """Metrics listed by step, output and name (values of mixed types do not compare)."""
    return record.address, record.output, record.name
