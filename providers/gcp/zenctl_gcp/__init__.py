"""Google Cloud provider: artifacts and shared state in a Cloud Storage bucket, Dataflow jobs."""

from zenctl.sdk import ComponentType, Provider

__version__ = "0.1.0"


PROVIDER = Provider(
    name="gcp",
    version=__version__,
    components=(
        ComponentType(
            "artifact_store",
            "gcs",
            "zenctl_gcp.artifact_store:GcsArtifactStore.from_settings",  # google-cloud: when used
            "Content-addressed objects in a Cloud Storage bucket (bucket, prefix).",
            "zenctl_gcp.settings:GcsSettings",  # imported only to check settings
        ),
        ComponentType(
            "metadata_store",
            "gcs",
            "zenctl_gcp.metadata_store:GcsDatabase.from_settings",
            "The state as one SQLite object in a bucket, with lock objects (bucket, prefix).",
            "zenctl_gcp.settings:GcsStoreSettings",
        ),
        ComponentType(
            "processing",
            "dataflow",
            "zenctl_gcp.dataflow:DataflowExecutor.from_settings",
            "Launches a Dataflow Flex Template job per step and waits for it.",
            "zenctl_gcp.settings:DataflowSettings",
        ),
    ),
)
