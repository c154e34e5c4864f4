"""zenctl-gcp: Google Cloud components."""

from zenctl.providers.protocol import ComponentType, Provider
from zenctl_gcp.dataflow import DataflowExecutor

__version__ = "0.1.0"

PROVIDER = Provider(
    name="gcp",
    version=__version__,
    components=(
        ComponentType(
            "processing",
            "dataflow",
            DataflowExecutor.from_settings,
            "Launches a Dataflow Flex Template job per step and waits for it.",
        ),
    ),
)
