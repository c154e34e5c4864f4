"""The user's artifact cache: verified local copies of objects read from remote artifact stores.

A folder of `ab/<digest>` files under `user_cache_dir()/artifacts`, shared by every project,
workspace and checkout of the user: an entry is named by the hash of its bytes and checked
against it on every read, so an entry can only ever serve the bytes its name promises, whichever
bucket it came from. Entries are written to a temporary file beside their final place and
renamed into it, so that two processes reading the same artifact at once each see a whole entry
or none; the later rename replaces an identical file. The cache only saves downloads: a
folder that cannot be written, or an entry deleted under a reader, costs a download, never a
failure (docs/artifact-cache.md).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from zenctl.fingerprint.files import hash_bytes
from zenctl.paths import ensure_private_dir, user_cache_dir, write_atomic


class ArtifactCache:
    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def of_user(cls) -> ArtifactCache:
        """The cache in the user's cache folder, as the environment names it now."""
        return cls(user_cache_dir() / "artifacts")

    def entry(self, digest: str) -> Path:
        return self.path / digest[:2] / digest

    def read(self, digest: str) -> bytes | None:
        """The cached bytes of `digest`, or None when absent or damaged: a damaged entry (a
        flipped bit, a truncated file) is deleted, so it is fetched again, never used."""
        entry = self.entry(digest)
        try:
            data = entry.read_bytes()
        except OSError:
            return None
        if hash_bytes(data) == digest:
            return data
        # A good copy renamed in since we read would go too: that costs one download again.
        with contextlib.suppress(OSError):
            entry.unlink()
        return None

    def write(self, digest: str, data: bytes) -> None:
        """Keep `data`, already verified to hash to `digest`."""
        entry = self.entry(digest)
        try:
            ensure_private_dir(entry.parent)
            write_atomic(entry, data)
        except OSError:
            pass  # a full disk or a read-only folder: the step still gets its bytes
