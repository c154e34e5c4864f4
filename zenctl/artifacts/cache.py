"""The user's artifact cache: verified local copies of objects read from remote artifact stores.

A folder of `ab/<digest>` files under `user_cache_dir()/artifacts`, shared by every project,
workspace and checkout of the user: an entry is named by the hash of its bytes and checked
against it on every read, so an entry can only ever serve the bytes its name promises, whichever
bucket it came from. Entries are written to a temporary file beside their final place and
renamed into it, so that two processes reading the same artifact at once each see a whole entry
or none; the later rename replaces an identical file. Objects are downloaded straight into that
temporary file and verified there (zenctl/artifacts/integrity.py): never held in memory. The
cache only saves downloads: a folder that cannot be written, or an entry deleted under a
reader, costs a download, never a failure (docs/artifact-cache.md).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from zenctl.fingerprint.files import hash_file
from zenctl.paths import TEMPORARY, ensure_private_dir, user_cache_dir


class ArtifactCache:
    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def of_user(cls) -> ArtifactCache:
        """The cache in the user's cache folder, as the environment names it now."""
        return cls(user_cache_dir() / "artifacts")

    def entry(self, digest: str) -> Path:
        return self.path / digest[:2] / digest

    def verified(self, digest: str) -> Path | None:
        """The entry of `digest` when its bytes hash to it, else None: a damaged entry (a
        flipped bit, a truncated file) is deleted, so it is fetched again, never used."""
        entry = self.entry(digest)
        try:
            if hash_file(entry) == digest:  # streamed from disk
                return entry
        except OSError:
            return None
        # A good copy renamed in since we read would go too: that costs one download again.
        with contextlib.suppress(OSError):
            entry.unlink()
        return None

    def stage(self, digest: str) -> Path:
        """A new, empty temporary file beside the entry of `digest`, for its download
        (OSError: the cache cannot be written); `keep` makes it the entry."""
        folder = ensure_private_dir(self.entry(digest).parent)
        handle, name = tempfile.mkstemp(dir=folder, prefix=TEMPORARY)
        os.close(handle)
        return Path(name)

    def keep(self, staged: Path, digest: str) -> Path:
        """Make `staged`, verified to hash to `digest`, its entry."""
        entry = self.entry(digest)
        os.replace(staged, entry)
        return entry
