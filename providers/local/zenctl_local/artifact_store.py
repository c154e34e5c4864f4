"""A content-addressed folder: `objects/ab/abcdef...`, source snapshots and step logs."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from zenctl.fingerprint.files import hash_path
from zenctl.paths import ensure_private_dir, resolve_in_project
from zenctl.providers.protocol import ArtifactStore


class SnapshotMismatch(RuntimeError):
    """The source changed between planning and running: running on it would break lineage."""


class LocalArtifactStore(ArtifactStore):
    def __init__(self, path: Path) -> None:
        self.path = ensure_private_dir(path)

    @classmethod
    def from_settings(cls, settings: dict[str, Any], root: Path) -> LocalArtifactStore:
        return cls(resolve_in_project(root, str(settings.get("path", ".zenctl/artifacts"))))

    def _object(self, digest: str) -> Path:
        return self.path / "objects" / digest[:2] / digest

    def put(self, digest: str, data: bytes) -> str:
        target = self._object(digest)
        if not target.exists():
            ensure_private_dir(target.parent)
            # temp file in the same folder, then an atomic rename: no reader sees half of it
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, target)
        return target.as_uri()

    def get(self, digest: str) -> bytes:
        return self._object(digest).read_bytes()

    def exists(self, digest: str) -> bool:
        return self._object(digest).exists()

    def snapshot(self, source: Path, digest: str) -> Path:
        target = self.path / "snapshots" / digest / source.name
        if target.exists():
            return target
        ensure_private_dir(self.path / "snapshots")
        staging = Path(tempfile.mkdtemp(dir=self.path / "snapshots", prefix=".tmp-"))
        try:
            copy = staging / source.name
            if source.is_dir():
                shutil.copytree(source, copy, symlinks=False)
            else:
                shutil.copyfile(source, copy)
            if hash_path(copy) != digest:
                raise SnapshotMismatch(
                    f"{source} changed after the plan was made; run `zenctl plan` again"
                )
            ensure_private_dir(target.parent.parent)
            try:
                os.rename(staging, target.parent)
            except OSError:
                if not target.exists():  # not a concurrent snapshot of the same data
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return target

    def log_path(self, run_id: str, address: str) -> tuple[Path, str]:
        path = self.path / "logs" / run_id / f"{address}.log"
        ensure_private_dir(path.parent)
        return path, path.as_uri()
