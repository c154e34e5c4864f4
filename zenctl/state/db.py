"""The connection seam between the state store and a database.

State queries are plain SQL with named parameters, so one store serves every database.
The embedded SQLite store is opened with the standard library's driver: importing SQLAlchemy
takes ~0.5 s on a 2-core machine, longer than a whole cached plan may take, so SQLAlchemy and
Alembic are loaded only to create or migrate the schema (see schema.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

Row = dict[str, Any]


class Database(Protocol):
    url: str
    statements: int

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]: ...

    def transaction(self) -> Any:
        """A context manager yielding an `execute(sql, params)` callable; commits on success."""
        ...

    def close(self) -> None: ...


class SQLiteDatabase:
    """SQLite in WAL mode: readers never block the apply that is writing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"
        self.statements = 0
        self._connection = sqlite3.connect(path, isolation_level=None, timeout=30.0)
        self._connection.row_factory = sqlite3.Row
        self._connection.set_trace_callback(self._count)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.execute("PRAGMA foreign_keys=ON")

    def _count(self, statement: str) -> None:
        if not statement.startswith("PRAGMA"):
            self.statements += 1

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        return [dict(row) for row in self._connection.execute(sql, dict(params or {}))]

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        connection = self._connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield lambda sql, params=None: connection.execute(sql, dict(params or {}))
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def close(self) -> None:
        self._connection.close()


def in_clause(name: str, values: list[str]) -> tuple[str, dict[str, str]]:
    """`(:name_0, :name_1, ...)` and its parameters: named placeholders work on every driver."""
    params = {f"{name}_{index}": value for index, value in enumerate(values)}
    placeholders = ", ".join(f":{key}" for key in params) or "NULL"
    return f"({placeholders})", params
