"""The store's reads: what a plan, `show`, `runs`, `gc` and the workspaces commands ask of
state. Each method reads committed rows only, and is retried on a transient failure."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence

from zenctl.state.base import StoreBase, retried
from zenctl.state.db import Row, in_clause
from zenctl.state.records import (
    EMPTY_LINEAGE,
    SETTLED,
    Artifact,
    Execution,
    MetricRecord,
    MetricValue,
    ResourceRecord,
    Run,
    StateSnapshot,
    metric_order,
)

_COLUMNS = (
    "e.id, e.run_id, e.workspace, e.address, e.serial, e.status, e.fingerprint, e.components, "
    "e.outputs, e.started_at, e.finished_at, e.duration, e.log_uri, e.error, e.details"
)
_RUN_FILTERS = {"workspace": "workspace = :workspace", "before": "started_at < :before"}
SETTLED_SQL = ", ".join(f"'{status}'" for status in SETTLED)

# One statement: the current state of every address, then the latest other attempt of each.
_CURRENT_AND_ATTEMPTS = f"""
SELECT {_COLUMNS}, c.address AS slot_ FROM current_steps c
  JOIN step_executions e ON e.id = c.execution_id WHERE c.workspace = :workspace
UNION ALL
SELECT {_COLUMNS}, NULL AS slot_ FROM (
  SELECT e.*, ROW_NUMBER() OVER (PARTITION BY address ORDER BY serial DESC) AS rank_
  FROM step_executions e WHERE workspace = :workspace AND status NOT IN ({SETTLED_SQL})
) e WHERE rank_ = 1
"""


# What each run put in place: the executions it settled (ran, removed, forgot) and
# those it reused from history or took over from a moved step (run_placements; no execution:
# the address was left). `{where}` narrows both to some workspace.
_PLACEMENTS = f"""
SELECT id AS execution_id, run_id, address, status, serial FROM step_executions
WHERE status IN ({SETTLED_SQL}) {{where}}
UNION ALL
SELECT execution_id, run_id, address,
  CASE WHEN execution_id IS NULL THEN 'removed' ELSE 'succeeded' END AS status, serial
