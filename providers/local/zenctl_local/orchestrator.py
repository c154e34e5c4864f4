"""Run steps in a pool of worker processes on this machine.

Workers are forked once per apply and reused, so a trivial step costs milliseconds, not a
Python start-up; independent steps run in parallel up to `--parallelism`. A worker killed by a
signal fails only its own step (the SDK's `WorkerPoolExecutor`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zenctl.sdk import Orchestrator, WorkerPoolExecutor


class LocalOrchestrator(WorkerPoolExecutor, Orchestrator):
    @classmethod
    def from_settings(cls, settings: dict[str, Any], root: Path) -> LocalOrchestrator:
        return cls()
