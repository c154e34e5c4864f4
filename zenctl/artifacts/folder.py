"""A content-addressed folder: `objects/ab/abcdef...`, source snapshots and step logs.

The local provider's `artifact_store "local"` is this folder; stores that keep objects
elsewhere (a bucket) keep their snapshots and logs in one, since steps read files. Objects
are published durably: written to a temporary file in `objects/` (hashed as it is written,
when a step's value streams in), fsynced, renamed to `objects/ab/<digest>`, and that folder
fsynced, so that a reader sees a whole object or none and a power cut after `put` returns
loses nothing the state then records (docs/integrity.md). A killed apply can leave `.tmp-*`
files behind: readers never look at them and `zenctl gc` removes them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

from zenctl.fingerprint.files import StatCache, hash_file, hash_path, tree_files
from zenctl.paths import ensure_private_dir
from zenctl.providers.hashing import write_hashed
from zenctl.providers.protocol import ArtifactStore, Integrity, StoredItem, StoredObject

TEMPORARY = ".tmp-"


class SnapshotMismatch(RuntimeError):
    """The source changed between planning and running: running on it would break lineage."""


class FolderArtifactStore(ArtifactStore):
    def __init__(self, path: Path) -> None:
        self.path = ensure_private_dir(path)
        # (inode, size, mtime) of each object when its hash was last verified: a plan re-reads
        # only objects that changed since (specs/caching.md).
        self.verified = StatCache(self.path / "verified.json")

    def _object(self, digest: str) -> Path:
        return self.path / "objects" / digest[:2] / digest

    def _quarantined(self, digest: str) -> Path:
        return self.path / "corrupt" / digest

    def _intact(self, target: Path, digest: str) -> bool:
        try:
            return hash_file(target, self.verified) == digest
        except FileNotFoundError:
            return False

    def put(self, digest: str, data: bytes) -> str:
        return self._publish(digest, lambda out: out.write(data))

    def put_file(self, digest: str, path: Path) -> str:
        def copy(out: BinaryIO) -> None:
            with path.open("rb") as source:
                shutil.copyfileobj(source, out, 1 << 20)  # streamed: a file may be large

        return self._publish(digest, copy)

    def take_file(self, digest: str, path: Path) -> str:
        target = self._object(digest)
        if self._intact(target, digest):  # the same bytes stored before: kept
            return target.as_uri()
        try:
            with path.open("rb") as file:
                os.fsync(file.fileno())  # the step wrote it: its bytes, durable
            path.chmod(0o600)  # an object's mode, as `_staged` makes it
            self._rename_into_place(path, digest)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            return self.put_file(digest, path)  # another file system: copied
        return target.as_uri()

    def put_stream(self, write: Callable[[BinaryIO], object]) -> StoredObject:
        with self._staged() as (out, temporary):
            digest, size = write_hashed(out, write)
            if self._intact(self._object(digest), digest):  # a re-run's same bytes: kept
                temporary.unlink()
            else:
                self._place(out, temporary, digest)
        return StoredObject(digest, size, self._object(digest).as_uri())

    def staging_folder(self) -> Path:
        return ensure_private_dir(self.path / "objects")

    def _publish(self, digest: str, write: Callable[[BinaryIO], object]) -> str:
        target = self._object(digest)
        if not self._intact(target, digest):  # absent, or a damaged copy to replace
            with self._staged() as (out, temporary):
                write(out)
                self._place(out, temporary, digest)
        return target.as_uri()

    @contextlib.contextmanager
    def _staged(self) -> Iterator[tuple[BinaryIO, Path]]:
        """A temporary file in `objects/` (the objects' file system, so a rename publishes
        it), removed if writing or placing it fails; the caller places or removes it."""
        handle, name = tempfile.mkstemp(dir=self.staging_folder(), prefix=TEMPORARY)
        temporary = Path(name)
        try:
            with os.fdopen(handle, "wb") as out:
                yield out, temporary
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def _place(self, out: BinaryIO, temporary: Path, digest: str) -> None:
        """Make the bytes written to `out` durable (fsync), rename `temporary` to the object's
        address, then fsync the folders whose entries changed: only then is the object's name
        on disk as well as its bytes, and may the state record it."""
        out.flush()
        os.fsync(out.fileno())
        out.close()
        self._rename_into_place(temporary, digest)

    def _rename_into_place(self, temporary: Path, digest: str) -> None:
        """Rename the synced file `temporary` to the object's address and sync the folders
        whose entries changed."""
        target = self._object(digest)
        created = not target.parent.exists()
        ensure_private_dir(target.parent)
        os.replace(temporary, target)
        _fsync_folder(target.parent)
        if created:
            _fsync_folder(target.parent.parent)

    def get(self, digest: str) -> bytes:
        return self._object(digest).read_bytes()

    def local_path(self, digest: str) -> Path:
        return self._object(digest)

    def get_file(self, digest: str, target: Path) -> None:
        shutil.copyfile(self._object(digest), target)  # streamed: an object may be large

    def check(self, expected: Mapping[str, int]) -> dict[str, Integrity]:
        found: dict[str, Integrity] = {}
        for digest, size in expected.items():
            target = self._object(digest)
            try:
                stat = target.stat()
            except FileNotFoundError:
                corrupt = self._quarantined(digest).exists()
                found[digest] = Integrity.CORRUPT if corrupt else Integrity.MISSING
                continue
            intact = stat.st_size == size and self._intact(target, digest)
            found[digest] = Integrity.OK if intact else Integrity.CORRUPT
        self.verified.save()
        return found

    def quarantine(self, digest: str) -> None:
        ensure_private_dir(self.path / "corrupt")
        with contextlib.suppress(FileNotFoundError):  # another reader set it aside first
            os.replace(self._object(digest), self._quarantined(digest))

    def snapshot(self, source: Path, digest: str) -> Path:
        # the name the step sees; `..` or `/` as a source path must not become a path part
        name = os.path.basename(os.path.abspath(source)) or "source"
        target = self.path / "snapshots" / digest / name
        if target.exists():
            return target
        ensure_private_dir(self.path / "snapshots")
        staging = Path(tempfile.mkdtemp(dir=self.path / "snapshots", prefix=TEMPORARY))
        try:
            copy = staging / name
            if source.is_dir():
                shutil.copytree(source, copy, symlinks=False)
            else:
                shutil.copyfile(source, copy)
            if hash_path(copy) != digest:
                raise SnapshotMismatch(
                    f"{source} changed after the plan was made; run `zenctl plan` again"
                )
            try:
                os.rename(staging, target.parent)
            except OSError:
                # the folder of these bytes exists: a concurrent snapshot of the same source, or
                # another source with the same bytes, whose copy then goes in beside it
                try:
                    os.rename(copy, target)
                except OSError:
                    if not target.exists():
                        raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return target

    def log_path(self, run_id: str, address: str) -> tuple[Path, str]:
        path = self.path / "logs" / run_id / f"{address}.log"
        ensure_private_dir(path.parent)
        return path, path.as_uri()

    def items(self) -> Iterator[StoredItem]:
        for staged in sorted((self.path / "objects").glob(f"{TEMPORARY}*")):
            yield self._item(staged, "temporary", False)  # a stream a killed apply left
        for folder in sorted((self.path / "objects").glob("??")):
            for entry in sorted(folder.iterdir()):
                temporary = entry.name.startswith(TEMPORARY)
                yield self._item(entry, "temporary" if temporary else "object", not temporary)
        snapshots = self.path / "snapshots"
        if snapshots.is_dir():
            for entry in sorted(snapshots.iterdir()):
                temporary = entry.name.startswith(TEMPORARY)
                yield self._item(entry, "temporary" if temporary else "snapshot", not temporary)
        corrupt = self.path / "corrupt"
        if corrupt.is_dir():
            for entry in sorted(corrupt.iterdir()):
                yield self._item(entry, "corrupt", False)

    def _item(self, path: Path, kind: str, addressed: bool) -> StoredItem:
        files = [file.stat() for file in (tree_files(path) if path.is_dir() else [path])]
        return StoredItem(
            kind,
            str(path.relative_to(self.path)),
            path.name if addressed else None,
            sum(file.st_size for file in files),
            # a folder is as recent as its newest file: a running step's temporary folder
            # (TMPDIR) is written to long after it was made, and gc leaves it while it is
            max([path.stat().st_mtime, *(file.st_mtime for file in files)]),
        )

    def remove(self, items: Sequence[StoredItem]) -> None:
        for item in items:
            path = self.path / item.key
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
            self.verified.forget(path)
        self.verified.save()


def _fsync_folder(folder: Path) -> None:
    """Make the names in `folder` durable (a rename is only on disk once its folder is)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
