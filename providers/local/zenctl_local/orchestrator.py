"""Run steps in a pool of worker processes on this machine.

Workers are forked once per apply and reused, so a trivial step costs milliseconds, not a
Python start-up; independent steps run in parallel up to `--parallelism`. A worker killed by a
signal fails only its own step (zenctl_local.workers).
"""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path
from typing import Any

from zenctl.apply.task import StepBody, StepResult, StepTask
from zenctl.providers.protocol import Orchestrator
from zenctl_local.workers import WorkerPool


class LocalOrchestrator(Orchestrator):
    def __init__(self, body: StepBody | None = None) -> None:
        self._pool: WorkerPool | None = None
        self._body = body  # how a worker computes a step's value; picklable

    @classmethod
    def from_settings(cls, settings: dict[str, Any], root: Path) -> LocalOrchestrator:
        return cls()

    def start(self, parallelism: int) -> None:
        self._pool = WorkerPool(max(1, parallelism), self._body)

    def submit(self, task: StepTask) -> Future[StepResult]:
        if self._pool is None:
            raise RuntimeError("orchestrator not started")
        return self._pool.submit(task)

    def refill(self) -> None:
        if self._pool is not None:
            self._pool.refill()

    def shutdown(self, cancel: bool) -> None:
        if self._pool is None:
            return
        self._pool.shutdown(cancel)
        self._pool = None
