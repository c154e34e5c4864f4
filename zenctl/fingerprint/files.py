"""Content hashes of files and folders, with a stat cache so unchanged data is not re-read.

A file whose (inode, size, mtime_ns) match the cache keeps its recorded hash. As in git's
index, an entry recorded less than `RACY_WINDOW_NS` after the file's mtime is not trusted:
the file might have changed again within the same timestamp tick.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import blake3

from zenctl.fingerprint.canonical import digest
from zenctl.paths import ensure_private_dir, project_dir, write_atomic

RACY_WINDOW_NS = 1_000_000_000
_MMAP_THRESHOLD = 1 << 20
_threads = blake3.blake3.AUTO
hashed_bytes = 0  # read by `ZENCTL_TRACE=1` (zenctl/cli/context.py)


def _hash_on_one_thread() -> None:
    # blake3's threads come from a Rayon pool that a forked child inherits without its
    # threads: a child forked after its parent hashed a large file (a worker forked by the
    # forkserver once it verified an input, a step's own multiprocessing fork) would wait
    # for them forever.
    global _threads
    _threads = 1


os.register_at_fork(after_in_child=_hash_on_one_thread)


class StatCache:
    """`path -> [inode, size, mtime_ns, checked_ns, payload]`, persisted as JSON.

    One cache holds one kind of payload: a file can be both data and code, and each kind
    must find its own payload (data hashes in `stat.json`, code descriptions in `code.json`).
    """

    def __init__(self, file: Path) -> None:
        self.file = file
        self.dirty = False
        try:
            self.entries: dict[str, list[Any]] = json.loads(file.read_text())
        except (OSError, ValueError):
            self.entries = {}

    def get(self, path: Path, stat: os.stat_result) -> Any:
        entry = self.entries.get(str(path))
        if entry is None or entry[:3] != [stat.st_ino, stat.st_size, stat.st_mtime_ns]:
            return None
        if entry[3] - stat.st_mtime_ns < RACY_WINDOW_NS:
            return None
        return entry[4]

    def put(self, path: Path, stat: os.stat_result, payload: Any) -> None:
        self.entries[str(path)] = [
            stat.st_ino,
            stat.st_size,
            stat.st_mtime_ns,
            time.time_ns(),
            payload,
        ]
        self.dirty = True

    def forget(self, path: Path) -> None:
        if self.entries.pop(str(path), None) is not None:
            self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        try:
            ensure_private_dir(self.file.parent)
            write_atomic(self.file, json.dumps(self.entries, separators=(",", ":")))
            self.dirty = False
        except OSError:
            pass  # the cache only saves time; planning goes on without it


def data_cache_file(root: Path) -> Path:
    """The stat cache of data hashes (sources, deps): written by plan, read by apply."""
    return project_dir(root) / "cache" / "stat.json"


def hash_bytes(data: bytes) -> str:
    return blake3.blake3(data).hexdigest()


def hash_file(path: Path, cache: StatCache | None = None) -> str:
    global hashed_bytes
    stat = path.stat()
    known = cache.get(path, stat) if cache is not None else None
    if isinstance(known, str):  # anything else is another kind's payload from an older zenctl
        return known
    hashed_bytes += stat.st_size
    hasher = blake3.blake3(max_threads=_threads)
    if stat.st_size >= _MMAP_THRESHOLD:
        hasher.update_mmap(path)
    else:
        hasher.update(path.read_bytes())
    value = hasher.hexdigest()
    if cache is not None:
        cache.put(path, stat, value)
    return value


def tree_files(path: Path) -> list[Path]:
    """The files of a folder in a stable order (symlinks followed, hidden files included)."""
    found: list[Path] = []
    for folder, dirs, names in os.walk(path, followlinks=True):
        dirs.sort()
        found.extend(Path(folder) / name for name in sorted(names))
    return found


def hash_path(path: Path, cache: StatCache | None = None) -> str:
    """A file's content hash, or a folder's: the hash of its sorted (relative path, hash) list."""
    if path.is_dir():
        return digest(
            [[str(file.relative_to(path)), hash_file(file, cache)] for file in tree_files(path)]
        )
    return hash_file(path, cache)
