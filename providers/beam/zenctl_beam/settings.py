"""What a `processing "beam"` block may say. Its own module, named by import path in the
provider: `zenctl validate` imports it without importing Beam."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from zenctl.sdk import Settings

DEFAULT_RUNNER = "FnApiRunner"
# Beam 2.77's DirectRunner first downloads a Prism binary: slow, and impossible offline.
REFUSED_RUNNERS = {"directrunner": "DirectRunner", "switchingdirectrunner": "SwitchingDirectRunner"}


class BeamSettings(Settings):
    runner: str = Field(
        DEFAULT_RUNNER,
        min_length=1,
        description="The Beam runner: a short name (FnApiRunner, DataflowRunner) or a class path.",
    )
    options: dict[str, Any] = Field(
        default_factory=dict,
        description='Beam pipeline options without dashes, e.g. { temp_location = "/tmp/beam" '
        "}; the runner goes in `runner`.",
    )

    @field_validator("runner")
    @classmethod
    def _not_a_downloading_runner(cls, runner: str) -> str:
        name = runner.rsplit(".", 1)[-1].lower()  # a short name or a class path
        if name in REFUSED_RUNNERS:
            raise ValueError(
                f'processing "beam" cannot use runner "{runner}": Beam\'s '
                f"{REFUSED_RUNNERS[name]} downloads and starts a Prism binary before running "
                f'anything. Use runner = "{DEFAULT_RUNNER}" (in-process, the default) or '
                '"BundleBasedDirectRunner"; "PrismRunner" if you want Prism'
            )
        return runner

    @field_validator("options")
    @classmethod
    def _runner_apart(cls, options: dict[str, Any]) -> dict[str, Any]:
        if "runner" in options:
            raise ValueError("the runner goes in `runner`, not in options")
        return options
