"""The store's key for the hashes of sensitive values: a random one for each new store (and
each rotation), and the one stores had before schema 0005, derived from their lineage."""

from __future__ import annotations

import os


def new_secret_key() -> str:
    return os.urandom(32).hex()  # 256 random bits: no guess of a secret can be checked


def legacy_secret_key(lineage: str) -> str:
    """The key stores had before schema 0005 (derived from the lineage), for stores migrated
    from then and documents exported then: their recorded hashes were made with it."""
    import blake3

    return blake3.blake3(f"zenctl-secrets:{lineage}".encode()).hexdigest()
