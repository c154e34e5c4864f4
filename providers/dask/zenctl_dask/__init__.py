"""Dask provider: steps run on a Dask distributed cluster."""

from zenctl.sdk import ComponentType, Provider

__version__ = "0.1.0"


PROVIDER = Provider(
    name="dask",
    version=__version__,
    components=(
        ComponentType(
            "orchestrator",
            "dask",
            "zenctl_dask.orchestrator:DaskOrchestrator.from_settings",  # distributed: when used
            "Runs steps on a Dask cluster (scheduler), or a local one per apply.",
            "zenctl_dask.settings:DaskSettings",  # imported only to check settings
            places_steps=True,  # resources are the workers' (zenctl_dask/resources.py)
        ),
    ),
)
