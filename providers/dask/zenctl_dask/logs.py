"""Importing `distributed` configures logging: it sets the levels of `distributed`, `tornado`
and `bokeh` loggers and gives `distributed` a handler of its own (its `logging` config).
zenctl may run inside the user's program (a notebook, the Python API, a test), whose logging
is the user's: the import is made inside `logging_kept`, which puts back what it changed."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator

_State = tuple[int, list[logging.Handler], bool, bool]  # level, handlers, propagate, disabled


def _state(logger: logging.Logger) -> _State:
    return logger.level, list(logger.handlers), logger.propagate, logger.disabled


def _loggers() -> dict[str, logging.Logger]:
    known = logging.root.manager.loggerDict.items()
    return {"": logging.root} | {n: lg for n, lg in known if isinstance(lg, logging.Logger)}


@contextlib.contextmanager
def logging_kept() -> Iterator[None]:
    """Every logger as it was before the block; one the block created, as a logger no one
    configured (its level unset, propagating, without handlers but a NullHandler)."""
    if "distributed" in sys.modules:  # configured already, by whoever imported it first
        yield
        return
    before = {name: _state(logger) for name, logger in _loggers().items()}
    try:
        yield
    finally:
        for name, logger in _loggers().items():
            level, handlers, propagate, disabled = before.get(name) or (
                logging.NOTSET,
                [h for h in logger.handlers if isinstance(h, logging.NullHandler)],
                True,
                False,
            )
            logger.setLevel(level)
            logger.handlers[:] = handlers
            logger.propagate, logger.disabled = propagate, disabled
