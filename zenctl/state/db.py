"""The connection seam between the state store and a database.

State queries are plain SQL with named parameters, so one store serves every database.
The embedded SQLite store is opened with the standard library's driver: importing SQLAlchemy
takes ~0.5 s on a 2-core machine, longer than a whole cached plan may take, so SQLAlchemy is
loaded only for the server stores (PostgreSQL, MySQL) and to create or migrate a schema.

Transient failures (a dropped connection, a deadlock, a serialization failure, SQLite's
"database is locked") are retried: each store method is one transaction, re-run whole.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from zenctl.diagnostics import UserError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

Row = dict[str, Any]
T = TypeVar("T")

# Bounds on retrying a transient failure: about a minute in all, then the error is the user's.
RETRY_ATTEMPTS = 8
RETRY_MAX_WAIT = 10.0

# MySQL/MariaDB error codes worth a retry: lock wait timeout, deadlock, server gone away,
# lost connection during query.
_MYSQL_TRANSIENT = {1205, 1213, 2006, 2013}
# PostgreSQL SQLSTATEs: serialization failure, deadlock, admin shutdown (pg_terminate_backend).
_PG_TRANSIENT = {"40001", "40P01", "57P01", "57P02", "57P03"}


class Conflict(Exception):
    """A write refused by a uniqueness constraint: someone else wrote that row first."""


class LockTable(Protocol):
    """Where a store keeps its state locks (see zenctl/state/lock.py), as rows."""

    def insert(self, row: Row) -> None:
        """Create the lock named `row["name"]`; Conflict when it exists."""
        ...

    def get(self, name: str) -> Row | None: ...

    def take_over(self, holder: Row, row: Row) -> None:
        """Replace `holder`'s lock with `row`; Conflict when it is no longer `holder`'s."""
        ...

    def beat(self, name: str, lock_id: str) -> bool:
        """Refresh the heartbeat; False when the lock is no longer `lock_id`'s."""
        ...

    def fence(self, execute: Any, name: str, lock_id: str) -> bool:
        """Whether the lock is still `lock_id`'s, checked inside a state write's transaction."""
        ...

    def delete(self, name: str, lock_id: str) -> None: ...

    def all(self) -> list[Row]: ...


class Database(Protocol):
    url: str  # for messages: never includes a password
    password: str | None  # masked in what steps write (zenctl/apply/masking.py)
    dialect: str  # "sqlite", "postgresql" or "mysql"

    @property
    def statements(self) -> int:
        """SQL statements run so far, for `ZENCTL_TRACE`'s figures."""
        ...

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]: ...

    def transaction(self) -> Any:
        """A context manager yielding an `execute(sql, params)` callable; commits on success."""
        ...

    def retrying(self, work: Callable[[], T]) -> T:
        """Run `work`, re-running it on a transient database failure."""
        ...

    def engine_url(self) -> Any:
        """The SQLAlchemy URL to migrate with, password included: never print it."""
        ...

    def migrated(self) -> None:
        """Called after a migration through `engine_url` committed."""
        ...

    def refresh(self) -> None:
        """Make the next reads see every committed write (a store that reads from a local
        copy fetches it again); called once the state lock is held."""
        ...

    def lock_table(self) -> LockTable | None:
        """The store's own lock table; None: rows of the SQL `locks` table."""
        ...

    def close(self) -> None: ...


def retrying(work: Callable[[], T], transient: Callable[[BaseException], bool], url: str) -> T:
    """Run `work`; on a transient failure, retry with jittered exponential backoff, bounded.

    The first attempt runs without tenacity: importing it costs ~70 ms, a tenth of a warm plan,
    and almost every call succeeds at once.
    """
    try:
        return work()
    except Exception as exc:
        if not transient(exc):
            raise
        first = exc
    import tenacity

    retry = tenacity.Retrying(
        retry=tenacity.retry_if_exception(transient),
        stop=tenacity.stop_after_attempt(RETRY_ATTEMPTS - 1),
        wait=tenacity.wait_exponential_jitter(multiplier=0.2, max=RETRY_MAX_WAIT),
        reraise=True,
    )
    try:
        return retry(work)
    except Exception as exc:
        if not transient(exc):
            raise
        raise UserError(
            "Lost the metadata store",
            f"{url} kept failing after {RETRY_ATTEMPTS} attempts: {_first_line(exc)} "
            f"(first failure: {_first_line(first)}). Every step that finished was recorded; "
            "steps in flight will show as interrupted. Check the database, then run "
            "`zenctl apply` again.",
        ) from exc


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class _Direct:
    """A database zenctl queries in place: migrations and reads need no syncing, and its
    locks are rows of its `locks` table."""

    def migrated(self) -> None:
        pass  # migrations write to the database itself

    def refresh(self) -> None:
        pass  # every query reads the database itself

    def lock_table(self) -> LockTable | None:
        return None


