"""Every artifact read is checked against its content hash: a damaged object is never used.

The check hashes the file the reader then uses, streamed from disk: a local store's object in
place, a remote store's through the user's artifact cache (zenctl/artifacts/cache.py), where
each object is downloaded once, to a file, verified, and later read from disk, verified again.
An object is never held in memory to be checked; a numpy input is then memory-mapped from the
same file (docs/artifacts.md). Every read hashes again, whatever a stat cache says: bit rot
keeps a file's size and mtime (docs/integrity.md).

An input that zenctl hands over without parsing its bytes (a numpy array, memory-mapped; a
file or directory, copied) in a local store is hashed beside the step rather than before it
(`Verifications`): the step starts at once and the hash runs on another core; the step's
outputs are stored only once every hash has matched.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from zenctl.artifacts import materializers
from zenctl.artifacts.cache import ArtifactCache
from zenctl.fingerprint.canonical import short
from zenctl.fingerprint.files import hash_bytes, hash_file
from zenctl.providers.protocol import ArtifactStore

T = TypeVar("T")

# The verified bytes of an object: the file that holds them, or (from a remote store whose
# artifact cache cannot be written) the bytes themselves.
Source = Path | bytes


class ArtifactUnusable(RuntimeError):
    """An input artifact is missing or its bytes do not match its hash."""


def read_verified(store: ArtifactStore, digest: str) -> bytes:
    """The bytes of `digest` (a small object: a manifest, a deployment's model); a corrupt
    object is quarantined so no later read serves it."""
    data, _ = read_through(store, digest)
    return data


def read_value(
    store: ArtifactStore, digest: str, materializer: str, beside: Verifications | None = None
) -> Any:
    """The value a step wrote, loaded from its verified file: what a step that consumes it
    gets (a numpy array memory-mapped read-only, docs/artifacts.md). With `beside`, a numpy
    array in a local store is mapped at once and hashed in `beside`, whose `wait` the caller
    must pass before anything made from the value is kept."""
    local = store.local_path(digest)
    if beside is None or local is None or materializer != materializers.NUMPY:
        # A loader that parses the bytes (Parquet, a pickle) must see verified ones: corrupt
        # input could crash it, and the step would be lost instead of failing, named.
        return use_verified(store, digest, functools.partial(materializers.load, materializer))[0]
    try:
        value = materializers.load(materializer, local)  # the header only: the data is mapped
    except FileNotFoundError:
        raise _missing(digest) from None
    except Exception:
        _verify(store, digest, local)  # a damaged header: corrupt, said so
        raise
    # mapped before it is hashed: a failed hash sets the file aside, leaving nothing to open
    beside.start(functools.partial(_verify, store, digest, local))
    return value


class Verifications:
    """Hashes of a step's inputs taken beside the step, each in a thread (blake3 releases the
    GIL): `wait` raises the first failure, the object already set aside by then."""

    def __init__(self) -> None:
        self._threads: list[threading.Thread] = []
        self._failures: list[Exception] = []

    def start(self, verify: Callable[[], None]) -> None:
        def run() -> None:
            try:
                verify()
            except Exception as exc:  # raised by `wait`, in the step's thread
                self._failures.append(exc)

        thread = threading.Thread(target=run, name="zenctl-verify", daemon=True)
        thread.start()
        self._threads.append(thread)

    def wait(self) -> None:
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        failures, self._failures = self._failures, []
        if failures:
            raise failures[0]


def read_through(store: ArtifactStore, digest: str) -> tuple[bytes, bool]:
    """The verified bytes of `digest`, and whether they were fetched from `store`: not when
    the store is remote and the user's artifact cache holds an intact copy."""
    return use_verified(store, digest, _bytes)


def copy_verified(
    store: ArtifactStore,
    digest: str,
    target: Path,
    beside: Verifications | None = None,
    named: Callable[[ArtifactUnusable], ArtifactUnusable] = lambda exc: exc,
) -> None:
    """The bytes of `digest`, verified, copied to the file `target`, streamed; a failure is
    raised as `named` makes it. With `beside`, an object of a local store is copied at once
    and hashed in `beside`, whose `wait` the caller must pass before anything made from the
    copy is kept."""
    local = store.local_path(digest)
    if beside is None or local is None:
        try:
            use_verified(store, digest, lambda source: _copy(source, target))
        except ArtifactUnusable as exc:
            raise named(exc) from None
        return

    def verify() -> None:
        try:
            _verify(store, digest, local)
        except ArtifactUnusable as exc:
            raise named(exc) from None

    try:
        shutil.copyfile(local, target)  # streamed: an object may be large
    except FileNotFoundError:
        verify()  # set aside, or gone: said so
        raise
    beside.start(verify)


def use_verified(store: ArtifactStore, digest: str, use: Callable[[Source], T]) -> tuple[T, bool]:
    """`use` applied to the verified bytes of `digest`, and whether they were fetched from
    `store`. A file deleted between the check and `use` (a cache entry another process found
    damaged or dropped, an object quarantined) is fetched again into a file of this call's
    own, which no other process can take away, or reported missing or corrupt: never a bare
    FileNotFoundError."""
    source, fetched = verified_source(store, digest)
    try:
        return use(source), fetched
    except FileNotFoundError:
        local = store.local_path(digest)
        if local is not None:
            _verify(store, digest, local)  # quarantined or deleted: missing, said so
        with _fetched(store, ArtifactCache.of_user(), digest) as own:
            return use(own), True


def verified_source(store: ArtifactStore, digest: str) -> tuple[Source, bool]:
    """The verified bytes of `digest` as a file, and whether they were read from `store`."""
    local = store.local_path(digest)
    if local is not None:
        _verify(store, digest, local)
        return local, True
    cache = ArtifactCache.of_user()
    entry = cache.verified(digest)
    if entry is not None:
        return entry, False
    with _fetched(store, cache, digest) as fetched:
        return (cache.keep(fetched, digest) if isinstance(fetched, Path) else fetched), True


@contextlib.contextmanager
def _fetched(store: ArtifactStore, cache: ArtifactCache, digest: str) -> Iterator[Source]:
    """`digest` downloaded into a new temporary file beside its cache entry and verified,
    deleted on leaving unless `keep` made it the entry; its bytes when the cache cannot be
    written (that costs a download each read, no failure)."""
    try:
        staged = cache.stage(digest)
    except OSError:
        data = _get(store, digest)
        if hash_bytes(data) != digest:
            store.quarantine(digest)
            raise _corrupt(digest) from None
        yield data
        return
    try:
        try:
            store.get_file(digest, staged)
        except FileNotFoundError:
            raise _missing(digest) from None
        _verify(store, digest, staged)
        yield staged
    finally:
        staged.unlink(missing_ok=True)


def _verify(store: ArtifactStore, digest: str, path: Path) -> None:
    try:
        intact = hash_file(path) == digest  # streamed from disk, never read into memory
    except FileNotFoundError:
        raise _missing(digest) from None
    if not intact:
        store.quarantine(digest)
        raise _corrupt(digest)


def _get(store: ArtifactStore, digest: str) -> bytes:
    try:
        return store.get(digest)
    except FileNotFoundError:
        raise _missing(digest) from None


def _bytes(source: Source) -> bytes:
    return source.read_bytes() if isinstance(source, Path) else source


def _copy(source: Source, target: Path) -> None:
    if isinstance(source, Path):
        shutil.copyfile(source, target)  # streamed: an object may be large
    else:
        target.write_bytes(source)


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
