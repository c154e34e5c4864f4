"""Every artifact read is checked against its content hash: a damaged object is never used.

Reads from a remote store go through the user's artifact cache (zenctl/artifacts/cache.py):
each object is downloaded once, verified, and later read from disk, verified again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zenctl.artifacts import materializers
from zenctl.artifacts.cache import ArtifactCache
from zenctl.fingerprint.canonical import short
from zenctl.fingerprint.files import hash_bytes, hash_file
from zenctl.providers.protocol import ArtifactStore


class ArtifactUnusable(RuntimeError):
    """An input artifact is missing or its bytes do not match its hash."""


def read_verified(store: ArtifactStore, digest: str) -> bytes:
    """The bytes of `digest`; a corrupt object is quarantined so no later read serves it."""
    data, _ = read_through(store, digest)
    return data


def read_value(store: ArtifactStore, digest: str, materializer: str) -> Any:
    """The value a step wrote, from its verified bytes: what a step that consumes it gets."""
    return materializers.load(materializer, read_verified(store, digest))


def read_through(store: ArtifactStore, digest: str) -> tuple[bytes, bool]:
    """The verified bytes of `digest`, and whether they were fetched from `store`: not when
    the store is remote and the user's artifact cache holds an intact copy."""
    cache = ArtifactCache.of_user() if store.remote else None
    cached = cache.read(digest) if cache is not None else None
    if cached is not None:
        return cached, False
    try:
        data = store.get(digest)
    except FileNotFoundError:
        raise _missing(digest) from None
    if hash_bytes(data) != digest:
        store.quarantine(digest)
        raise _corrupt(digest)
    if cache is not None:
        cache.write(digest, data)
    return data, True


def copy_verified(store: ArtifactStore, digest: str, target: Path) -> None:
    """The bytes of `digest` written to the file `target`, verified. From a local store the
    object is copied and hashed from disk, never held in memory whole; a remote store's
    object is read through the artifact cache, as `read_through` reads it."""
    if store.remote:
        target.write_bytes(read_verified(store, digest))
        return
    try:
        store.get_file(digest, target)
    except FileNotFoundError:
        raise _missing(digest) from None
    if hash_file(target) != digest:
        store.quarantine(digest)
        raise _corrupt(digest)


def _missing(digest: str) -> ArtifactUnusable:
    return ArtifactUnusable(
        f"artifact {short(digest)} is missing from the artifact store; run `zenctl plan`: "
        "the step that produced it is planned to run again"
    )


def _corrupt(digest: str) -> ArtifactUnusable:
    return ArtifactUnusable(
        f"artifact {short(digest)} is corrupt (its bytes no longer match their hash) and "
        "was set aside; run `zenctl plan`: the step that produced it is planned to run again"
    )
