"""Run steps on a Dask distributed cluster.

Each step is one Dask task running the core's `execute_step`, so a step behaves as with the
local orchestrator: its exception fails it with its log, the walker skips its dependents.
Workers rebuild the stack's artifact store from the task and get the step's code from this
machine (shipping.py), so they share nothing with it but that store. A worker that dies fails
its step alone, named; the user's logging configuration is left as it was.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import uuid
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from typing import Any

from zenctl_dask.logs import logging_kept

with logging_kept():  # the user's logging, not what importing distributed makes of it
    from distributed import Client, KilledWorker, LocalCluster, get_worker
    from distributed import Future as DaskFuture

    from zenctl_dask.shipping import ShipCode, code_bundle, code_folder

from zenctl.sdk import (
    ArtifactStore,
    Orchestrator,
    StepLost,
    StepResult,
    StepTask,
    UserError,
    execute_step,
    load_inputs,
    parse_settings,
    step_function,
)
from zenctl_dask.resources import dask_resources, unmet
from zenctl_dask.settings import DaskSettings
from zenctl_dask.versions import check_versions, compared

BLOCK = 'orchestrator "dask"'
_LOG_LIMIT = 8 << 20  # the tail of a step's log shipped back to this machine, bytes

# `execute_step` points file descriptors 1 and 2 at the step's log: two steps in threads of
# one worker process would write into each other's logs, so a process runs one at a time.
_one_step_at_a_time = threading.Lock()


class ClusterError(RuntimeError):
    """The cluster, not the step, ended the step's task."""


def run_on_worker(task: StepTask, code: str) -> tuple[StepResult, bytes]:
    """The step on a Dask worker, its code from the bundle `code` that ShipCode wrote here."""
    worker = get_worker()
    folder = code_folder(worker.local_directory, code)
    if not folder.is_dir():
        raise StepLost(
            f"the step's code did not reach worker {worker.address}: {folder} is missing "
            "(its plugin was unregistered, or could not write there)"
        )
    return run_step(task, folder)


def run_step(task: StepTask, code: Path) -> tuple[StepResult, bytes]:
    """`execute_step` with the step's modules imported from `code`, with the tail of its log
    for machines that cannot see the worker's disk."""

    def body(task: StepTask, store: ArtifactStore, details: dict[str, str]) -> Any:
        # sources are read at the project's path; the code, checked, from its copy here
        inputs = load_inputs(task, store)
        return step_function(replace(task, root=str(code)))(**{**task.params, **inputs})

    with _one_step_at_a_time:
        saved_path = list(sys.path)
        try:
            result = execute_step(task, body, code_root=str(code))
        finally:
            sys.path[:] = saved_path
            _forget_modules_under(code)
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


def _forget_modules_under(folder: Path) -> None:
    """A worker outlives an apply and serves other projects: the next step imports its own
    project's code afresh (its own `steps` package, say), never this one's."""
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file and Path(file).is_relative_to(folder):
            del sys.modules[name]


