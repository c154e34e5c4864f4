"""The metadata store: every run, step execution and artifact, and the lineage between them.

Each change is one transaction that also bumps the state serial, so any reader sees either
all of a finished step (its execution, its artifacts) or none of it.
"""

from __future__ import annotations

import functools
import json
import os
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from zenctl.config.model import Component, is_core
from zenctl.config.variables import reveal
from zenctl.diagnostics import DiagnosticsError, UserError
from zenctl.paths import ensure_private_dir, resolve_in_project
from zenctl.state.db import Conflict, Database, Row, ServerDatabase, SQLiteDatabase, in_clause
from zenctl.state.schema import SCHEMA_HEAD, check_schema, schema_version, upgrade

if TYPE_CHECKING:
    from zenctl.state.lock import StateLock

# Statuses that end a step's story in state: it succeeded, it is no longer declared, or the
# user made zenctl forget it (`zenctl state rm`: the next apply runs it again).
SETTLED = ("succeeded", "removed", "forgotten")

F = TypeVar("F", bound=Callable[..., Any])


def _retried(method: F) -> F:
    """Re-run a store method (one transaction, or reads) on a transient database failure."""

    @functools.wraps(method)
    def wrapper(self: StateStore, *args: Any, **kwargs: Any) -> Any:
        return self.db.retrying(lambda: method(self, *args, **kwargs))

    return wrapper  # type: ignore[return-value]


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
        return cls(
            row["id"],
            row["run_id"],
            row["address"],
            int(row["serial"]),
            row["status"],
            row["fingerprint"],
            json.loads(row["components"] or "{}"),
            json.loads(row["outputs"] or "{}"),
            row["started_at"],
            row["finished_at"],
            row["duration"],
            row["log_uri"],
            row["error"],
            json.loads(row["details"] or "{}"),
        )


@dataclass(frozen=True, slots=True)
class ResourceRecord:
    """A resource as the last apply left it."""

    address: str
    kind: str
    type: str
    attributes: dict[str, Any]
    state: dict[str, Any]


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


EMPTY_LINEAGE = "(none)"

_COLUMNS = (
    "e.id, e.run_id, e.workspace, e.address, e.serial, e.status, e.fingerprint, e.components, "
    "e.outputs, e.started_at, e.finished_at, e.duration, e.log_uri, e.error, e.details"
)
_SETTLED_SQL = ", ".join(f"'{status}'" for status in SETTLED)

# One statement: the current state of every address, then the latest other attempt of each.
_CURRENT_AND_ATTEMPTS = f"""
SELECT {_COLUMNS}, c.address AS slot_ FROM current_steps c
  JOIN step_executions e ON e.id = c.execution_id WHERE c.workspace = :workspace
UNION ALL
SELECT {_COLUMNS}, NULL AS slot_ FROM (
  SELECT e.*, ROW_NUMBER() OVER (PARTITION BY address ORDER BY serial DESC) AS rank_
  FROM step_executions e WHERE workspace = :workspace AND status NOT IN ({_SETTLED_SQL})
) e WHERE rank_ = 1
"""

# What stood for each step before its current state was recorded (schema 0005 and older
# stores, documents exported before format 3): its latest settled execution.
DERIVE_CURRENT = f"""
INSERT INTO current_steps (workspace, address, execution_id, serial)
SELECT workspace, address, id, serial FROM (
  SELECT e.workspace, e.address, e.id, e.serial, ROW_NUMBER() OVER (
    PARTITION BY e.workspace, e.address ORDER BY e.serial DESC) AS rank_
  FROM step_executions e WHERE status IN ({_SETTLED_SQL})
) latest WHERE rank_ = 1
"""


_RUNNING_RUNS = "SELECT id FROM runs WHERE workspace = :workspace AND status = 'running'"


class StateStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.lock: StateLock | None = None  # while this process holds it: fences every write

    def fence(self, execute: Any) -> None:
        """Refuse the write in progress (in its transaction) if this process took the state
        lock and has lost it since."""
        if self.lock is not None:
            self.lock.fence(execute)

    # -- reading ------------------------------------------------------------------------------

    @_retried
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

    @_retried
    def current(self, workspace: str, address: str) -> Execution | None:
        """The step's current state (see StateSnapshot.settled), None if it has none."""
        rows = self.db.query(
            "SELECT e.* FROM current_steps c JOIN step_executions e ON e.id = c.execution_id "
            "WHERE c.workspace = :workspace AND c.address = :address",
            {"workspace": workspace, "address": address},
        )
        return Execution.from_row(rows[0]) if rows else None

    @_retried
    def lineage_serial(self) -> tuple[str, int]:
        rows = self.db.query("SELECT lineage, serial FROM zenctl_state WHERE id = 1")
        return (str(rows[0]["lineage"]), int(rows[0]["serial"])) if rows else (EMPTY_LINEAGE, 0)

    @_retried
    def secret_key(self) -> bytes | None:
        """The key of sensitive values' hashes; None before the store is initialized."""
        rows = self.db.query("SELECT secret_key FROM zenctl_state WHERE id = 1")
        return bytes.fromhex(rows[0]["secret_key"]) if rows else None

    @_retried
    def rotate_secret_key(self) -> None:
        """A new random key: hashes made with the old one (saved plans, recorded params of
        steps with secrets) stop matching. Bumps the serial, so saved plans go stale."""
        with self.db.transaction() as execute:
            execute(
                "UPDATE zenctl_state SET secret_key = :key WHERE id = 1",
                {"key": _new_secret_key()},
            )
            self._bump(execute)

    @_retried
    def resources(self, workspace: str) -> dict[str, ResourceRecord]:
        rows = self.db.query(
            "SELECT * FROM resources WHERE workspace = :workspace ORDER BY address",
            {"workspace": workspace},
        )
        return {
            row["address"]: ResourceRecord(
                row["address"],
                row["kind"],
                row["type"],
                json.loads(row["attributes"]),
                json.loads(row["state"]),
            )
            for row in rows
        }

    @_retried
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

    @_retried
    def runs(self, workspace: str, limit: int) -> list[Row]:
        return self.db.query(
            "SELECT * FROM runs WHERE workspace = :workspace ORDER BY started_at DESC LIMIT :limit",
            {"workspace": workspace, "limit": limit},
        )

    @_retried
    def workspaces(self) -> dict[str, int]:
        """Each workspace with recorded runs, and how many."""
        rows = self.db.query("SELECT workspace, COUNT(*) AS n FROM runs GROUP BY workspace")
        return {row["workspace"]: int(row["n"]) for row in rows}

    @_retried
    def run(self, run_id_prefix: str) -> Row | None:
        rows = self.db.query(
            "SELECT * FROM runs WHERE id LIKE :prefix ORDER BY started_at DESC",
            {"prefix": f"{run_id_prefix}%"},
        )
        return rows[0] if rows else None

    @_retried
    def executions_of_run(self, run_id: str) -> list[Execution]:
        rows = self.db.query(
            "SELECT * FROM step_executions WHERE run_id = :run ORDER BY serial", {"run": run_id}
        )
        return [Execution.from_row(row) for row in rows]

    @_retried
    def history(self, workspace: str, address: str, limit: int = 20) -> list[Execution]:
        rows = self.db.query(
            "SELECT * FROM step_executions WHERE workspace = :workspace AND address = :address "
            "ORDER BY serial DESC LIMIT :limit",
            {"workspace": workspace, "address": address, "limit": limit},
        )
        return [Execution.from_row(row) for row in rows]

    @_retried
    def artifact(self, hash_prefix: str) -> Row | None:
        rows = self.db.query(
            "SELECT * FROM artifacts WHERE hash LIKE :prefix", {"prefix": f"{hash_prefix}%"}
        )
        return rows[0] if len(rows) == 1 else None

    @_retried
    def consumers(self, digest: str) -> list[Execution]:
        """Executions that read the artifact or source data with this hash."""
        rows = self.db.query(
            "SELECT e.* FROM step_executions e JOIN lineage_edges l ON l.execution_id = e.id "
            "WHERE l.hash = :hash AND l.direction = 'in' ORDER BY e.serial",
            {"hash": digest},
        )
        return [Execution.from_row(row) for row in rows]

    @_retried
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

    @_retried
    def execution(self, execution_id: str) -> Execution | None:
        rows = self.db.query("SELECT * FROM step_executions WHERE id = :id", {"id": execution_id})
        return Execution.from_row(rows[0]) if rows else None

    # -- writing ------------------------------------------------------------------------------

    def _bump(self, execute: Any) -> int:
        self.fence(execute)
        execute("UPDATE zenctl_state SET serial = serial + 1 WHERE id = 1")
        return int(execute("SELECT serial FROM zenctl_state WHERE id = 1").fetchone()[0])

    @_retried
    def begin_run(self, workspace: str, lineage_info: dict[str, Any]) -> str:
        run_id = str(uuid.uuid4())
        with self.db.transaction() as execute:
            self._bump(execute)
            execute(
                "INSERT INTO runs (id, workspace, status, started_at, git_sha, git_dirty, "
                "zenctl_version, username, host) VALUES (:id, :workspace, :status, :started, "
                ":sha, :dirty, :version, :user, :host)",
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
                },
            )
        return run_id

    @_retried
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

    @_retried
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

    @_retried
    def finish_step(
        self,
        execution_id: str,
        inputs: dict[str, dict[str, Any]],
        outputs: dict[str, dict[str, Any]],
        duration: float,
        details: dict[str, str] | None = None,
    ) -> None:
        """Record a success, its artifacts and its lineage edges in one transaction."""
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

    @_retried
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

    @_retried
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

    @_retried
    def settle(
        self, workspace: str, kept: Mapping[str, str], moved: Mapping[str, str] | None = None
    ) -> None:
        """Record what an apply left in place without running it: `kept` maps an address to
        the execution it reused from history; `moved` maps a step's new address to its old
        one (a `moved` block), whose current state it takes over. Writes only what differs,
        so an apply that changes nothing leaves the serial alone."""
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

    @_retried
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

    @_retried
    def forget_resource(self, workspace: str, address: str) -> None:
        """The resource was destroyed."""
        with self.db.transaction() as execute:
            self._bump(execute)
            execute(
                "DELETE FROM resources WHERE workspace = :workspace AND address = :address",
                {"workspace": workspace, "address": address},
            )

    @_retried
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

    @_retried
    def delete_workspace(self, workspace: str) -> None:
        """Forget a workspace's runs, executions and lineage edges, in one transaction.
        Artifacts stay: other workspaces may use them; `gc` collects the unreferenced ones."""
        executions = "SELECT id FROM step_executions WHERE workspace = :workspace"
        with self.db.transaction() as execute:
            self._bump(execute)
            params = {"workspace": workspace}
            execute(f"DELETE FROM lineage_edges WHERE execution_id IN ({executions})", params)
            execute("DELETE FROM current_steps WHERE workspace = :workspace", params)
            execute("DELETE FROM step_executions WHERE workspace = :workspace", params)
            execute("DELETE FROM runs WHERE workspace = :workspace", params)

    def close(self) -> None:
        self.db.close()


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