FROM run_placements WHERE 1 = 1 {{where}}
"""
# The same, each with the metrics its execution recorded (one row per metric; none: NULLs).
_PLACEMENTS_WITH_METRICS = f"""
SELECT p.execution_id, p.run_id, p.address, p.status, p.serial, m.output, m.name, m.value_json
FROM ({_PLACEMENTS.format(where="")}) p LEFT JOIN metrics m ON m.execution_id = p.execution_id
ORDER BY p.serial
"""


def placed_after_runs(
    runs: Iterable[Row], placements: Iterable[Row], wanted: Collection[str]
) -> dict[str, dict[str, str]]:
    """For each wanted run: {address: execution id} current after it, by replaying each
    workspace's placements (`_PLACEMENTS`, in serial order; a row repeated is harmless) run
    by run (`runs` with id, workspace and status, in start order). A removed or forgotten
    step drops out. An apply that ran nothing records no run: what it put in place counts
    from the next run on. A run that did not succeed stands only on what it put in place
    itself: the steps after its failure were never run with its params, and what an earlier
    run left there is not its result."""
    by_run: dict[str, list[Row]] = {}
    for row in placements:
        by_run.setdefault(row["run_id"], []).append(row)
    placed: dict[str, dict[str, str]] = {}
    found: dict[str, dict[str, str]] = {}
    for run in runs:
        now = placed.setdefault(run["workspace"], {})
        for row in by_run.get(run["id"], []):
            if row["status"] == "succeeded":
                now[row["address"]] = row["execution_id"]
            else:
                now.pop(row["address"], None)
        if run["id"] in wanted:
            ours = {r["address"] for r in by_run.get(run["id"], [])}
            whole = run["status"] in ("succeeded", "state rm")  # a whole state, as planned
            found[run["id"]] = {a: e for a, e in now.items() if whole or a in ours}
    return found


class Reading(StoreBase):
    @retried
    def snapshot(self, workspace: str) -> StateSnapshot:
        state = self.db.query("SELECT lineage, serial FROM zenctl_state WHERE id = 1")
        settled: dict[str, Execution] = {}
        attempts: dict[str, Execution] = {}
        for row in self.db.query(_CURRENT_AND_ATTEMPTS, {"workspace": workspace}):
            execution = Execution.from_row(row)
            if row["slot_"] is None:
                attempts[execution.address] = execution
            else:
                settled[row["slot_"]] = execution
        return StateSnapshot(state[0]["lineage"], int(state[0]["serial"]), settled, attempts)

    @retried
    def current(self, workspace: str, address: str) -> Execution | None:
        """The step's current state (see StateSnapshot.settled), None if it has none."""
        rows = self.db.query(
            "SELECT e.* FROM current_steps c JOIN step_executions e ON e.id = c.execution_id "
            "WHERE c.workspace = :workspace AND c.address = :address",
            {"workspace": workspace, "address": address},
        )
        return Execution.from_row(rows[0]) if rows else None

    @retried
    def lineage_serial(self) -> tuple[str, int]:
        rows = self.db.query("SELECT lineage, serial FROM zenctl_state WHERE id = 1")
        return (str(rows[0]["lineage"]), int(rows[0]["serial"])) if rows else (EMPTY_LINEAGE, 0)

    @retried
    def secret_key(self) -> bytes | None:
        """The key of sensitive values' hashes; None before the store is initialized."""
        rows = self.db.query("SELECT secret_key FROM zenctl_state WHERE id = 1")
        return bytes.fromhex(rows[0]["secret_key"]) if rows else None

    @retried
    def resources(self, workspace: str) -> dict[str, ResourceRecord]:
        rows = self.db.query(
            "SELECT * FROM resources WHERE workspace = :workspace ORDER BY address",
            {"workspace": workspace},
        )
        return {row["address"]: ResourceRecord.from_row(row) for row in rows}

    @retried
    def by_fingerprint(self, workspace: str, fingerprints: Collection[str]) -> dict[str, Execution]:
        """The newest succeeded execution for each fingerprint (a cache hit from any time
        since the step was last forgotten with `zenctl state rm`)."""
        if not fingerprints:
            return {}
        clause, params = in_clause("fp", sorted(fingerprints))
        rows = self.db.query(
            f"SELECT * FROM step_executions e WHERE workspace = :workspace "
            f"AND status = 'succeeded' AND fingerprint IN {clause} AND NOT EXISTS ("
            "SELECT 1 FROM step_executions f WHERE f.workspace = e.workspace "
            "AND f.address = e.address AND f.status = 'forgotten' AND f.serial > e.serial) "
            "ORDER BY serial",
            {"workspace": workspace, **params},
        )
        return {row["fingerprint"]: Execution.from_row(row) for row in rows}

    @retried
    def runs(
        self, workspace: str | None, limit: int | None = None, before: float | None = None
    ) -> list[Run]:
        """Runs newest first: of one workspace (None: of all), `limit` of them (None: all),
        started before `before` (None: any)."""
        given = {"workspace": workspace, "before": before, "limit": limit}
        params = {name: value for name, value in given.items() if value is not None}
        where = [clause for name, clause in _RUN_FILTERS.items() if name in params]
        rows = self.db.query(
            "SELECT * FROM runs"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + " ORDER BY started_at DESC, id"
            + (" LIMIT :limit" if limit is not None else ""),
            params,
        )
        return [Run.from_row(row) for row in rows]

    @retried
    def workspaces(self) -> dict[str, int]:
        """Each workspace with recorded runs, and how many."""
        rows = self.db.query("SELECT workspace, COUNT(*) AS n FROM runs GROUP BY workspace")
        return {row["workspace"]: int(row["n"]) for row in rows}

    @retried
    def run(self, run_id_prefix: str) -> Run | None:
        rows = self.db.query(
            "SELECT * FROM runs WHERE id LIKE :prefix ORDER BY started_at DESC",
            {"prefix": f"{run_id_prefix}%"},
        )
        return Run.from_row(rows[0]) if rows else None

    @retried
    def executions_of_run(self, run_id: str) -> list[Execution]:
        rows = self.db.query(
            "SELECT * FROM step_executions WHERE run_id = :run ORDER BY serial", {"run": run_id}
        )
        return [Execution.from_row(row) for row in rows]

    @retried
    def history(self, workspace: str, address: str, limit: int = 20) -> list[Execution]:
        rows = self.db.query(
            "SELECT * FROM step_executions WHERE workspace = :workspace AND address = :address "
            "ORDER BY serial DESC LIMIT :limit",
            {"workspace": workspace, "address": address, "limit": limit},
        )
        return [Execution.from_row(row) for row in rows]

    @retried
    def artifact(self, hash_prefix: str) -> Artifact | None:
        """The one artifact whose hash starts so; None for none, or for several."""
        rows = self.db.query(
            "SELECT * FROM artifacts WHERE hash LIKE :prefix", {"prefix": f"{hash_prefix}%"}
        )
        return Artifact.from_row(rows[0]) if len(rows) == 1 else None

    @retried
    def consumers(self, digest: str) -> list[Execution]:
        """Executions that read the artifact or source data with this hash."""
        rows = self.db.query(
            "SELECT e.* FROM step_executions e JOIN lineage_edges l ON l.execution_id = e.id "
            "WHERE l.hash = :hash AND l.direction = 'in' ORDER BY e.serial",
            {"hash": digest},
        )
        return [Execution.from_row(row) for row in rows]

    @retried
    def kept_executions(self, keep_last: int) -> list[Execution]:
        """The retention policy of `gc`: in every workspace, each step's current state and the
        newest `keep_last` succeeded executions of each step, not counting those from before it
        was removed or forgotten."""
        rows = self.db.query(
            "SELECT * FROM (SELECT e.*, ROW_NUMBER() OVER ("
            "PARTITION BY workspace, address ORDER BY serial DESC) AS rank_ "
            "FROM step_executions e WHERE status = 'succeeded' AND NOT EXISTS ("
            "SELECT 1 FROM step_executions r WHERE r.workspace = e.workspace "
            "AND r.address = e.address AND r.status IN ('removed', 'forgotten') "
            "AND r.serial > e.serial)"
            ") kept WHERE rank_ <= :keep",
            {"keep": keep_last},
        )
        # whatever their age, the executions steps stand on now (a param set back reuses one)
        rows += self.db.query(
            "SELECT e.* FROM current_steps c JOIN step_executions e ON e.id = c.execution_id "
            "WHERE e.status = 'succeeded'"
        )
        return [Execution.from_row(row) for row in rows]

    @retried
    def executions(self, execution_ids: Collection[str]) -> dict[str, Execution]:
        """The executions with these IDs, by ID (one query)."""
        if not execution_ids:
            return {}
        clause, params = in_clause("id", sorted(execution_ids))
        rows = self.db.query(f"SELECT * FROM step_executions WHERE id IN {clause}", params)
        return {row["id"]: Execution.from_row(row) for row in rows}

    @retried
    def execution(self, execution_id: str) -> Execution | None:
        rows = self.db.query("SELECT * FROM step_executions WHERE id = :id", {"id": execution_id})
        return Execution.from_row(rows[0]) if rows else None

    @retried
    def metrics_of_runs(self, run_ids: Sequence[str]) -> dict[str, list[MetricRecord]]:
        """Each run's metrics: those of every step execution current after it (run by it or
        reused from earlier), by address, output and name; so a table of runs has full rows.
        Two queries whatever the number of runs."""
        runs = self.db.query("SELECT id, workspace, status FROM runs ORDER BY started_at, id")
        placements = self.db.query(_PLACEMENTS_WITH_METRICS)
        # execution -> {(output, name): value}, each parsed once however many runs stand on
        # it; an execution placed twice (ran, then reused) comes with its metrics twice
        values: dict[str, dict[tuple[str, str], MetricValue]] = {}
        for row in placements:
            if row["output"] is not None:
                found = values.setdefault(row["execution_id"], {})
                found[row["output"], row["name"]] = json.loads(row["value_json"])
        placed = placed_after_runs(runs, placements, set(run_ids))
        return {
            run_id: sorted(
                (
                    MetricRecord(address, output, name, value)
                    for address, execution_id in placed.get(run_id, {}).items()
                    for (output, name), value in values.get(execution_id, {}).items()
                ),
                key=metric_order,
            )
            for run_id in run_ids
        }

    @retried
    def metrics_of_executions(self, executions: Mapping[str, str]) -> list[MetricRecord]:
        """The metrics the executions recorded; `executions` maps each step address to the
        execution that stands for it (one query)."""
        if not executions:
            return []
        address = {execution_id: a for a, execution_id in executions.items()}
        clause, params = in_clause("e", sorted(address))
        rows = self.db.query(
            "SELECT execution_id, output, name, value_json FROM metrics "
            f"WHERE execution_id IN {clause}",
            params,
        )
        records = (
            MetricRecord(
                address[row["execution_id"]],
                row["output"],
                row["name"],
                json.loads(row["value_json"]),
            )
            for row in rows
        )
        return sorted(records, key=metric_order)

    @retried
    def executions_after_run(self, run: Run) -> dict[str, Execution]:
        """Each step's execution current after `run`, by address (see `placed_after_runs`)."""
        params = {"workspace": run.workspace}
        runs = self.db.query(
            "SELECT id, workspace, status FROM runs WHERE workspace = :workspace "
            "ORDER BY started_at, id",
            params,
        )
        placements = self.db.query(_PLACEMENTS.format(where="AND workspace = :workspace"), params)
        placed = placed_after_runs(runs, placements, {run.id}).get(run.id, {})
        found = self.executions(set(placed.values()))
        return {address: found[i] for address, i in placed.items() if i in found}

    @retried
    def holds_history(self) -> bool:
        """Whether any run is recorded, in any workspace."""
        return bool(self.db.query("SELECT id FROM runs LIMIT 1"))