class SQLiteDatabase(_Direct):
    """SQLite in WAL mode: readers never block the apply that is writing.

    One connection, shared by the apply and its lock's heartbeat thread under a mutex.
    """

    dialect = "sqlite"
    password: str | None = None

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"
        self.statements = 0
        self._mutex = threading.RLock()
        self._connection = sqlite3.connect(
            path, isolation_level=None, timeout=30.0, check_same_thread=False
        )
        self._connection.row_factory = sqlite3.Row
        self._connection.set_trace_callback(self._count)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.execute("PRAGMA foreign_keys=ON")

    def _count(self, statement: str) -> None:
        if not statement.startswith("PRAGMA"):
            self.statements += 1

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        with self._mutex:
            return [dict(row) for row in self._connection.execute(sql, dict(params or {}))]

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with self._mutex:
            connection = self._connection
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield lambda sql, params=None: connection.execute(sql, dict(params or {}))
            except sqlite3.IntegrityError as exc:
                connection.execute("ROLLBACK")
                raise Conflict(str(exc)) from exc
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def retrying(self, work: Callable[[], T]) -> T:
        return retrying(work, _sqlite_transient, self.url)

    def engine_url(self) -> Any:
        return self.url

    def close(self) -> None:
        self._connection.close()


def _sqlite_transient(exc: BaseException) -> bool:
    text = str(exc)
    return isinstance(exc, sqlite3.OperationalError) and (
        "database is locked" in text or "database is busy" in text
    )


class ServerDatabase(_Direct):
    """PostgreSQL or MySQL/MariaDB through SQLAlchemy, with a small pool of connections.

    `pool_pre_ping` replaces a pooled connection the server dropped before it is used; a drop
    in the middle of a transaction is a transient failure, retried by the store.
    """

    def __init__(self, url: URL, dialect: str) -> None:
        import sqlalchemy

        self.dialect = dialect
        self.url = url.render_as_string(hide_password=True)
        # libpq reads PGPASSWORD itself when the url has no password
        self.password = url.password or (
            os.environ.get("PGPASSWORD") if dialect == "postgresql" else None
        )
        self._url = url
        self.statements = 0
        connect_args: dict[str, Any] = {"connect_timeout": 10}
        if dialect == "postgresql":
            connect_args["application_name"] = "zenctl"
        try:
            self._engine = sqlalchemy.create_engine(
                url,
                pool_pre_ping=True,
                pool_size=2,
                isolation_level="READ COMMITTED",
                connect_args=connect_args,
            )
        except ImportError as exc:
            raise UserError(
                f"The {dialect} driver is not installed",
                f"{exc}. Install zenctl with its {dialect} extra: pip install 'zenctl[{dialect}]'.",
            ) from None
        sqlalchemy.event.listen(self._engine, "before_cursor_execute", self._count)
        self._text = sqlalchemy.text
        try:
            self.retrying(lambda: self.query("SELECT 1 AS one"))
        except Exception as exc:
            raise UserError(
                "Can't connect to the metadata store",
                f"{self.url}: {self.scrub(_first_line(getattr(exc, 'orig', exc)))}. Check that "
                "the server is running and the url, user and password are right.",
            ) from None

    def _count(self, *_: Any) -> None:
        self.statements += 1

    def scrub(self, text: str) -> str:
        """`text` with the password blanked: driver messages may quote the connection string."""
        return text.replace(self.password, "***") if self.password else text

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        with self._engine.connect() as connection:
            result = connection.execute(self._text(sql), dict(params or {}))
            return [dict(row._mapping) for row in result]

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        from sqlalchemy.exc import IntegrityError

        with self._engine.connect() as connection:
            try:
                with connection.begin():
                    yield lambda sql, params=None: connection.execute(
                        self._text(sql), dict(params or {})
                    )
            except IntegrityError as exc:
                raise Conflict(self.scrub(_first_line(exc.orig or exc))) from exc

    def retrying(self, work: Callable[[], T]) -> T:
        return retrying(work, _server_transient, self.url)

    def engine_url(self) -> Any:
        return self._url

    def close(self) -> None:
        self._engine.dispose()


def _server_transient(exc: BaseException) -> bool:
    from sqlalchemy.exc import DBAPIError

    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    original = exc.orig
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate in _PG_TRANSIENT or str(sqlstate).startswith("08")
    args: tuple[Any, ...] = getattr(original, "args", ())
    return bool(args) and args[0] in _MYSQL_TRANSIENT


def in_clause(name: str, values: list[str]) -> tuple[str, dict[str, str]]:
    """`(:name_0, :name_1, ...)` and its parameters: named placeholders work on every driver."""
    params = {f"{name}_{index}": value for index, value in enumerate(values)}
    placeholders = ", ".join(f":{key}" for key in params) or "NULL"
    return f"({placeholders})", params