def _details(details: dict[str, str] | None) -> str | None:
    return json.dumps(details, sort_keys=True) if details else None


def open_database(root: Path, component: Component, settings: Mapping[str, Any]) -> Database:
    """A connection to the stack's metadata store; `settings` has its variables evaluated.

    SQLite and the SQL servers are opened here; any other type (a bucket's) comes from the
    provider that offers it, as a `Database` of its own.
    """
    if component.type == "sqlite":
        path = resolve_in_project(root, str(settings.get("path", ".zenctl/metadata.db")))
        if not path.exists():
            ensure_private_dir(path.parent)
            path.touch(mode=0o600)
        return SQLiteDatabase(path)
    try:
        if is_core("metadata_store", component.type):  # a SQL server
            from zenctl.state.urls import server_url

            return ServerDatabase(server_url(component.type, settings), component.type)
        return _provided(root, component, settings)
    except UserError as exc:  # a settings problem: point at the block
        raise DiagnosticsError([replace(exc.diagnostic, range=component.range)]) from None


def _provided(root: Path, component: Component, settings: Mapping[str, Any]) -> Database:
    from zenctl.providers.registry import build_component, component_type, validated

    try:
        component_type("metadata_store", component.type)
    except UserError:
        raise UserError(
            f'Unsupported metadata store "{component.type}"',
            'Choose one of: metadata_store "sqlite" { path = ".zenctl/metadata.db" }, '
            'metadata_store "postgresql" { url = "postgresql://user@host/db" }, '
            'metadata_store "mysql" { url = "mysql://user@host/db" }, or a provider\'s, such '
            'as metadata_store "gcs" { bucket = "my-bucket" } (pip install ./providers/gcp).',
        ) from None
    checked = validated("metadata_store", component.type, reveal(dict(settings)))
    db: Database = build_component("metadata_store", component.type, checked, root)
    return db


def sqlite_missing(root: Path, component: Component, settings: Mapping[str, Any]) -> bool:
    """True for an SQLite store whose file does not exist: plan reads nothing, creates nothing."""
    path = resolve_in_project(root, str(settings.get("path", ".zenctl/metadata.db")))
    return component.type == "sqlite" and not path.exists()


def open_store(
    root: Path, component: Component, settings: Mapping[str, Any], create: bool
) -> StateStore | None:
    """The stack's metadata store; None when it holds no state yet and `create` is false."""
    if not create and sqlite_missing(root, component, settings):
        return None
    db = open_database(root, component, settings)
    if schema_version(db) is None:
        if not create:
            db.close()
            return None
        _create_schema(db)
    check_schema(db)
    if create:
        _initialize(db)
    return StateStore(db)


def _create_schema(db: Database) -> None:
    try:
        upgrade(db)
    except Exception:
        # Another zenctl created it at the same moment: theirs is as good as ours.
        if schema_version(db) != SCHEMA_HEAD:
            raise


def _new_secret_key() -> str:
    return os.urandom(32).hex()  # 256 random bits: no guess of a secret can be checked


def _initialize(db: Database) -> None:
    """The state row: this store's lineage, serial, and the random key of secrets' hashes."""
    if db.query("SELECT 1 AS one FROM zenctl_state WHERE id = 1"):
        return
    try:
        with db.transaction() as execute:
            execute(
                "INSERT INTO zenctl_state (id, lineage, serial, secret_key) "
                "VALUES (1, :lineage, 0, :key)",
                {"lineage": str(uuid.uuid4()), "key": _new_secret_key()},
            )
    except Conflict:
        pass  # another zenctl initialized it first
