"""Every artifact read is checked against its content hash: a damaged object is never used."""

from __future__ import annotations

from zenctl.fingerprint.canonical import short
from zenctl.fingerprint.files import hash_bytes
from zenctl.providers.protocol import ArtifactStore


class ArtifactUnusable(RuntimeError):
    """An input artifact is missing or its bytes do not match its hash."""


def read_verified(store: ArtifactStore, digest: str) -> bytes:
    """The bytes of `digest`; a corrupt object is quarantined so no later read serves it."""
    try:
        data = store.get(digest)
    except FileNotFoundError:
        raise ArtifactUnusable(
            f"artifact {short(digest)} is missing from the artifact store; run `zenctl plan`: "
            "the step that produced it is planned to run again"
        ) from None
    if hash_bytes(data) != digest:
        store.quarantine(digest)
        raise ArtifactUnusable(
            f"artifact {short(digest)} is corrupt (its bytes no longer match their hash) and "
            "was set aside; run `zenctl plan`: the step that produced it is planned to run again"
        )
    return data
