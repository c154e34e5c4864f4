"""The built-in local provider: everything on this machine, nothing to run."""

from zenctl.sdk import ComponentType, Provider

__version__ = "0.1.0"

PROVIDER = Provider(
    name="local",
    version=__version__,
    components=(
        ComponentType(
            "orchestrator",
            "local",
            "zenctl_local.orchestrator:LocalOrchestrator.from_settings",
            "Runs steps in worker processes on this machine, independent steps in parallel.",
            "zenctl_local.schemas:OrchestratorSettings",  # imported only to check settings
        ),
        ComponentType(
            "artifact_store",
            "local",
            "zenctl_local.artifact_store:LocalArtifactStore.from_settings",
            "A content-addressed folder (default .zenctl/artifacts).",
            "zenctl_local.schemas:ArtifactStoreSettings",
        ),
        ComponentType(
            "training",
            "local",
            "zenctl_local.training:LocalTraining.from_settings",
            "Runs each training step in its own process: environment, timeout, GPUs.",
            "zenctl_local.schemas:TrainingSettings",
        ),
        ComponentType(
            "serving",
            "local",
            "zenctl_local.serving:LocalServing.from_settings",
            "Serves each deployment's model on 127.0.0.1: Open Inference Protocol (V2) over HTTP.",
            "zenctl_local.schemas:ServingSettings",
        ),
    ),
    # a project that declares no stack runs here, its state in .zenctl/metadata.db
    default_stack=(
        ("orchestrator", "local"),
        ("artifact_store", "local"),
        ("metadata_store", "sqlite"),
    ),
)
