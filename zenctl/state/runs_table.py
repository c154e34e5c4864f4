"""The experiments table of `zenctl runs`: each run as a row of keys (its result, who, the
commit, the params every planned step ran or was reused with, its metrics) with the params
that changed since the previous run of its workspace, filtered by `--where`, sorted by
`--sort`, cut to `--limit` (zenctl/state/run_query.py is the grammar). Plain data read from
the store; render/runs.py draws it.

A run's params are those its apply recorded when it began (`summary.steps`), cached steps
included. A param or metric is named `params.NAME` / `metrics.NAME`, or, when two steps of
the runs read have one of that name, `params.STEP.NAME` (`PIPELINE.STEP` when two pipelines
have that step): the qualified name always works in --where and --sort.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from zenctl.fingerprint.canonical import canonical_json
from zenctl.state.records import Execution, Run
from zenctl.state.run_query import Sort, check_keys, parse_sort, parse_where, sort_rows

if TYPE_CHECKING:  # the rows are plain data: drawing them needs no store
    from zenctl.state.store import StateStore

_PAGE = 50  # older runs read at a time to find the previous run of the last one listed


class Fact(NamedTuple):
    """A param or metric one step of a run had (a tuple: 10,000 runs make 100,000 facts)."""

    kind: str  # "params" or "metrics"
    address: str
    name: str
    value: Any


@dataclass(frozen=True, slots=True)
class Change:
    """A param that differs from the previous run of the workspace; None: absent there."""

    key: str
    before: Any
    after: Any
    was_set: bool  # the previous run had it
    is_set: bool  # this run has it


@dataclass(frozen=True, slots=True)
class RunRow:
    run: Run
    values: dict[str, Any]  # every key --where and --sort can name, qualified ones too
    params: dict[str, Any]  # by the key shown: short unless two steps share the name
    metrics: dict[str, Any]
    changed: tuple[Change, ...]
    compared: bool  # a previous run with params was found to compare with


@dataclass(frozen=True, slots=True)
class RunsTable:
    rows: list[RunRow]
    columns: list[str]  # the params and metrics keys shown as columns, in order


def runs_table(
    store: StateStore,
    workspace: str,
    where: Sequence[str] = (),
    sort: str | None = None,
    limit: int = 20,
) -> RunsTable:
    """The rows `zenctl runs` lists, newest first unless sorted. A condition on `workspace`
    looks at every workspace's runs; otherwise only `workspace`'s are read."""
    conditions = [parse_where(text) for text in where]
    order: Sort | None = parse_sort(sort) if sort else None
    every = any(condition.key == "workspace" for condition in conditions)
    if conditions or order:
        read = store.runs(None if every else workspace)
        listed = read
    else:
        listed = store.runs(workspace, limit)
        read = _with_previous(store, workspace, listed)
    rows = _rows_of(store, read)
    named = [condition.key for condition in conditions] + ([order.key] if order else [])
    check_keys(named, {key for row in rows for key in row.values} | set(BUILT_IN))
    ids = {run.id for run in listed}
    kept = [row for row in rows if row.run.id in ids]
    kept = [row for row in kept if all(c.holds(row.values) for c in conditions)]
    if order is not None:
        kept = sort_rows(kept, order, lambda row: row.values)
    kept = kept[:limit]
    shown = sorted({key for row in kept for key in row.metrics})
    shown += [key for key in dict.fromkeys(named) if key not in BUILT_IN and key not in shown]
    return RunsTable(kept, shown)


def run_row(store: StateStore, run: Run) -> RunRow:
    """One run's row, compared with the previous run of its workspace."""
    return _rows_of(store, _with_previous(store, run.workspace, [run]))[0]


def _rows_of(store: StateStore, read: list[Run]) -> list[RunRow]:
    facts = {run.id: _param_facts(run) for run in read}
    for run_id, metrics in _metric_facts(store, [run.id for run in read]).items():
        facts[run_id] = facts.get(run_id, []) + metrics
    return _rows(read, facts, _keys(fact for found in facts.values() for fact in found))


# The keys every run has, beside its params and metrics.
BUILT_IN = (
    "id",
    "workspace",
    "result",
    "started",
    "duration",
    "commit",
    "dirty",
    "user",
    "host",
    "ran",
    "reused",
)


def _built_in(run: Run) -> dict[str, Any]:
    started = datetime.datetime.fromtimestamp(run.started_at)
    return {
        "id": run.id,
        "workspace": run.workspace,
        "result": run.status,
        "started": started.strftime("%Y-%m-%d %H:%M:%S"),
        "duration": run_duration(run),
        "commit": run.git_sha,
        "dirty": run.git_dirty,
        "user": run.username,
        "host": run.host,
        "ran": run.summary.get("ran"),
        "reused": run.summary.get("cached"),
    }


def run_duration(run: Run) -> float | None:
    return None if run.finished_at is None else run.finished_at - run.started_at


