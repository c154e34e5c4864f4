"""The `processing "beam"` component: where Beam steps run and with which runner.

Each step's pipeline is built and run in a local worker process (the same pool as the local
orchestrator), so Beam is imported there, never by `zenctl plan`; with a remote runner the
worker only submits the pipeline and waits for it.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from zenctl_local.orchestrator import LocalOrchestrator

from zenctl.diagnostics import UserError
from zenctl_beam.pipeline import run_pipeline

DEFAULT_RUNNER = "FnApiRunner"
# Beam 2.77's DirectRunner first downloads a Prism binary: slow, and impossible offline.
REFUSED_RUNNERS = {"directrunner": "DirectRunner", "switchingdirectrunner": "SwitchingDirectRunner"}


class BeamExecutor(LocalOrchestrator):
    @classmethod
    def from_settings(cls, settings: dict[str, Any], root: Path) -> BeamExecutor:
        unknown = sorted(set(settings) - {"runner", "options"})
        if unknown:
            raise UserError(
                f'Unknown setting "{unknown[0]}" in processing "beam"',
                'processing "beam" takes `runner` (a Beam runner name) and `options` (a map of '
                'Beam pipeline options, e.g. { temp_location = "/tmp/beam" }).',
            )
        runner = settings.get("runner", DEFAULT_RUNNER)
        options = settings.get("options", {})
        if not isinstance(runner, str) or not runner:
            raise UserError(
                'processing "beam": runner must be a string',
                f'Name a Beam runner, e.g. runner = "{DEFAULT_RUNNER}".',
            )
        name = runner.rsplit(".", 1)[-1].lower()  # a short name or a class path
        if name in REFUSED_RUNNERS:
            raise UserError(
                f'processing "beam" cannot use runner "{runner}"',
                f"Beam's {REFUSED_RUNNERS[name]} downloads and starts a Prism binary "
                f'before running anything. Use runner = "{DEFAULT_RUNNER}" (in-process, the '
                'default) or "BundleBasedDirectRunner"; "PrismRunner" if you want Prism.',
            )
        if not isinstance(options, dict) or "runner" in options:
            raise UserError(
                'processing "beam": options must be a map of pipeline options',
                'Give Beam pipeline options without dashes, e.g. options = { project = "p", '
                'region = "europe-west1" }; the runner goes in `runner`, not in options.',
            )
        return cls(functools.partial(run_pipeline, runner, options))
