"""Google Cloud provider: artifacts in a Cloud Storage bucket."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zenctl.providers.protocol import ArtifactStore, ComponentType, Provider

__version__ = "0.1.0"


def _gcs(settings: dict[str, Any], root: Path) -> ArtifactStore:
    from zenctl_gcp.artifact_store import GcsArtifactStore  # google-cloud: only when used

    return GcsArtifactStore.from_settings(settings, root)


PROVIDER = Provider(
    name="gcp",
    version=__version__,
    components=(
        ComponentType(
            "artifact_store",
            "gcs",
            _gcs,
            "Content-addressed objects in a Cloud Storage bucket (bucket, prefix).",
        ),
    ),
)
