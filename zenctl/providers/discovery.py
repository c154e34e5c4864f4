"""Which providers and materializers are installed: the `zenctl.providers` and
`zenctl.materializers` entry points, remembered.

importlib.metadata reads the metadata of every installed distribution and costs each command
~15 ms just to import, as much as all of a warm plan's state reads. So the entry points are
kept in a small file per interpreter and `sys.path`, valid while no folder on `sys.path`
changed: installing or removing a distribution adds or removes a folder in one of them,
which moves that folder's mtime.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
import zlib
from pathlib import Path

from zenctl.paths import user_cache_dir, write_atomic

GROUP = "zenctl.providers"
MATERIALIZERS = "zenctl.materializers"
# zenctl/artifacts/materializers.py's own, named here for config (which may not import it)
BUILT_IN_MATERIALIZERS = (
    "json",
    "text",
    "bytes",
    "numpy",
    "pandas",
    "pandas-series",
    "polars",
    "torch-tensor",
    "torch-module",
    "torch-tensors",
    "joblib",
)


def provider_entry_points() -> list[tuple[str, str, str]]:
    """(name, "module:attribute", "distribution version") of each installed provider, sorted
    by name."""
    return _discovered(GROUP)


def entry_points_of(group: str) -> list[tuple[str, str, str]]:
    """(name, "module:attribute", "distribution version") of each entry point in `group`."""
    return _discovered(group)


def providers_signature() -> str:
    """The installed providers' names, entry points and distribution versions: a parsed
    configuration depends on them (component types, settings schemas, required versions)."""
    return json.dumps(_discovered(GROUP))


@functools.cache  # once per command: the config cache's key and the registry both read it
def _discovered(group: str) -> list[tuple[str, str, str]]:
    """(name, "module:attribute", "distribution version") of each entry point in `group`."""
    key = _sys_path_key()
    cache = _cache_file(key, group)
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        saved = json.loads(cache.read_text(encoding="utf-8"))
        if saved["key"] == key:
            return [(str(n), str(v), str(d)) for n, v, d in saved["entry_points"]]
    from importlib.metadata import entry_points

    found = sorted(
        (entry.name, entry.value, f"{entry.dist.name} {entry.dist.version}" if entry.dist else "")
        for entry in entry_points(group=group)
    )
    with contextlib.suppress(OSError):  # a read-only home: discover again next time
        cache.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(cache, json.dumps({"key": key, "entry_points": found}))
    return found


def _sys_path_key() -> list[list[str | int]]:
    key: list[list[str | int]] = [[sys.executable, 0]]
    for entry in sys.path:
        with contextlib.suppress(OSError):
            key.append([entry, os.stat(entry or ".").st_mtime_ns])
    return key


def _cache_file(key: list[list[str | int]], group: str) -> Path:
    paths = "\0".join(str(entry[0]) for entry in key)
    prefix = group.removeprefix("zenctl.")  # providers-*.json as before: still valid
    return user_cache_dir() / f"{prefix}-{zlib.crc32(paths.encode()):08x}.json"
