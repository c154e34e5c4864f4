"""`artifact_store "local"`: the SDK's content-addressed folder, at the configured path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zenctl.sdk import FolderArtifactStore, resolve_in_project


class LocalArtifactStore(FolderArtifactStore):
    @classmethod
    def from_settings(cls, settings: dict[str, Any], root: Path) -> LocalArtifactStore:
        return cls(resolve_in_project(root, str(settings["path"])))
