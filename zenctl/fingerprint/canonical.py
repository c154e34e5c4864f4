"""Canonical JSON and the one hash function every fingerprint goes through.

Hashing a canonical JSON document (sorted keys, fixed separators) rather than joined strings
means no two different inputs can serialise to the same bytes (dagster#34184 was a collision
from joining parts without a delimiter).
"""

from __future__ import annotations

import json
from typing import Any

import blake3


def canonical_json(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def digest(value: Any) -> str:
    return blake3.blake3(canonical_json(value).encode()).hexdigest()


def short(hash_: str | None) -> str:
    """The abbreviated hash shown to people (full hashes stay in JSON and state)."""
    return hash_[:10] if hash_ else "?"
