"""The `processing "beam"` component: where Beam steps run and with which runner.

Each step's pipeline is built and run in a local worker process (the SDK's worker pool, as
the local orchestrator's), so Beam is imported there, never by `zenctl plan`; with a remote
runner the worker only submits the pipeline and waits for it.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from zenctl.sdk import WorkerPoolExecutor, parse_settings
from zenctl_beam.pipeline import run_pipeline
from zenctl_beam.settings import BeamSettings

BLOCK = 'processing "beam"'


class BeamExecutor(WorkerPoolExecutor):
    @classmethod
    def from_settings(cls, settings: dict[str, Any], root: Path) -> BeamExecutor:
        checked = parse_settings(BeamSettings, settings, BLOCK)
        return cls(functools.partial(run_pipeline, checked.runner, dict(checked.options)))
