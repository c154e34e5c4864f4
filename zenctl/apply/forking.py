"""How worker processes start: from multiprocessing's fork server (spawned where there is
none), never forked from zenctl.

A fork copies zenctl's memory mid-use: a lock one of its threads holds (stdout's, inside a
print; the metadata store's) stays held in the child for ever, and a CUDA context does not
work there at all. The fork server is a small single-threaded process that imports the step
runtime once (`PRELOAD`); each worker is a fork of it, milliseconds rather than a Python
start-up, and gets zenctl's sys.path and working directory (multiprocessing hands them over)
and its environment (the pool does).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
from multiprocessing import forkserver
from multiprocessing.context import ForkServerContext, SpawnContext

# the step runtime, and zenctl's main module: a worker would import it again otherwise
PRELOAD = ["__main__", "zenctl.apply.workers"]


def start_fork_server() -> bool:
    """Start the fork server now, if this platform has one (False: it has not), so that it
    imports the step runtime while zenctl plans and records the run: the first step's
    worker need not wait for it. Once started, it serves this process until it ends."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return False
    multiprocessing.get_context("forkserver").set_forkserver_preload(PRELOAD)
    # The server is `python -c ...`: its sys.path would start with the working directory
    # (Python 3.11 ignores the sys_path it is handed), and a `zenctl` folder there (a
    # checkout) would be imported in place of zenctl's own. It gets zenctl's sys.path.
    path = os.pathsep.join(entry for entry in sys.path if isinstance(entry, str))
    saved = {name: os.environ.get(name) for name in ("PYTHONPATH", "PYTHONSAFEPATH")}
    os.environ.update(PYTHONPATH=path, PYTHONSAFEPATH="1")
    try:
        forkserver.ensure_running()  # nothing to do when it runs: it has them already
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return True


def worker_context() -> ForkServerContext | SpawnContext:
    """The fork server, with the step runtime imported in it, else spawn (Windows)."""
    if not start_fork_server():
        return multiprocessing.get_context("spawn")
    return multiprocessing.get_context("forkserver")


def release_fork_server() -> None:
    """In a worker: close its copy of the fork server's "alive" pipe, which multiprocessing
    hands every process it starts. The server runs until no process holds it, and a worker
    whose parent (the server) lives on does not die with zenctl: only zenctl should hold it."""
    server = forkserver._forkserver
    alive = getattr(server, "_forkserver_alive_fd", None)  # none: not started by the server
    if alive is not None:
        with contextlib.suppress(OSError):
            os.close(alive)
        setattr(server, "_forkserver_alive_fd", None)  # noqa: B010 (a private attribute)
