"""Files and directories as artifacts: a step that returns a `pathlib.Path` (docs/artifacts.md).

A file is stored as its bytes, under their hash. A directory is stored as a manifest, the
canonical JSON of its files' sorted relative paths, sizes, hashes and executable bits (no
timestamps, no owners), plus each file under its own hash: identical files are stored once,
and the directory's hash is the manifest's, so it changes exactly when a file's bytes, name or
executable bit do. Files are copied one at a time, streamed to and from a local store: a
directory's whole bytes are never held in memory. A symbolic link inside a directory is
refused: its target may lie outside the directory (or change after the step), and a stored
copy must hold everything it names.

A step reading such an artifact gets a fresh copy, materialized in a scratch folder, every file
verified against its hash on the way: what it writes there never reaches the store.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from zenctl.artifacts.integrity import ArtifactUnusable, copy_verified, read_verified
from zenctl.fingerprint.canonical import short
from zenctl.fingerprint.files import StatCache, hash_bytes, hash_file
from zenctl.providers.protocol import ArtifactStore

FILE, DIRECTORY = "file", "directory"
PATH_MATERIALIZERS = (FILE, DIRECTORY)
MANIFEST_FORMAT = "zenctl-directory/1"


class PathOutputError(ValueError):
    """A returned path that cannot be stored: missing, a link, not a file or a directory."""


def manifest(folder: Path, cache: StatCache | None = None) -> bytes:
    """The canonical manifest of `folder`: what its hash is taken over."""
    entries = [
        {
            "path": relative,
            "size": info.st_size,
            "hash": hash_file(file, cache),
            "executable": bool(info.st_mode & stat.S_IXUSR),
        }
        for relative, file, info in _walk(folder)
    ]
    document = {"format": MANIFEST_FORMAT, "files": entries}
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def path_digest(path: Path, cache: StatCache | None = None) -> str:
    """The hash a file or directory is stored under (a directory's: its manifest's)."""
    if path.is_dir():
        return hash_bytes(manifest(path, cache))
    return hash_file(path, cache)


def members(data: bytes) -> list[dict[str, Any]]:
    """The entries of a manifest: `{path, size, hash, executable}` each, sorted by path."""
    document = json.loads(data)
    if document.get("format") != MANIFEST_FORMAT:
        raise ValueError(f"not a directory manifest: {document.get('format')!r}")
    entries: list[dict[str, Any]] = document["files"]
    return entries


def store_path(store: ArtifactStore, path: Path) -> dict[str, Any]:
    """Store a returned file or directory; describe it for state as `store_output` does."""
    if path.is_symlink() or not (path.is_file() or path.is_dir()):
        what = "a symbolic link" if path.is_symlink() else "not found"
        raise PathOutputError(
            f"the step returned the path {path}, which is {what}: return a file or a directory"
        )
    if path.is_file():
        digest = hash_file(path)
        uri = store.put_file(digest, path)
        return {"hash": digest, "materializer": FILE, "size": path.stat().st_size, "uri": uri}
    data = manifest(path)
    for entry in members(data):
        store.put_file(entry["hash"], path / entry["path"])
    digest = hash_bytes(data)
    uri = store.put(digest, data)
    return {"hash": digest, "materializer": DIRECTORY, "size": len(data), "uri": uri}


def materialize(store: ArtifactStore, materializer: str, digest: str, target: Path) -> Path:
    """A fresh copy of a stored file or directory at `target`, every byte verified."""
    if materializer == FILE:
        target.parent.mkdir(parents=True, exist_ok=True)
        copy_verified(store, digest, target)
        return target
    entries = members(read_verified(store, digest))
    target.mkdir(parents=True, exist_ok=True)
    for entry in entries:
        path = target / entry["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            copy_verified(store, entry["hash"], path)
        except ArtifactUnusable as exc:
            # The manifest is intact but unusable: set it aside too, so that the next plan
            # reports the producing step's output as corrupt and runs it again.
            store.quarantine(digest)
            raise ArtifactUnusable(
                f"directory {short(digest)}: file {entry['path']}: {exc}"
            ) from None
        if entry["executable"]:
            path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return target


def _walk(folder: Path) -> Iterator[tuple[str, Path, os.stat_result]]:
    """`(relative posix path, file, stat)` of every file under `folder`, sorted by path."""
    found: list[tuple[str, Path, os.stat_result]] = []
    for parent, dirs, names in os.walk(folder):
        for name in [*dirs, *names]:
            entry = Path(parent) / name
            if entry.is_symlink():
                raise PathOutputError(
                    f"{entry} is a symbolic link: a stored directory holds files only; "
                    "copy what it points to into the directory, or remove it"
                )
        for name in names:
            entry = Path(parent) / name
            info = entry.stat()
            if not stat.S_ISREG(info.st_mode):
                raise PathOutputError(f"{entry} is not a regular file (a socket, a pipe?)")
            found.append((entry.relative_to(folder).as_posix(), entry, info))
    return iter(sorted(found, key=lambda item: item[0]))
