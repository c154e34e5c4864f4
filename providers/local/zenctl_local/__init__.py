"""The built-in local provider: everything on this machine, nothing to run."""

from zenctl.providers.protocol import ComponentType, Provider
from zenctl_local.artifact_store import LocalArtifactStore
from zenctl_local.orchestrator import LocalOrchestrator

__version__ = "0.1.0"

PROVIDER = Provider(
    name="local",
    version=__version__,
    components=(
        ComponentType(
            "orchestrator",
            "local",
            LocalOrchestrator.from_settings,
            "Runs steps in worker processes on this machine, independent steps in parallel.",
        ),
        ComponentType(
            "artifact_store",
            "local",
            LocalArtifactStore.from_settings,
            "A content-addressed folder (default .zenctl/artifacts).",
        ),
    ),
)
