"""The state lock: one writer (apply, state rm, state import) per workspace at a time.

On the SQL stores the lock is a row in the store's `locks` table, the same on SQLite,
PostgreSQL and MySQL: its primary key makes taking it atomic, and it names its holder (host,
user, pid, operation, since when) for the error a waiting zenctl prints. A store without
SQL transactions across objects (a bucket) keeps its locks its own way behind the same
`LockTable` seam. A daemon thread refreshes the heartbeat every HEARTBEAT_EVERY seconds. A
row rather than a session-level database lock (advisory lock, GET_LOCK) so that the lock
survives a dropped connection, which the store retries, and so that a waiter can see who
holds it and whether they are still alive.

A lock is stale when its holder ran on this host (the same boot and PID namespace: two
containers may share a hostname and their PIDs) and its process is gone, or when its
heartbeat is older than STALE_AFTER (hosts' clocks are assumed NTP-synchronized). A stale
lock is taken over, and the caller told whose it was; its holder's steps left "running" are
recorded as interrupted by the apply that takes over.

Fencing: a holder whose lock was taken over (it stalled past STALE_AFTER) must not write
again. Every state write checks, in its own transaction, that the lock is still its own
(`StateLock.fence`), and a failed heartbeat that finds the lock gone marks it lost.
"""

from __future__ import annotations

import functools
import getpass
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from zenctl.diagnostics import UserError
from zenctl.processes import pid_alive
from zenctl.state.db import Conflict, Database, LockTable, Row

HEARTBEAT_EVERY = 10.0
STALE_AFTER = 60.0
_MAX_BACKOFF = 1.0  # a waiter polls at most once a second: cheap, and prompt


@functools.cache
def host_identity() -> str:
    """This host as a lock records it: the hostname, and where Linux tells them, the boot
    and the PID namespace, so that "same host" means the same PIDs."""
    hostname = socket.gethostname()
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:  # not Linux: no namespaces to tell apart
        return hostname
    return f"{hostname} (boot {boot[:8]}, pid namespace {namespace})"


