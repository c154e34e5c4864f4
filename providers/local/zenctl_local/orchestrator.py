"""Run steps in a pool of worker processes on this machine.

Workers are forked once per apply and reused, so a trivial step costs milliseconds, not a
Python start-up; independent steps run in parallel up to `--parallelism`.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from zenctl.apply.task import StepBody, StepResult, StepTask, execute_step
from zenctl.providers.protocol import Orchestrator


class LocalOrchestrator(Orchestrator):
    def __init__(self, body: StepBody | None = None) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._body = body  # how a worker computes a step's value; picklable

    @classmethod
    def from_settings(cls, settings: dict[str, Any], root: Path) -> LocalOrchestrator:
        return cls()

    def start(self, parallelism: int) -> None:
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        self._pool = ProcessPoolExecutor(
            max_workers=max(1, parallelism), mp_context=multiprocessing.get_context(method)
        )

    def submit(self, task: StepTask) -> Future[StepResult]:
        if self._pool is None:
            raise RuntimeError("orchestrator not started")
        return self._pool.submit(execute_step, task, self._body)

    def shutdown(self, cancel: bool) -> None:
        if self._pool is None:
            return
        if cancel:
            # ProcessPoolExecutor cannot stop running tasks; end its workers so that steps in
            # flight stop now rather than after they finish.
            for process in list(getattr(self._pool, "_processes", {}).values()):
                with contextlib.suppress(ProcessLookupError):  # it may exit meanwhile
                    os.kill(process.pid, signal.SIGTERM)
        self._pool.shutdown(wait=not cancel, cancel_futures=cancel)
        self._pool = None
