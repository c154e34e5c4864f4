"""What every part of the store shares: its database, the state lock that fences its writes,
the serial each write bumps, and the retry of a method on a transient database failure.

The store's methods are grouped by concept in reading.py, writing.py and transfer.py, each a
mixin of this base; store.py puts them together as `StateStore`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from zenctl.state.db import Database

if TYPE_CHECKING:
    from zenctl.state.lock import StateLock

F = TypeVar("F", bound=Callable[..., Any])


def retried(method: F) -> F:
    """Re-run a store method (one transaction, or reads) on a transient database failure."""

    @functools.wraps(method)
    def wrapper(self: StoreBase, *args: Any, **kwargs: Any) -> Any:
        return self.db.retrying(lambda: method(self, *args, **kwargs))

    return wrapper  # type: ignore[return-value]


class StoreBase:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.lock: StateLock | None = None  # while this process holds it: fences every write

    def fence(self, execute: Any) -> None:
        """Refuse the write in progress (in its transaction) if this process took the state
        lock and has lost it since."""
        if self.lock is not None:
            self.lock.fence(execute)

    def _bump(self, execute: Any) -> int:
        """Fence the write, then move the serial on; the new serial."""
        self.fence(execute)
        execute("UPDATE zenctl_state SET serial = serial + 1 WHERE id = 1")
        return int(execute("SELECT serial FROM zenctl_state WHERE id = 1").fetchone()[0])

    def close(self) -> None:
        self.db.close()