class DaskOrchestrator(Orchestrator):
    def __init__(self, settings: DaskSettings) -> None:
        self.settings = settings
        self._cluster: LocalCluster | None = None
        self._client: Client | None = None
        self._running: dict[str, DaskFuture] = {}  # key -> future, until it ends
        self._shipped: set[str] = set()  # the code bundles this apply registered
        self._lock = threading.Lock()
        self._levels: dict[str, int] = {}  # the distributed loggers' levels before start

    @classmethod
    def from_settings(cls, settings: dict[str, Any], root: Path) -> DaskOrchestrator:
        return cls(parse_settings(DaskSettings, settings, BLOCK))

    def start(self, parallelism: int) -> None:
        self._quiet_dask()
        address = self.settings.scheduler
        if address is None:
            try:
                self._cluster = LocalCluster(
                    n_workers=self.settings.workers or max(1, parallelism),
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address="127.0.0.1:0",  # its HTTP server: a free port, not 8787
                    silence_logs=logging.ERROR,  # its workers, and its handlers while it runs
                    resources=self.settings.worker_resources,
                )
            except (OSError, RuntimeError) as exc:
                raise UserError(
                    "Could not start a local Dask cluster",
                    f"{exc}. Check that worker processes can start here (memory, process "
                    f"limits), or give `scheduler` in the stack's {BLOCK} block.",
                ) from None
            self._client = Client(self._cluster)
        else:
            try:
                self._client = Client(address, timeout=self.settings.connect_timeout)
            except (OSError, TimeoutError, ValueError) as exc:
                raise UserError(
                    f"Cannot reach the Dask scheduler at {address}",
                    f"{exc}. Start it (`dask scheduler`, then `dask worker {address}` on each "
                    f"machine), or fix `scheduler` in the stack's {BLOCK} block; leave "
                    "`scheduler` out to run a local cluster.",
                ) from None
        found = self._client.get_versions(packages=["zenctl", "zenctl-dask"])
        if not found["workers"]:  # a step would wait for ever, and skip the version check
            raise UserError(
                f"No Dask worker is connected to {self._address()}",
                f"Start one (`dask worker {address}`) on each machine that should run steps, "
                f"or leave `scheduler` out of the stack's {BLOCK} block to run a local cluster.",
            )
        workers = {
            address: compared((info or {}).get("packages") or {})
            for address, info in found["workers"].items()
        }
        check_versions(compared(found["client"]["packages"]), workers, self._address())

    def _quiet_dask(self) -> None:
        """What went wrong reaches the user as a diagnostic or a failed step, not as Dask's
        internal tracebacks on stderr. Only Dask's own loggers are quietened, and only
        during the apply: the root logger and the user's handlers are left alone."""
        for name in [*logging.root.manager.loggerDict, "distributed"]:
            if name.split(".")[0] == "distributed":  # each has a level of its own
                logger = logging.getLogger(name)
                self._levels.setdefault(name, logger.level)
                logger.setLevel(logging.CRITICAL)

    def submit(self, task: StepTask) -> Future[StepResult]:
        if self._client is None:
            raise RuntimeError("orchestrator not started")
        future: Future[StepResult] = Future()
        future.set_running_or_notify_cancel()
        needed = dask_resources(task.resources)
        why = unmet(needed, self._worker_resources()) if needed else None
        if why is not None:
            return _refused(task, future, why)
        bundle = code_bundle(task)
        if bundle.digest not in self._shipped:
            try:
                self._client.register_plugin(ShipCode(bundle))
            except Exception as exc:  # a worker could not write it: its disk, its rights
                return _refused(task, future, f"its code could not reach the workers: {exc}")
            self._shipped.add(bundle.digest)
        key = f"zenctl-{task.address}-{uuid.uuid4().hex[:8]}"
        with self._lock:
            self._running[key] = self._client.submit(
                run_on_worker, task, bundle.digest, key=key, pure=False, resources=needed or None
            )
            # Dask runs done-callbacks on one shared thread: no thread per step
            self._running[key].add_done_callback(lambda done: self._settle(done, task, future))
        return future

    def _worker_resources(self) -> dict[str, dict[str, float]]:
        assert self._client is not None
        workers = self._client.scheduler_info()["workers"]
        return {address: dict(info.get("resources") or {}) for address, info in workers.items()}

    def _settle(self, done: DaskFuture, task: StepTask, future: Future[StepResult]) -> None:
        with self._lock:
            self._running.pop(done.key, None)
        try:
            if done.status == "cancelled":
                raise ClusterError(
                    "the step was cancelled on the Dask cluster: its scheduler "
                    f"({self._address()}) was lost or restarted; apply again"
                )
            result, log = done.result()  # raises what ended the task (a worker that died)
            _keep_shipped_log(Path(task.log_path), log)
        except KilledWorker as exc:
            future.set_exception(StepLost(_killed(exc)))
        except BaseException as exc:  # the walker must hear of every end, or it waits forever
            future.set_exception(exc)
        else:
            future.set_result(result)

    def _address(self) -> str:
        return self.settings.scheduler or "the local cluster"

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
        for name, level in self._levels.items():
            logging.getLogger(name).setLevel(level)
        self._levels.clear()


def _refused(task: StepTask, future: Future[StepResult], why: str) -> Future[StepResult]:
    """The step fails before it reaches the cluster; its log, which the failure points at,
    says why."""
    with contextlib.suppress(OSError):
        log = Path(task.log_path)
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as out:
            out.write(f"{task.address} did not run on the Dask cluster: {why}\n")
    future.set_exception(StepLost(why))
    return future


def _killed(exc: KilledWorker) -> str:
    """The worker that died last with the step, and how many tried before it."""
    before = exc.allowed_failures  # Dask gave up after this many more deaths
    others = (
        f", as did {before} before it (distributed.scheduler.allowed-failures = {before})"
        if before
        else ""
    )
    return (
        f"its Dask worker {exc.last_worker.address} died while running it (killed, out of "
        f"memory, or the step ended the process){others}; that worker's log says why"
    )