@dataclass(frozen=True, slots=True)
class LockInfo:
    name: str
    id: str
    operation: str
    username: str | None
    host: str
    pid: int
    created_at: float
    heartbeat_at: float

    @classmethod
    def from_row(cls, row: Row) -> LockInfo:
        return cls(
            row["name"],
            row["id"],
            row["operation"],
            row["username"],
            row["host"],
            int(row["pid"]),
            float(row["created_at"]),
            float(row["heartbeat_at"]),
        )

    def stale_reason(self, now: float) -> str | None:
        """Why the holder is surely gone, or None while it may be alive."""
        if self.host == host_identity() and not pid_alive(self.pid):
            return f"process {self.pid} on this host has exited"
        silent = now - self.heartbeat_at
        if silent > STALE_AFTER:
            return f"no heartbeat for {silent:.0f} s"
        return None

    def describe(self, now: float) -> str:
        since = datetime.fromtimestamp(self.created_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return (
            f"  ID:        {self.id}\n"
            f"  Operation: {self.operation}\n"
            f"  Who:       {self.username or '(unknown user)'}@{self.host}, pid {self.pid}\n"
            f"  Since:     {since} (last heartbeat {max(0.0, now - self.heartbeat_at):.0f} s ago)"
        )


class SqlLockTable:
    """Locks as rows of the store's own `locks` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def insert(self, row: Row) -> None:
        with self.db.transaction() as execute:
            execute(_INSERT, row)

    def get(self, name: str) -> Row | None:
        rows = self.db.query("SELECT * FROM locks WHERE name = :name", {"name": name})
        return rows[0] if rows else None

    def take_over(self, holder: Row, row: Row) -> None:
        with self.db.transaction() as execute:
            gone = execute(
                "DELETE FROM locks WHERE name = :name AND id = :id",
                {"name": holder["name"], "id": holder["id"]},
            ).rowcount
            if gone != 1:
                raise Conflict("taken over by someone else")
            execute(_INSERT, row)

    def beat(self, name: str, lock_id: str) -> bool:
        with self.db.transaction() as execute:
            return bool(self._touch(execute, name, lock_id))

    def fence(self, execute: Any, name: str, lock_id: str) -> bool:
        # In the writer's own transaction: the row stays locked until it commits, so a
        # takeover cannot slip in between this check and the write.
        return bool(self._touch(execute, name, lock_id))

    @staticmethod
    def _touch(execute: Any, name: str, lock_id: str) -> int:
        return int(
            execute(
                "UPDATE locks SET heartbeat_at = :now WHERE name = :name AND id = :id",
                {"now": time.time(), "name": name, "id": lock_id},
            ).rowcount
        )

    def delete(self, name: str, lock_id: str) -> None:
        with self.db.transaction() as execute:
            execute(
                "DELETE FROM locks WHERE name = :name AND id = :id", {"name": name, "id": lock_id}
            )

    def all(self) -> list[Row]:
        return self.db.query("SELECT * FROM locks ORDER BY name")


def lock_table(db: Database) -> LockTable:
    return db.lock_table() or SqlLockTable(db)


class _Busy(Exception):
    def __init__(self, holder: LockInfo) -> None:
        super().__init__(holder.id)
        self.holder = holder


class StateLock:
    def __init__(self, db: Database, name: str, operation: str) -> None:
        self.db = db
        self.table = lock_table(db)
        self.name = name
        self.operation = operation
        self.id = str(uuid.uuid4())
        self.lost: str | None = None  # why the lock is no longer ours, once it is not
        self._stop = threading.Event()
        self._beating: threading.Thread | None = None

    def acquire(self, timeout: float, on_takeover: Callable[[LockInfo, str], None]) -> None:
        """Take the lock, waiting up to `timeout` seconds with jittered exponential backoff."""
        deadline = time.monotonic() + timeout
        delay = 0.1
        while True:
            try:
                self.db.retrying(lambda: self._try(on_takeover))
                break
            except _Busy as busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._held_error(busy.holder, timeout) from None
                time.sleep(min(left, delay * random.uniform(0.5, 1.5)))
                delay = min(delay * 2, _MAX_BACKOFF)
        # What was read before the lock may predate the last holder's final writes.
        self.db.retrying(self.db.refresh)
        self._beating = threading.Thread(target=self._heartbeat, name="zenctl-lock", daemon=True)
        self._beating.start()

    def _try(self, on_takeover: Callable[[LockInfo, str], None]) -> None:
        now = time.time()
        try:
            self.table.insert(self._row(now))
            return
        except Conflict:
            pass
        found = self.table.get(self.name)
        if found is None:
            raise _Busy(LockInfo(self.name, "(just released)", "", None, "", 0, now, now))
        holder = LockInfo.from_row(found)
        reason = holder.stale_reason(time.time())
        if reason is None:
            raise _Busy(holder)
        try:
            self.table.take_over(found, self._row(now))
        except Conflict:
            raise _Busy(holder) from None
        on_takeover(holder, reason)

    def _row(self, now: float) -> Row:
        try:
            username: str | None = getpass.getuser()
        except (KeyError, OSError):
            username = None
        return {
            "name": self.name,
            "id": self.id,
            "operation": self.operation,
            "username": username,
            "host": host_identity(),
            "pid": os.getpid(),
            "created_at": now,
            "heartbeat_at": now,
        }

    def _held_error(self, holder: LockInfo, timeout: float) -> UserError:
        now = time.time()
        waited = f" for {timeout:g} s" if timeout > 0 else ""
        return UserError(
            "Error acquiring the state lock",
            f'The state of workspace "{self.name}" in {self.db.url} is locked by another '
            f"zenctl; waited{waited or ' not at all'}.\n\nLock Info:\n{holder.describe(now)}\n\n"
            "Wait for it with --lock-timeout (e.g. --lock-timeout 5m). If its holder is surely "
            f"gone, release it with: zenctl force-unlock {holder.id}",
        )

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_EVERY):
            try:
                still_ours = self.table.beat(self.name, self.id)
            except Exception:  # the store is unreachable for now: the next beat tries again
                continue
            if not still_ours:
                self.lost = "its heartbeat found it taken over or released"
                return

    def fence(self, execute: Any) -> None:
        """Refuse a state write once the lock is no longer ours; called in the write's
        own transaction."""
        if self.lost is None and not self.table.fence(execute, self.name, self.id):
            self.lost = "it was taken over or released"
        if self.lost is not None:
            raise UserError(
                "Lost the state lock",
                f'This zenctl no longer holds the state lock of workspace "{self.name}" in '
                f"{self.db.url}: {self.lost} (it stalled for over {STALE_AFTER:g} s, or "
                "someone ran force-unlock). It stopped before writing anything more; what it "
                "recorded before stays. Run `zenctl plan` to see where the state stands.",
            )

    def release(self) -> None:
        self._stop.set()
        if self._beating is not None:
            self._beating.join()
        if self.lost is not None:
            return  # someone else's now: deleting by our ID would be a no-op at best
        try:
            self.db.retrying(lambda: self.table.delete(self.name, self.id))
        except Exception:  # the store is gone: the lock goes stale and is taken over
            return


_INSERT = (
    "INSERT INTO locks (name, id, operation, username, host, pid, created_at, heartbeat_at) "
    "VALUES (:name, :id, :operation, :username, :host, :pid, :created_at, :heartbeat_at)"
)


@contextmanager
def state_lock(
    db: Database,
    workspace: str,
    operation: str,
    timeout: float,
    on_takeover: Callable[[LockInfo, str], None],
) -> Iterator[StateLock]:
    """Hold the workspace's state lock for the block."""
    lock = StateLock(db, workspace, operation)
    lock.acquire(timeout, on_takeover)
    try:
        yield lock
    finally:
        lock.release()


def current_locks(db: Database) -> list[LockInfo]:
    return [LockInfo.from_row(row) for row in lock_table(db).all()]


def force_unlock(db: Database, lock_id: str) -> LockInfo:
    """Delete the lock with this ID, whoever holds it; the released lock's info."""
    held = current_locks(db)
    for lock in held:
        if lock.id == lock_id:
            lock_table(db).delete(lock.name, lock_id)
            return lock
    raise UserError(
        f"No lock with ID {lock_id}",
        (
            "Current locks: " + ", ".join(f"{lock.id} ({lock.operation})" for lock in held)
            if held
            else "The state is not locked: nothing to release."
        ),
    )
