"""The state lock: one writer (apply, state rm, state import) per workspace at a time.

The lock is a row in the store's `locks` table, the same on SQLite, PostgreSQL and MySQL:
its primary key makes taking it atomic, and it names its holder (host, user, pid,
operation, since when) for the error a waiting zenctl prints. A daemon thread refreshes
its heartbeat every HEARTBEAT_EVERY seconds. A row rather than a session-level database lock
(advisory lock, GET_LOCK) so that the lock survives a dropped connection, which the store
retries, and so that a waiter can see who holds it and whether they are still alive.

A lock is stale when its holder ran on this host and its process is gone, or when its
heartbeat is older than STALE_AFTER (hosts' clocks are assumed NTP-synchronized). A stale
lock is taken over, and the caller told whose it was; its holder's steps left "running" are
recorded as interrupted by the apply that takes over.
"""

from __future__ import annotations

import getpass
import os
import random
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from zenctl.diagnostics import UserError
from zenctl.state.db import Conflict, Database

HEARTBEAT_EVERY = 10.0
STALE_AFTER = 60.0
_MAX_BACKOFF = 1.0  # a waiter polls at most once a second: cheap, and prompt
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Seconds in a Go-style duration as Terraform takes it: `30s`, `5m`, `1m30s`, `0`."""
    text = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = _DURATION.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise UserError(
            f"Invalid --lock-timeout {text!r}", "Write a duration such as 30s, 5m or 1m30s."
        )
    return sum(float(number) * _UNITS[unit] for number, unit in parts)


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
    def from_row(cls, row: dict[str, Any]) -> LockInfo:
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
        if self.host == socket.gethostname() and not _alive(self.pid):
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


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


class _Busy(Exception):
    def __init__(self, holder: LockInfo) -> None:
        super().__init__(holder.id)
        self.holder = holder


class StateLock:
    def __init__(self, db: Database, name: str, operation: str) -> None:
        self.db = db
        self.name = name
        self.operation = operation
        self.id = str(uuid.uuid4())
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
        self._beating = threading.Thread(target=self._heartbeat, name="zenctl-lock", daemon=True)
        self._beating.start()

    def _try(self, on_takeover: Callable[[LockInfo, str], None]) -> None:
        now = time.time()
        try:
            with self.db.transaction() as execute:
                execute(_INSERT, self._row(now))
            return
        except Conflict:
            pass
        rows = self.db.query("SELECT * FROM locks WHERE name = :name", {"name": self.name})
        if not rows:
            raise _Busy(LockInfo(self.name, "(just released)", "", None, "", 0, now, now))
        holder = LockInfo.from_row(rows[0])
        reason = holder.stale_reason(time.time())
        if reason is None:
            raise _Busy(holder)
        try:
            with self.db.transaction() as execute:
                gone = execute(
                    "DELETE FROM locks WHERE name = :name AND id = :id",
                    {"name": self.name, "id": holder.id},
                ).rowcount
                if gone != 1:
                    raise Conflict("taken over by someone else")
                execute(_INSERT, self._row(now))
        except Conflict:
            raise _Busy(holder) from None
        on_takeover(holder, reason)

    def _row(self, now: float) -> dict[str, Any]:
        try:
            username: str | None = getpass.getuser()
        except (KeyError, OSError):
            username = None
        return {
            "name": self.name,
            "id": self.id,
            "operation": self.operation,
            "username": username,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "now": now,
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
                with self.db.transaction() as execute:
                    execute(
                        "UPDATE locks SET heartbeat_at = :now WHERE id = :id",
                        {"now": time.time(), "id": self.id},
                    )
            except Exception:  # the store is unreachable for now: the next beat tries again
                continue

    def release(self) -> None:
        self._stop.set()
        if self._beating is not None:
            self._beating.join()
        try:
            self.db.retrying(self._delete)
        except Exception:  # the store is gone: the lock goes stale and is taken over
            return

    def _delete(self) -> None:
        with self.db.transaction() as execute:
            execute("DELETE FROM locks WHERE id = :id", {"id": self.id})


_INSERT = (
    "INSERT INTO locks (name, id, operation, username, host, pid, created_at, heartbeat_at) "
    "VALUES (:name, :id, :operation, :username, :host, :pid, :now, :now)"
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
    return [LockInfo.from_row(row) for row in db.query("SELECT * FROM locks ORDER BY name")]


def force_unlock(db: Database, lock_id: str) -> LockInfo:
    """Delete the lock with this ID, whoever holds it; the released lock's info."""
    for lock in current_locks(db):
        if lock.id == lock_id:
            with db.transaction() as execute:
                execute("DELETE FROM locks WHERE id = :id", {"id": lock_id})
            return lock
    held = current_locks(db)
    raise UserError(
        f"No lock with ID {lock_id}",
        (
            "Current locks: " + ", ".join(f"{lock.id} ({lock.operation})" for lock in held)
            if held
            else "The state is not locked: nothing to release."
        ),
    )
