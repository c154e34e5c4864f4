"""The user's artifact cache: reads from a remote store download each object once, verified.

The remote store here is zenctl.testing's in-memory store marked remote, counting its
downloads; the GCS store against its emulator, and `zenctl pull` through it, are in
tests/test_gcs.py.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import random
from pathlib import Path

import pytest
from conftest import Project

from zenctl.artifacts.cache import ArtifactCache
from zenctl.artifacts.folder import FolderArtifactStore
from zenctl.artifacts.integrity import ArtifactUnusable, read_through, read_verified
from zenctl.artifacts.pull import Outcome, pull_reused
from zenctl.fingerprint.files import hash_bytes
from zenctl.paths import user_cache_dir
from zenctl.plan.model import Action, Plan, StepPlan
from zenctl.providers.protocol import ArtifactStore
from zenctl.testing import MemoryArtifactStore


class CountingRemote(MemoryArtifactStore):
    """A store that says it is remote and counts what it is asked to download."""

    remote = True

    def __init__(self) -> None:
        super().__init__()
        self.downloads = 0

    def get(self, digest: str) -> bytes:
        self.downloads += 1
        return super().get(digest)


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ZENCTL_CACHE_DIR", str(tmp_path / "user-cache"))
    return tmp_path / "user-cache" / "artifacts"


def stored(store: ArtifactStore, data: bytes) -> str:
    digest = hash_bytes(data)
    store.put(digest, data)
    return digest


def test_cache_folder_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZENCTL_CACHE_DIR", raising=False)
    monkeypatch.setenv("HOME", "/home/someone")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert user_cache_dir() == Path("/home/someone/.cache/zenctl")
    monkeypatch.setenv("XDG_CACHE_HOME", "/var/cache/me")
    assert user_cache_dir() == Path("/var/cache/me/zenctl")
    monkeypatch.setenv("ZENCTL_CACHE_DIR", "")  # empty: unset
    assert user_cache_dir() == Path("/var/cache/me/zenctl")
    monkeypatch.setenv("ZENCTL_CACHE_DIR", "~/ci-cache")
    assert ArtifactCache.of_user().path == Path("/home/someone/ci-cache/artifacts")


def test_remote_object_is_downloaded_once_then_read_from_the_cache(
    tmp_path: Path, cache_dir: Path
) -> None:
    remote = CountingRemote()
    data = b"model weights" * 100
    digest = stored(remote, data)
    assert read_through(remote, digest) == (data, True)
    assert read_through(remote, digest) == (data, False)
    assert read_verified(remote, digest) == data
    assert remote.downloads == 1
    entry = cache_dir / digest[:2] / digest
    assert entry.read_bytes() == data
    assert entry.stat().st_mode & 0o777 == 0o600  # artifacts may hold data: the owner's only
    assert cache_dir.stat().st_mode & 0o777 == 0o700
    assert [path.name for path in entry.parent.iterdir()] == [digest]  # no temporary left


@pytest.mark.parametrize("damage", ["bit flip", "truncated", "emptied"])
def test_damaged_cache_entry_is_dropped_and_fetched_again(
    tmp_path: Path, cache_dir: Path, damage: str
) -> None:
    remote = CountingRemote()
    data = bytes(range(256)) * 8
    digest = stored(remote, data)
    read_verified(remote, digest)
    entry = cache_dir / digest[:2] / digest
    damaged = bytearray(entry.read_bytes())
    if damage == "bit flip":
        damaged[1000] ^= 0x01
    else:
        del damaged[1 if damage == "truncated" else 0 :]
    entry.write_bytes(damaged)
    assert ArtifactCache(cache_dir).verified(digest) is None
    assert not entry.exists()  # dropped as soon as seen
    entry.write_bytes(damaged)
    assert read_through(remote, digest) == (data, True)  # never the damaged bytes
    assert remote.downloads == 2
    assert entry.read_bytes() == data


def test_corrupt_remote_object_is_neither_used_nor_cached(tmp_path: Path, cache_dir: Path) -> None:
    remote = CountingRemote()
    digest = stored(remote, b"good bytes")
    remote.objects[digest] = b"evil bytes"
    with pytest.raises(ArtifactUnusable, match="is corrupt"):
        read_verified(remote, digest)
    assert not (cache_dir / digest[:2] / digest).exists()
    assert digest in remote.quarantined  # as any store's
    with pytest.raises(ArtifactUnusable, match="is missing"):
        read_verified(remote, hash_bytes(b"never stored"))


def test_local_store_is_read_in_place_not_copied(tmp_path: Path, cache_dir: Path) -> None:
    local = FolderArtifactStore(tmp_path / "artifacts")
    digest = stored(local, b"already on this disk")
    assert read_through(local, digest) == (b"already on this disk", True)
    assert not cache_dir.exists()


def test_unwritable_cache_costs_downloads_not_failures(tmp_path: Path, cache_dir: Path) -> None:
    (tmp_path / "user-cache").write_text("a file where the folder should be")
    remote = CountingRemote()
    digest = stored(remote, b"still readable")
    assert read_verified(remote, digest) == b"still readable"
    assert read_verified(remote, digest) == b"still readable"
    assert remote.downloads == 2


def test_writer_stopped_half_way_leaves_no_entry(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def killed(*_: object) -> None:
        raise KeyboardInterrupt

    remote = CountingRemote()
    digest = stored(remote, b"x" * 10_000)
    monkeypatch.setattr(os, "replace", killed)  # killed once downloaded, before the rename
    with pytest.raises(KeyboardInterrupt):
        read_verified(remote, digest)
    assert list(cache_dir.rglob("*")) == [cache_dir / digest[:2]]  # no entry, no temporary


PAYLOADS = [bytes([n]) * (256 * 1024 + n) for n in range(4)]


def _read_concurrently(
    remote: CountingRemote, path: str, seed: int, seen: multiprocessing.Queue[str]
) -> None:
    """One of two processes: read every payload through the cache, over and over, dropping
    entries now and then so that both keep rewriting them; report anything but whole bytes."""
    try:
        _read_many(remote, path, seed, seen)
    except BaseException as exc:  # the test reads the reports, not the child's stderr
        seen.put(repr(exc))
    seen.put("done")


def _read_many(
    remote: CountingRemote, path: str, seed: int, seen: multiprocessing.Queue[str]
) -> None:
    os.environ["ZENCTL_CACHE_DIR"] = path
    cache = ArtifactCache.of_user()
    rng = random.Random(seed)
    for _ in range(150):
        data = rng.choice(PAYLOADS)
        digest = hash_bytes(data)
        if read_verified(remote, digest) != data:
            seen.put("wrong bytes served")
        try:
            raw = cache.entry(digest).read_bytes()  # what the other process may be writing
        except FileNotFoundError:
            raw = data
        if raw != data:
            seen.put(f"partial entry of {len(raw)} bytes visible")
        if rng.random() < 0.3:
            cache.entry(digest).unlink(missing_ok=True)


def test_two_processes_reading_at_once_never_see_a_partial_entry(tmp_path: Path) -> None:
    remote = CountingRemote()
    for data in PAYLOADS:
        stored(remote, data)
    context = multiprocessing.get_context("fork")
    seen: multiprocessing.Queue[str] = context.Queue()
    workers = [
        # forked: each process has its own copy of the remote, objects and all
        context.Process(target=_read_concurrently, args=(remote, str(tmp_path), seed, seen))
        for seed in (1, 2)
    ]
    for worker in workers:
        worker.start()
    reports = [seen.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join()
    assert reports == ["done", "done"]
    entries = [path for path in (tmp_path / "artifacts").rglob("*") if path.is_file()]
    assert all(path.read_bytes() in PAYLOADS for path in entries)
    assert not [path for path in entries if path.name.startswith(".tmp-")]


def test_pull_with_a_local_store_copies_nothing(project: Project, tmp_path: Path) -> None:
    cache = tmp_path / "user-cache"
    env = {"ZENCTL_CACHE_DIR": str(cache)}
    assert project.run("pull", env=env).out == "Nothing to pull: no step has run yet.\n"
    assert project.apply().code == 0
    pulled = project.run("pull", env=env)
    assert pulled.code == 0, pulled.both
    assert "Nothing to pull: the 5 outputs the plan reuses are in a local artifact store" in (
        pulled.out
    )
    assert not (cache / "artifacts").exists()  # (the providers list is cached there)


def test_pull_fetches_each_object_once_and_reports_one_gone_since_the_plan(
    tmp_path: Path, cache_dir: Path
) -> None:
    remote = CountingRemote()
    kept = stored(remote, b"still there")
    outputs = {"a": {"hash": kept, "size": 11}, "b": {"hash": "0" * 64, "size": 3}}
    step = StepPlan(
        "pipeline.p.step.s", "p", "s", Action.CACHED, (), (), {}, "f", (), cached_outputs=outputs
    )
    twin = dataclasses.replace(step, address="pipeline.p.step.t", step="t")  # the same bytes
    plan = Plan("default", "lineage", 1, (step, twin), (), {"p": "remote"})
    pulled = list(pull_reused(plan, lambda stack: remote))
    assert [(p.address, p.output, p.outcome) for p in pulled] == [
        ("pipeline.p.step.s", "a", Outcome.FETCHED),
        ("pipeline.p.step.s", "b", Outcome.UNUSABLE),
    ]
    assert "is missing from the artifact store" in pulled[1].error
    assert remote.downloads == 2
    again = [p.outcome for p in pull_reused(plan, lambda stack: remote)]
    assert again == [Outcome.CACHED, Outcome.UNUSABLE]
    assert remote.downloads == 3  # the missing one is asked for again: it may be back
