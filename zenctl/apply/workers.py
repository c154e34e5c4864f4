"""A pool of worker processes, one step at a time each, in which a worker's death is its own.

concurrent.futures' ProcessPoolExecutor breaks as a whole when one worker dies: every step in
flight fails with `BrokenProcessPool`, none named. Here each worker has its own pipe, so a worker
killed by a signal (the kernel's OOM killer, a segfault) fails only the step it was running,
with that signal's name, and the others go on. A worker is never given a step again once sent
one that it did not answer: no step runs twice. Workers die with zenctl (zenctl/apply/lifeline.py).
Workers are started by the fork server, never forked from zenctl (zenctl/apply/forking.py).

`WorkerPoolExecutor` is the step executor on top: the local provider's orchestrator, and any
executor that computes a step's value its own way (a `StepBody`: Beam's pipeline) in workers
on this machine.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path

from zenctl.apply.forking import release_fork_server, worker_context
from zenctl.apply.lifeline import die_with_parent
from zenctl.apply.task import execute_step, open_log
from zenctl.providers.protocol import StepBody, StepExecutor, StepLost, StepResult, StepTask

_POLL_S = 1.0  # a worker whose pipe and sentinel a forked grandchild holds open is polled
_GRACE_S = 5.0  # how long a cancelled worker has to end on SIGTERM before SIGKILL


@dataclass
class _Worker:
    process: BaseProcess
    connection: Connection  # zenctl's end: steps go out, results come back
    step: tuple[StepTask, Future[StepResult]] | None = None  # the one it runs
    retiring: bool = False  # it ran a step with its own environment: it runs no other
    used: bool = False  # it ran a step: a step with an environment of its own needs a fresh one


class WorkerPoolExecutor(StepExecutor):
    """Runs steps in a `WorkerPool` of worker processes, `--parallelism` at most at once.

    `body` computes each step's value in the worker (None: call the step function); it is
    sent to every worker, so it must be picklable (a module-level function, a partial).
    """

    def __init__(self, body: StepBody | None = None) -> None:
        self._pool: WorkerPool | None = None
        self._body = body

    def start(self, parallelism: int) -> None:
        self._pool = WorkerPool(max(1, parallelism), self._body)

    def submit(self, task: StepTask) -> Future[StepResult]:
        if self._pool is None:
            raise RuntimeError("executor not started")
        return self._pool.submit(task)

    def refill(self) -> None:
        if self._pool is not None:
            self._pool.refill()

    def shutdown(self, cancel: bool) -> None:
        if self._pool is None:
            return
        self._pool.shutdown(cancel)
        self._pool = None


class WorkerPool:
    """Up to `size` workers, started as steps arrive and reused for the whole apply.

    Workers are started only in the thread that calls `submit` and `refill` (the training
    component's `Popen` runs there too, and a start beside it would keep its pipe open). A
    thread of the pool only reads results and sends queued steps to idle workers.
    """

    def __init__(self, size: int, body: StepBody | None) -> None:
        self._context = worker_context()
        self._size = size
        self._body = body
        self._lock = threading.Lock()
        self._workers: list[_Worker] = []
        self._queue: deque[tuple[StepTask, Future[StepResult]]] = deque()
        self._stopping = False
        self._shut = False
        self._wake_reader, self._wake_writer = self._context.Pipe(duplex=False)
        self._collector = threading.Thread(target=self._collect, name="zenctl-results", daemon=True)
        self._collector.start()

    def submit(self, task: StepTask) -> Future[StepResult]:
        future: Future[StepResult] = Future()
        with self._lock:
            self._queue.append((task, future))
        self.refill()
        return future

    def refill(self) -> None:
        """Send queued steps to idle workers, and start workers for the rest (up to `size`)."""
        with self._lock:
            self._dispatch()
            working = sum(not worker.retiring for worker in self._workers)  # the rest are ending
            missing = min(len(self._queue), self._size - working)
        for _ in range(missing):
            worker = self._start_worker()
            with self._lock:
                self._workers.append(worker)
                self._dispatch()
        if missing > 0:
            self._wake()

    def shutdown(self, cancel: bool) -> None:
        """Stop every worker once its step ends; with `cancel`, end the steps too (SIGTERM,
        then SIGKILL). The collector alone reaps workers: two threads reaping one process race.
        Only the first call acts: after a cancel (Ctrl-C), the apply's closing shutdown must
        not wait for anything again."""
        if self._shut:
            return
        self._shut = True
        with self._lock:
            self._stopping = True
            for _, future in self._queue:
                future.cancel()
            self._queue.clear()
            workers = list(self._workers)
            for worker in workers:
                if worker.step is None:
                    _send(worker, None)
        if cancel:
            for worker in workers:
                worker.process.terminate()
        self._wake()
        self._collector.join(_GRACE_S if cancel else None)
        if self._collector.is_alive():  # a step that ignores SIGTERM
            with self._lock:
                for worker in self._workers:
                    worker.process.kill()
            # bounded: a collector stuck on a future that Ctrl-C left locked in the main thread
            # must not keep zenctl from exiting (it is a daemon thread)
            self._collector.join(_GRACE_S)
        self._wake_reader.close()
        self._wake_writer.close()

    def _start_worker(self) -> _Worker:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(
            target=_serve,
            args=(theirs, self._body, os.getpid(), dict(os.environ)),
            name="zenctl-worker",
        )
        process.start()
        theirs.close()
        return _Worker(process, ours)

    def _dispatch(self) -> None:
        """Give queued steps to idle workers (the lock is held). A step with an environment
        of its own (its GPUs) gets a worker that has run nothing, since CUDA reads
        `CUDA_VISIBLE_DEVICES` once per process: an idle worker that has run a step is
        retired to make room for a fresh one, which `refill` starts."""
        idle = [worker for worker in self._workers if worker.step is None and not worker.retiring]
        for item in list(self._queue):
            own = bool(item[0].environment)
            fits = [worker for worker in idle if not (own and worker.used)]
            if not fits:
                spare = next((worker for worker in idle if worker.used), None)
                if own and spare is not None:
                    spare.retiring = True
                    idle.remove(spare)
                    _send(spare, None)
                continue
            worker = max(fits, key=lambda candidate: candidate.used)  # fresh ones kept for GPUs
            idle.remove(worker)
            self._queue.remove(item)
            worker.step, worker.used = item, True
            item[1].set_running_or_notify_cancel()
            _send(worker, item[0])  # if it died meanwhile, its sentinel says so

    def _wake(self) -> None:
        """Make the collector look again: a worker was started, or the pool is stopping."""
        with contextlib.suppress(OSError):  # closed: the pool is shut down
            self._wake_writer.send_bytes(b"")

    def _collect(self) -> None:
        """Hand each result to its future, and each lost worker's step its cause of death."""
        while True:
            with self._lock:
                if self._stopping and not self._workers:
                    return
                workers = list(self._workers)
            pipes = {worker.connection: worker for worker in workers}
            sentinels = {worker.process.sentinel: worker for worker in workers}
            ready = wait([self._wake_reader, *pipes, *sentinels], timeout=_POLL_S)
            if self._wake_reader in ready:
                while self._wake_reader.poll():
                    self._wake_reader.recv_bytes()
            for worker in workers:
                if worker.connection in ready:
                    self._receive(worker)
            for worker in workers:
                if worker.process.sentinel in ready or not worker.process.is_alive():
                    self._bury(worker)

    def _receive(self, worker: _Worker) -> None:
        try:
            result: StepResult = worker.connection.recv()
        except (EOFError, OSError):  # it died, maybe mid-message: its sentinel follows
            return
        with self._lock:
            assert worker.step is not None, "a result from an idle worker"
            task, future = worker.step
            worker.step = None
            worker.retiring = bool(task.environment)
            if self._stopping or worker.retiring:
                _send(worker, None)  # it ends; `refill` starts another if steps wait
            if not self._stopping:
                self._dispatch()
        future.set_result(result)

    def _bury(self, worker: _Worker) -> None:
        """Remove a worker that ended; the step it ran fails with the reason, in its log too."""
        if worker.step is not None and worker.connection.poll():  # it answered, then ended
            self._receive(worker)
        worker.process.join()
        with self._lock:
            if worker not in self._workers:
                return
            self._workers.remove(worker)
            step, worker.step = worker.step, None
        worker.connection.close()
        if step is None:
            return
        task, future = step
        reason = cause_of_death(worker.process.exitcode)
        with contextlib.suppress(OSError), open(open_log(Path(task.log_path)), "a") as log:
            log.write(f"\nzenctl: the step ended outside its code: {reason}\n")
        future.set_exception(StepLost(reason))


def _send(worker: _Worker, task: StepTask | None) -> None:
    with contextlib.suppress(OSError):  # a dead worker: its sentinel reports it
        worker.connection.send(task)


def cause_of_death(exitcode: int | None, process: str = "its worker process") -> str:
    """`killed by signal 9 (SIGKILL): out of memory?`, or the exit code `process` ended with."""
    if exitcode is None or exitcode >= 0:  # os._exit() in the step, or a crash of the worker
        code = "" if exitcode is None else f" with code {exitcode}"
        return f"{process} exited{code} before it reported a result"
    number = -exitcode
    try:
        name = signal.Signals(number).name
    except ValueError:  # a real-time signal has no name
        return f"killed by signal {number}"
    # The kernel's OOM killer sends SIGKILL, and it is the usual sender of one.
    hint = ": out of memory?" if number == signal.SIGKILL else ""
    return f"killed by signal {number} ({name}){hint}"


def _serve(
    connection: Connection, body: StepBody | None, parent: int, environ: dict[str, str]
) -> None:
    """A worker's life: run each step it is sent, until told to stop (None). It runs in
    zenctl's environment as it is now (the fork server has the one it started with)."""
    die_with_parent(parent)
    release_fork_server()
    os.environ.clear()
    os.environ.update(environ)
    try:
        while (task := connection.recv()) is not None:
            os.environ.update(task.environment)  # its worker runs no other step (`retiring`)
            connection.send(execute_step(task, body))
    except KeyboardInterrupt:
        # Ctrl-C reaches the whole process group. End by SIGINT's own default action: zenctl
        # handles the interruption, and no traceback reaches the terminal.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    except EOFError:  # zenctl is gone
        pass
