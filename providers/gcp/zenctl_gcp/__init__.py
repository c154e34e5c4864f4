"""Google Cloud provider: Dataflow Flex Template jobs as a processing component."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zenctl.providers.protocol import ComponentType, Provider, StepExecutor

__version__ = "0.1.0"


def _dataflow(settings: dict[str, Any], root: Path) -> StepExecutor:
    from zenctl_gcp.dataflow import DataflowExecutor  # google-cloud: only when used

    return DataflowExecutor.from_settings(settings, root)


PROVIDER = Provider(
    name="gcp",
    version=__version__,
    components=(
        ComponentType(
            "processing",
            "dataflow",
            _dataflow,
            "Launches a Dataflow Flex Template job per step and waits for it.",
        ),
    ),
)
