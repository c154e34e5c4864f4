"""Run steps on a Dask distributed cluster.

Each step is one Dask task running the core's `execute_step`, so a step behaves as with the
local orchestrator: its exception fails it with its log, the walker skips its dependents.
Workers rebuild the stack's artifact store from the task, so they share nothing with this
machine but that store and the project's code (at the same path).
"""

from __future__ import annotations

import logging
import sys
import threading
import uuid
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from distributed import Client, LocalCluster
from distributed import Future as DaskFuture

from zenctl.sdk import Orchestrator, StepResult, StepTask, UserError, execute_step, parse_settings
from zenctl_dask.settings import DaskSettings

BLOCK = 'orchestrator "dask"'
_LOG_LIMIT = 8 << 20  # the tail of a step's log shipped back to this machine, bytes

# `execute_step` points file descriptors 1 and 2 at the step's log: two steps in threads of
# one worker process would write into each other's logs, so a process runs one at a time.
_one_step_at_a_time = threading.Lock()


class ClusterError(RuntimeError):
    """The cluster, not the step, ended the step's task."""


def run_on_worker(task: StepTask) -> tuple[StepResult, bytes]:
    """`execute_step` on a Dask worker, with the tail of its log for machines that cannot
    see the worker's disk."""
    with _one_step_at_a_time:
        saved_path = list(sys.path)
        try:
            result = execute_step(task)
        finally:
            sys.path[:] = saved_path
            _forget_project_modules(task.root)
    try:
        with open(task.log_path, "rb") as log:
            log.seek(0, 2)
            log.seek(max(0, log.tell() - _LOG_LIMIT))
            return result, log.read()
    except OSError:
        return result, b""


def _keep_shipped_log(path: Path, log: bytes) -> None:
    """Write a worker's log here when its disk is not this machine's."""
    if log and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(log)


def _forget_project_modules(root: str) -> None:
    """A worker outlives an apply and serves other projects: the next step imports its own
    project's code afresh, never this one's as it was."""
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file and Path(file).is_relative_to(root):
            del sys.modules[name]


class DaskOrchestrator(Orchestrator):
    def __init__(self, settings: DaskSettings) -> None:
        self.settings = settings
        self._cluster: LocalCluster | None = None
        self._client: Client | None = None
        self._running: dict[str, DaskFuture] = {}  # key -> future, until it ends
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: dict[str, Any], root: Path) -> DaskOrchestrator:
        return cls(parse_settings(DaskSettings, settings, BLOCK))

    def start(self, parallelism: int) -> None:
        # what went wrong reaches the user as a diagnostic or a failed step, not as Dask's
        # internal tracebacks on stderr
        for name in [*logging.root.manager.loggerDict, "distributed"]:
            if name.split(".")[0] == "distributed":  # each has a level of its own
                logging.getLogger(name).setLevel(logging.CRITICAL)
        address = self.settings.scheduler
        if address is None:
            try:
                self._cluster = LocalCluster(
                    n_workers=self.settings.workers or max(1, parallelism),
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address="127.0.0.1:0",  # its HTTP server: a free port, not 8787
                    silence_logs=logging.ERROR,
                )
            except (OSError, RuntimeError) as exc:
                raise UserError(
                    "Could not start a local Dask cluster",
                    f"{exc}. Check that worker processes can start here (memory, process "
                    f"limits), or give `scheduler` in the stack's {BLOCK} block.",
                ) from None
            self._client = Client(self._cluster)
            return
        try:
            self._client = Client(address, timeout=self.settings.connect_timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            raise UserError(
                f"Cannot reach the Dask scheduler at {address}",
                f"{exc}. Start it (`dask scheduler`, then `dask worker {address}` on each "
                f"machine), or fix `scheduler` in the stack's {BLOCK} block; leave `scheduler` "
                "out to run a local cluster.",
            ) from None

    def submit(self, task: StepTask) -> Future[StepResult]:
        if self._client is None:
            raise RuntimeError("orchestrator not started")
        key = f"zenctl-{task.address}-{uuid.uuid4().hex[:8]}"
        future: Future[StepResult] = Future()
        future.set_running_or_notify_cancel()
        with self._lock:
            self._running[key] = self._client.submit(run_on_worker, task, key=key, pure=False)
            # Dask runs done-callbacks on one shared thread: no thread per step
            self._running[key].add_done_callback(lambda done: self._settle(done, task, future))
        return future

    def _settle(self, done: DaskFuture, task: StepTask, future: Future[StepResult]) -> None:
        with self._lock:
            self._running.pop(done.key, None)
        try:
            if done.status == "cancelled":
                raise ClusterError(
                    "the step was cancelled on the Dask cluster: its scheduler "
                    f"{self._address()} was lost or restarted; apply again"
                )
            result, log = done.result()  # raises what ended the task (a worker that died)
            _keep_shipped_log(Path(task.log_path), log)
        except BaseException as exc:  # the walker must hear of every end, or it waits forever
            future.set_exception(exc)
        else:
            future.set_result(result)

    def _address(self) -> str:
        return self.settings.scheduler or "of the local cluster"

    def shutdown(self, cancel: bool) -> None:
        if self._client is not None:
            if cancel:
                with self._lock:
                    running = list(self._running.values())
                self._client.cancel(running, force=True)
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()  # ends its worker processes, and steps in flight with them
            self._cluster = None