def _with_previous(store: StateStore, workspace: str, listed: list[Run]) -> list[Run]:
    """`listed` and older runs back to one with params, which the oldest listed run's
    changed params compare with."""
    read, page = list(listed), _PAGE
    while read and not any(run.planned is not None for run in read[len(listed) :]):
        older = store.runs(workspace, page, before=read[-1].started_at)
        if not older:
            break
        read += older
        page *= 2  # a history from before runs recorded params is read in few queries
    return read


def _param_facts(run: Run) -> list[Fact]:
    return [
        Fact("params", address, name, value)
        for address, step in (run.planned or {}).items()
        for name, value in sorted(step.get("params", {}).items())
    ]


def _metric_facts(store: StateStore, run_ids: list[str]) -> dict[str, list[Fact]]:
    """The metrics of each run: those of every step it stood on, reused ones included."""
    found = store.metrics_of_runs(run_ids)
    return {run: [Fact("metrics", m.address, m.name, m.value) for m in found[run]] for run in found}


# (kind, address, name) -> (the key shown, the key qualified with the step)
Keys = dict[tuple[str, str, str], tuple[str, str]]


def _keys(facts: Iterable[Fact]) -> Keys:
    """Each param's and metric's keys: shown short, unless two steps share the name."""
    found = {(fact.kind, fact.address, fact.name) for fact in facts}
    holders: dict[tuple[str, str], set[str]] = defaultdict(set)
    for kind, address, name in found:
        holders[(kind, name)].add(address)
    qualifier = _qualifiers({address for _, address, _ in found})
    keys: Keys = {}
    for kind, address, name in found:
        qualified = f"{kind}.{qualifier[address]}.{name}"
        keys[(kind, address, name)] = (
            f"{kind}.{name}" if len(holders[(kind, name)]) == 1 else qualified,
            qualified,
        )
    return keys


def _qualifiers(addresses: set[str]) -> dict[str, str]:
    """Each step's shortest name among these: `train`, or `iris.train` when another
    pipeline has a step `train` too."""
    steps: dict[str, int] = defaultdict(int)
    for address in addresses:
        steps[address.rsplit(".", 1)[-1]] += 1
    qualifiers = {}
    for address in addresses:
        parts = address.split(".")  # pipeline.NAME.step.NAME
        step = parts[-1]
        qualifiers[address] = step if steps[step] == 1 or len(parts) < 4 else f"{parts[1]}.{step}"
    return qualifiers


def _rows(runs: list[Run], facts: dict[str, list[Fact]], keys: Keys) -> list[RunRow]:
    """Each run's row, its changes against the previous run of its workspace with params."""
    previous: dict[str, dict[str, Any]] = {}  # workspace -> params of its latest run read
    rows: list[RunRow] = []
    for run in reversed(runs):  # oldest first: each compares with the one before
        values = _built_in(run)
        shown: dict[str, dict[str, Any]] = {"params": {}, "metrics": {}}
        for fact in facts.get(run.id, []):
            key, qualified = keys[(fact.kind, fact.address, fact.name)]
            values[key] = values[qualified] = shown[fact.kind][key] = fact.value
        before = previous.get(run.workspace)
        planned = run.planned is not None
        changed = _changes(before, shown["params"]) if before is not None and planned else ()
        if planned:
            previous[run.workspace] = shown["params"]
        compared = before is not None and planned
        rows.append(RunRow(run, values, shown["params"], shown["metrics"], changed, compared))
    rows.reverse()
    return rows


def _changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[Change, ...]:
    return tuple(
        Change(key, before.get(key), after.get(key), key in before, key in after)
        for key in sorted(before.keys() | after.keys())
        if key not in before or key not in after or not _same(before[key], after[key])
    )


def _same(a: Any, b: Any) -> bool:
    """Equal as recorded: 1 and true differ, as do 1 and 1.0 (their JSON does). Scalars of
    one type compare directly: canonical JSON for each of 10,000 runs' params costs seconds."""
    if type(a) is type(b) and not isinstance(a, dict | list):
        return bool(a == b)
    return canonical_json(a) == canonical_json(b)


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """One step of a run, for `zenctl runs show`: what it did there."""

    address: str
    status: str  # an execution's status, or "reused", or "not run" (the run stopped first)
    ran: bool
    duration: float | None
    log_uri: str | None
    error: str | None


def step_outcomes(run: Run, executions: Sequence[Execution]) -> list[StepOutcome]:
    """The run's steps: those it executed (or marked), then those it reused, in plan order
    where the run recorded its plan."""
    by_address = {execution.address: execution for execution in executions}
    planned = run.planned or {}
    outcomes = []
    for address in dict.fromkeys([*planned, *by_address]):
        execution = by_address.get(address)
        if execution is not None:
            ran = execution.status not in ("skipped", "removed", "forgotten")
            outcomes.append(
                StepOutcome(
                    address,
                    execution.status,
                    ran,
                    execution.duration,
                    execution.log_uri,
                    execution.error,
                )
            )
        else:
            status = "reused" if planned[address].get("reused") else "not run"
            outcomes.append(StepOutcome(address, status, False, None, None, None))
    return outcomes
