"""zenctl-beam: steps marked on = "processing" run as Apache Beam pipelines."""

from zenctl.sdk import ComponentType, Provider

__version__ = "0.1.0"

PROVIDER = Provider(
    name="beam",
    version=__version__,
    components=(
        ComponentType(
            "processing",
            "beam",
            "zenctl_beam.executor:BeamExecutor.from_settings",  # Beam: imported when used
            "Runs a step's Beam PTransform over its inputs with a Beam runner.",
            "zenctl_beam.settings:BeamSettings",  # imported only to check settings
        ),
    ),
)
