"""The store's writes: each records one change (a run begun or finished, a step started,
succeeded, failed or settled without running, a resource put or forgotten, a workspace
deleted) in one transaction that also bumps the state serial, so any reader sees all of a
finished step (its execution, its artifacts, its lineage) or none of it. Every write is
fenced by the state lock this process holds, if any.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

from zenctl.state.base import StoreBase, retried
from zenctl.state.keys import new_secret_key
from zenctl.state.reading import SETTLED_SQL
from zenctl.state.records import SETTLED, MetricValue, ResourceRecord

# What stood for each step before its current state was recorded (schema 0005 and older
# stores, documents exported before format 3): its latest settled execution.
DERIVE_CURRENT = f"""
INSERT INTO current_steps (workspace, address, execution_id, serial)
SELECT workspace, address, id, serial FROM (
  SELECT e.workspace, e.address, e.id, e.serial, ROW_NUMBER() OVER (
    PARTITION BY e.workspace, e.address ORDER BY e.serial DESC) AS rank_
  FROM step_executions e WHERE status IN ({SETTLED_SQL})
) latest WHERE rank_ = 1
"""

_RUNNING_RUNS = "SELECT id FROM runs WHERE workspace = :workspace AND status = 'running'"


class Writing(StoreBase):
    @retried
    def rotate_secret_key(self) -> None:
        """A new random key: hashes made with the old one (saved plans, recorded params of
        steps with secrets) stop matching. Bumps the serial, so saved plans go stale."""
        with self.db.transaction() as execute:
            execute(
                "UPDATE zenctl_state SET secret_key = :key WHERE id = 1",
                {"key": new_secret_key()},
            )
            self._bump(execute)

    @retried
    def begin_run(
        self, workspace: str, lineage_info: dict[str, Any], summary: dict[str, Any] | None = None
    ) -> str:
        """Record a run as begun; `summary` is what is known before it ends (an apply's
        `steps`: each planned step's params), so that a running run can be listed too."""
        run_id = str(uuid.uuid4())
        with self.db.transaction() as execute:
            self._bump(execute)
            execute(
                "INSERT INTO runs (id, workspace, status, started_at, git_sha, git_dirty, "
                "zenctl_version, username, host, summary) VALUES (:id, :workspace, :status, "
                ":started, :sha, :dirty, :version, :user, :host, :summary)",
                {
                    "id": run_id,
                    "workspace": workspace,
                    "status": "running",
                    "started": time.time(),
                    "sha": lineage_info.get("git_sha"),
                    "dirty": lineage_info.get("git_dirty"),
                    "version": lineage_info["zenctl_version"],
                    "user": lineage_info.get("user"),
                    "host": lineage_info.get("host"),
                    "summary": json.dumps(summary, sort_keys=True) if summary else None,
                },
            )
        return run_id

    @retried
    def finish_run(self, run_id: str, status: str, summary: dict[str, Any]) -> None:
        with self.db.transaction() as execute:
            self._bump(execute)
            execute(
                "UPDATE runs SET status = :status, finished_at = :now, summary = :summary "
                "WHERE id = :id",
                {
                    "status": status,
                    "now": time.time(),
                    "summary": json.dumps(summary),
                    "id": run_id,
                },
            )

    @retried
    def start_step(
        self,
        run_id: str,
        workspace: str,
        address: str,
        components: dict[str, Any],
        fingerprint: str,
        log_uri: str,
    ) -> str:
        execution_id = str(uuid.uuid4())
        with self.db.transaction() as execute:
            serial = self._bump(execute)
            execute(
                "INSERT INTO step_executions (id, run_id, workspace, address, serial, status, "
                "fingerprint, components, started_at, log_uri) VALUES (:id, :run, :workspace, "
                ":address, :serial, 'running', :fingerprint, :components, :now, :log)",
                {
                    "id": execution_id,
                    "run": run_id,
                    "workspace": workspace,
                    "address": address,
                    "serial": serial,
                    "fingerprint": fingerprint,
                    "components": json.dumps(components, sort_keys=True),
                    "now": time.time(),
                    "log": log_uri,
                },
            )
        return execution_id

    @retried
    def finish_step(
        self,
        execution_id: str,
        inputs: dict[str, dict[str, Any]],
        outputs: dict[str, dict[str, Any]],
        duration: float,
        details: dict[str, str] | None = None,
        metrics: Mapping[str, Mapping[str, MetricValue]] | None = None,
    ) -> None:
        """Record a success, its artifacts, its lineage edges and its metrics (output name ->
        the flat mapping it held, checked where the step ran) in one transaction."""
        now = time.time()
        edges = [("in", name, entry["ref"], entry["hash"]) for name, entry in inputs.items()]
        edges += [("out", name, name, item["hash"]) for name, item in outputs.items()]
        with self.db.transaction() as execute:
            serial = self._bump(execute)
            for direction, name, ref, digest in edges:
                execute(
                    "INSERT INTO lineage_edges (execution_id, direction, name, ref, hash) "
                    "VALUES (:id, :direction, :name, :ref, :hash)",
                    {
                        "id": execution_id,
                        "direction": direction,
                        "name": name,
                        "ref": ref,
                        "hash": digest,
                    },
                )
            for artifact in outputs.values():
                # Content-addressed: the first producer of these bytes stays on record.
                known = execute("SELECT 1 FROM artifacts WHERE hash = :hash", artifact)
                if known.fetchone() is None:
                    execute(
                        "INSERT INTO artifacts "
                        "(hash, materializer, size, uri, created_at, produced_by) "
                        "VALUES (:hash, :materializer, :size, :uri, :now, :producer)",
                        {**artifact, "now": now, "producer": execution_id},
                    )
            for output, values in sorted((metrics or {}).items()):
                for name, value in sorted(values.items()):
                    execute(
                        "INSERT INTO metrics (execution_id, output, name, value, value_json) "
                        "VALUES (:id, :output, :name, :value, :json)",
                        {
                            "id": execution_id,
                            "output": output,
                            "name": name,
                            "value": numeric(value),
                            "json": json.dumps(value),
                        },
                    )
            placed = execute(
                "SELECT workspace, address FROM step_executions WHERE id = :id",
                {"id": execution_id},
            ).fetchone()
            _place(execute, placed[0], placed[1], execution_id, serial)
            execute(
                "UPDATE step_executions SET status = 'succeeded', outputs = :outputs, "
                "finished_at = :now, duration = :duration, serial = :serial, details = :details "
                "WHERE id = :id",
                {
                    "outputs": json.dumps(outputs, sort_keys=True),
                    "details": _details(details),
                    "now": now,
                    "duration": duration,
                    "serial": serial,
                    "id": execution_id,
                },
            )

    @retried
    def end_step(
        self,
        execution_id: str,
        status: str,
        error: str,
        duration: float | None,
        details: dict[str, str] | None = None,
    ) -> None:
        """Record a step that did not succeed: failed or interrupted, with the error."""
        with self.db.transaction() as execute:
            serial = self._bump(execute)
            execute(
                "UPDATE step_executions SET status = :status, error = :error, finished_at = :now, "
                "duration = :duration, serial = :serial, details = :details WHERE id = :id",
                {
                    "details": _details(details),
                    "status": status,
                    "error": error,
                    "now": time.time(),
                    "duration": duration,
                    "serial": serial,
                    "id": execution_id,
                },
            )

    @retried
    def mark(
        self, run_id: str, workspace: str, addresses: list[str], status: str, note: str
    ) -> None:
        """Record steps that settled without running: skipped after a failure, or removed."""
        if not addresses:
            return
        with self.db.transaction() as execute:
            serial = self._bump(execute)
            for address in addresses:
                execution_id = str(uuid.uuid4())
                execute(
                    "INSERT INTO step_executions (id, run_id, workspace, address, serial, status, "
                    "started_at, finished_at, error) VALUES (:id, :run, :workspace, :address, "
                    ":serial, :status, :now, :now, :note)",
                    {
                        "id": execution_id,
                        "run": run_id,
                        "workspace": workspace,
                        "address": address,
                        "serial": serial,
                        "status": status,
                        "now": time.time(),
                        "note": note,
                    },
                )
                if status in SETTLED:  # a skipped step keeps what it had in place
                    _place(execute, workspace, address, execution_id, serial)

    @retried
    def settle(
        self,
        workspace: str,
        kept: Mapping[str, str],
        moved: Mapping[str, str] | None = None,
        run_id: str | None = None,
    ) -> None:
        """Record what an apply left in place without running it: `kept` maps an address to
        the execution it reused from history; `moved` maps a step's new address to its old
        one (a `moved` block), whose current state it takes over. Writes only what differs,
        so an apply that changes nothing leaves the serial alone. Within a run (`run_id`),
        each change is recorded as the run's too, for `metrics_of_runs` to replay."""
        rows = self.db.query(
            "SELECT address, execution_id FROM current_steps WHERE workspace = :workspace",
            {"workspace": workspace},
        )
        now = {row["address"]: row["execution_id"] for row in rows}
        gone = [old for new, old in (moved or {}).items() if old in now and new not in now]
        placed = {new: now[old] for new, old in (moved or {}).items() if old in gone}
        placed |= kept
        changed = {a: e for a, e in placed.items() if now.get(a) != e}
        if not changed and not gone:
            return
        with self.db.transaction() as execute:
            serial = self._bump(execute)
            for address in gone:
                _unplace(execute, workspace, address)
            for address, execution_id in sorted(changed.items()):
                _place(execute, workspace, address, execution_id, serial)
            if run_id is None:
                return
            for address, execution_id in sorted({**dict.fromkeys(gone), **changed}.items()):
                execute(
                    "INSERT INTO run_placements (run_id, workspace, address, execution_id, "
                    "serial) VALUES (:run, :workspace, :address, :id, :serial)",
                    {
                        "run": run_id,
                        "workspace": workspace,
                        "address": address,
                        "id": execution_id,
                        "serial": serial,
                    },
                )

    @retried
    def put_resource(self, workspace: str, record: ResourceRecord) -> None:
        """Record a resource created or updated (one transaction, bumping the serial)."""
        with self.db.transaction() as execute:
            serial = self._bump(execute)
            execute(
                "DELETE FROM resources WHERE workspace = :workspace AND address = :address",
                {"workspace": workspace, "address": record.address},
            )
            execute(
                "INSERT INTO resources (workspace, address, kind, type, attributes, state, "
                "serial, updated_at) VALUES (:workspace, :address, :kind, :type, :attributes, "
                ":state, :serial, :now)",
                {
                    "workspace": workspace,
                    "address": record.address,
                    "kind": record.kind,
                    "type": record.type,
                    "attributes": json.dumps(record.attributes, sort_keys=True),
                    "state": json.dumps(record.state, sort_keys=True),
                    "serial": serial,
                    "now": time.time(),
                },
            )

    @retried
    def forget_resource(self, workspace: str, address: str) -> None:
        """The resource was destroyed."""
        with self.db.transaction() as execute:
            self._bump(execute)
            execute(
                "DELETE FROM resources WHERE workspace = :workspace AND address = :address",
                {"workspace": workspace, "address": address},
            )

    @retried
    def interrupt_stale(self, workspace: str) -> int:
        """Steps and runs left 'running' by an apply that died: record them as interrupted."""
        rows = self.db.query(
            "SELECT id FROM step_executions WHERE workspace = :workspace AND status = 'running'",
            {"workspace": workspace},
        )
        for row in rows:
            self.end_step(row["id"], "interrupted", "the apply running it stopped", None)
        params = {"workspace": workspace}
        if self.db.query(_RUNNING_RUNS, params):
            with self.db.transaction() as execute:
                self._bump(execute)
                execute(
                    "UPDATE runs SET status = 'interrupted' "
                    "WHERE workspace = :workspace AND status = 'running'",
                    params,
                )
        return len(rows)

    @retried
    def delete_workspace(self, workspace: str) -> None:
        """Forget a workspace's runs, executions and lineage edges, in one transaction.
        Artifacts stay: other workspaces may use them; `gc` collects the unreferenced ones."""
        executions = "SELECT id FROM step_executions WHERE workspace = :workspace"
        with self.db.transaction() as execute:
            self._bump(execute)
            params = {"workspace": workspace}
            execute(f"DELETE FROM lineage_edges WHERE execution_id IN ({executions})", params)
            execute(f"DELETE FROM metrics WHERE execution_id IN ({executions})", params)
            execute("DELETE FROM run_placements WHERE workspace = :workspace", params)
            execute("DELETE FROM current_steps WHERE workspace = :workspace", params)
            execute("DELETE FROM step_executions WHERE workspace = :workspace", params)
            execute("DELETE FROM runs WHERE workspace = :workspace", params)


def _place(execute: Any, workspace: str, address: str, execution_id: str, serial: int) -> None:
    """Make `execution_id` the step's current state (delete and insert: portable upsert)."""
    _unplace(execute, workspace, address)
    execute(
        "INSERT INTO current_steps (workspace, address, execution_id, serial) "
        "VALUES (:workspace, :address, :id, :serial)",
        {"workspace": workspace, "address": address, "id": execution_id, "serial": serial},
    )


def _unplace(execute: Any, workspace: str, address: str) -> None:
    execute(
        "DELETE FROM current_steps WHERE workspace = :workspace AND address = :address",
        {"workspace": workspace, "address": address},
    )


def numeric(value: MetricValue) -> float | None:
    """The metrics table's `value`: the number, None for text, booleans and null."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _details(details: dict[str, str] | None) -> str | None:
    return json.dumps(details, sort_keys=True) if details else None
