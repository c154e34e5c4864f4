"""Dask provider: steps run on a Dask distributed cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zenctl.providers.protocol import ComponentType, Orchestrator, Provider

__version__ = "0.1.0"


def _orchestrator(settings: dict[str, Any], root: Path) -> Orchestrator:
    from zenctl_dask.orchestrator import DaskOrchestrator  # distributed: import only when used

    return DaskOrchestrator.from_settings(settings, root)


PROVIDER = Provider(
    name="dask",
    version=__version__,
    components=(
        ComponentType(
            "orchestrator",
            "dask",
            _orchestrator,
            "Runs steps on a Dask cluster (scheduler), or a local one per apply.",
        ),
    ),
)
