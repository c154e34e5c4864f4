"""zenctl-beam: steps marked on = "processing" run as Apache Beam pipelines."""

from zenctl.providers.protocol import ComponentType, Provider
from zenctl_beam.executor import BeamExecutor

__version__ = "0.1.0"

PROVIDER = Provider(
    name="beam",
    version=__version__,
    components=(
        ComponentType(
            "processing",
            "beam",
            BeamExecutor.from_settings,
            "Runs a step's Beam PTransform over its inputs with a Beam runner.",
        ),
    ),
)
