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
verified against its hash (while the step runs, before its outputs are stored): what it writes
there never reaches the store. A file or directory the step made in its temporary folder is
moved into the store rather than copied, once nothing can write to it any more.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from zenctl.artifacts.integrity import (
    ArtifactUnusable,
    Verifications,
    copy_verified,
    read_verified,
)
from zenctl.fingerprint.canonical import short
from zenctl.fingerprint.files import StatCache, hash_bytes, hash_file
from zenctl.paths import TEMPORARY
from zenctl.providers.protocol import ArtifactStore

FILE, DIRECTORY = "file", "directory"
PATH_MATERIALIZERS = (FILE, DIRECTORY)
MANIFEST_FORMAT = "zenctl-directory/1"


class PathOutputError(ValueError):
    """A returned path that cannot be stored: missing, a link, not a file or a directory."""


def manifest(folder: Path, cache: StatCache | None = None) -> bytes:
    """The canonical manifest of `folder`: what its hash is taken over."""
    return _manifest(
        _entry(relative, info, hash_file(file, cache)) for relative, file, info in _walk(folder)
    )


def _manifest(entries: Iterable[dict[str, Any]]) -> bytes:
    document = {"format": MANIFEST_FORMAT, "files": list(entries)}
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def _entry(relative: str, info: os.stat_result, digest: str) -> dict[str, Any]:
    return {
        "path": relative,
        "size": info.st_size,
        "hash": digest,
        "executable": bool(info.st_mode & stat.S_IXUSR),
    }


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


def store_path(store: ArtifactStore, path: Path, scratch: Path | None = None) -> dict[str, Any]:
    """Store a returned file or directory; describe it for state as `store_output` does.
    Files under `scratch` (the step's temporary folder, in the store's staging folder) are
    zenctl's once the step has returned: each is moved into the store, not copied, unless
    something still holds it open for writing or another link names it."""
    if path.is_symlink() or not (path.is_file() or path.is_dir()):
        what = "a symbolic link" if path.is_symlink() else "not found"
        raise PathOutputError(
            f"the step returned the path {path}, which is {what}: return a file or a directory"
        )
    ours = scratch is not None and path.resolve().is_relative_to(scratch.resolve())
    if path.is_file():
        size = path.stat().st_size
        digest, uri = _store_file(store, path, ours)
        return {"hash": digest, "materializer": FILE, "size": size, "uri": uri}
    # every file listed (links and sockets refused) before any is stored
    listed = list(_walk(path))
    stored = _each(
        [partial(_store_file, store, file, ours) for _, file, _ in listed],
        local=store.staging_folder() is not None,
    )
    data = _manifest(
        _entry(relative, info, digest)
        for (relative, _, info), (digest, _) in zip(listed, stored, strict=True)
    )
    digest = hash_bytes(data)
    uri = store.put(digest, data)
    return {"hash": digest, "materializer": DIRECTORY, "size": len(data), "uri": uri}


def _store_file(store: ArtifactStore, file: Path, ours: bool) -> tuple[str, str]:
    """`(hash, uri)` of `file` stored. Ours (in the step's temporary folder): first renamed
    to a name of zenctl's in the staging folder, where no path the step knows reaches it;
    then, if no process holds it open for writing and no other link names it, nothing can
    change it any more, and it is hashed and moved into the store. Otherwise it is hashed
    and copied: the store's bytes never change with what the step does afterwards."""
    staging = store.staging_folder()
    if not ours or staging is None:
        digest = hash_file(file)
        return digest, store.put_file(digest, file)
    handle, name = tempfile.mkstemp(dir=staging, prefix=TEMPORARY)
    os.close(handle)
    taken = Path(name)
    try:
        os.replace(file, taken)
        digest = hash_file(taken)
        put = store.take_file if _unshared(taken) else store.put_file
        return digest, put(digest, taken)
    finally:
        taken.unlink(missing_ok=True)


def _unshared(file: Path) -> bool:
    """No other link names `file`, and no process (this one included) holds it open for
    writing or mapped writable: Linux grants a read lease only then. Where leases do not
    exist (another system, a file system without them), False: the file is copied."""
    if sys.platform != "linux" or file.stat().st_nlink != 1:
        return False
    import fcntl

    descriptor = os.open(file, os.O_RDONLY)
    try:
        fcntl.fcntl(descriptor, fcntl.F_SETLEASE, fcntl.F_RDLCK)
        fcntl.fcntl(descriptor, fcntl.F_SETLEASE, fcntl.F_UNLCK)
        return True
    except OSError:  # EAGAIN: a writer; EINVAL, ENOLCK: no leases here
        return False
    finally:
        os.close(descriptor)


def materialize(
    store: ArtifactStore,
    materializer: str,
    digest: str,
    target: Path,
    beside: Verifications | None = None,
) -> Path:
    """A fresh copy of a stored file or directory at `target`, every byte verified: before
    this returns, or with `beside`, in `beside` (integrity.copy_verified)."""
    if materializer == FILE:
        target.parent.mkdir(parents=True, exist_ok=True)
        copy_verified(store, digest, target, beside)
        return target
    entries = members(read_verified(store, digest))
    target.mkdir(parents=True, exist_ok=True)

    def copy(entry: dict[str, Any]) -> None:
        path = target / entry["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        copy_verified(store, entry["hash"], path, beside, _in_directory(store, digest, entry))
        if entry["executable"]:
            path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)

    _each([partial(copy, entry) for entry in entries], local=store.local_path(digest) is not None)
    return target


_T = TypeVar("_T")


def _each(tasks: list[Callable[[], _T]], local: bool) -> list[_T]:
    """The results of `tasks`, in order: for the files of a local store, a thread per core
    (hashing, copying and `fsync` release the GIL: a directory of many files is stored and
    copied on every core, not one file after another); elsewhere one after another, as a
    remote store's client expects. The first failure is raised."""
    workers = min(
        len(tasks), len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    )
    if not local or workers < 2:
        return [task() for task in tasks]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="zenctl-files") as pool:
        return list(pool.map(lambda task: task(), tasks))


def _in_directory(
    store: ArtifactStore, digest: str, entry: dict[str, Any]
) -> Callable[[ArtifactUnusable], ArtifactUnusable]:
    """The failure of a directory's file, as the directory's: its manifest is intact but
    unusable, and set aside too, so that the next plan reports the producing step's output
    as corrupt and runs it again."""

    def named(exc: ArtifactUnusable) -> ArtifactUnusable:
        store.quarantine(digest)
        return ArtifactUnusable(f"directory {short(digest)}: file {entry['path']}: {exc}")

    return named


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
