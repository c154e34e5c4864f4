"""Artifacts that stream (docs/artifacts.md): a step's value goes to the store without a copy
in memory, the next step reads it in place, and nothing is recorded before it is on disk."""

from __future__ import annotations

import functools
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import numpy
import pytest
from conftest import Project

from zenctl.artifacts import materializers
from zenctl.artifacts.folder import FolderArtifactStore
from zenctl.artifacts.integrity import use_verified
from zenctl.fingerprint.files import hash_bytes, hash_file
from zenctl.testing import MemoryArtifactStore

MIB = 1 << 20
SIZE = 96 * MIB  # the test's array: large beside a worker's own memory, small for a disk

STEPS = f"""
import importlib
import os
import re
import signal
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent


def _status(key):
    status = Path("/proc/self/status").read_text()
    return int(re.search(key + r":\\s+(\\d+) kB", status).group(1)) * 1024


def _watch_peak():
    # The peak keeps rising after the step's code ends, while the worker stores its value:
    # sampled until the next step starts (in this worker, maybe), kept as the highest seen.
    def sample():
        peak = 0
        while not (HERE / "consume.started").exists():
            if _status("VmHWM") > peak:
                peak = _status("VmHWM")
                (HERE / "produce.peak.new").write_text(str(peak))
                (HERE / "produce.peak.new").replace(HERE / "produce.peak")  # whole, if killed
            time.sleep(0.01)

    threading.Thread(target=sample, daemon=True).start()


def _kill_at(where):
    # ZENCTL_TEST_KILL_AT="module:function": this worker dies when storing the value reaches
    # it (an apply cut short there); set here, in the worker, which is no fork of the test
    if where:
        module, name = where.split(":")
        kill = lambda *_: os.kill(os.getpid(), signal.SIGKILL)
        setattr(importlib.import_module(module), name, kill)


def produce(n):
    _kill_at(os.environ.get("ZENCTL_TEST_KILL_AT"))
    Path("/proc/self/clear_refs").write_text("5")  # the peak so far (zenctl's, forked) reset
    (HERE / "produce.base").write_text(str(_status("VmRSS")))
    _watch_peak()
    return np.full({SIZE} // 8, float(n))


def consume(array, tag):
    if tag == "fails":
        raise RuntimeError("the step's own failure")
    time.sleep(0.2)  # the producer's worker samples its peak once more
    (HERE / "consume.started").touch()
    time.sleep(0.1)  # and stops: what this step allocates is not the producer's
    info = {{
        "type": type(array).__name__,
        "writeable": bool(array.flags.writeable),
        "mean": float(array.mean()),
        "writable_copy": bool(np.array(array).flags.writeable),
    }}
    try:
        array[0] = 1.0
    except ValueError as exc:
        info["assignment"] = str(exc)
    return info
"""

MAIN = """
variable "tag" {
  default = "a"
}

pipeline "p" {
  step "produce" {
    run    = "steps.arrays:produce"
    params = { n = 3 }
  }
  step "consume" {
    run    = "steps.arrays:consume"
    inputs = { array = step.produce.outputs.output }
    params = { tag = var.tag }
  }
}
"""


def make(project: Project) -> Project:
    project.write("steps/__init__.py", "")
    project.write("steps/arrays.py", STEPS)
    project.write("main.zc.hcl", MAIN)
    return project


def recorded(project: Project, step: str) -> dict[str, object] | None:
    """The output the state records for `step`, None when it has none."""
    rows = project.sql(
        "SELECT e.outputs FROM current_steps c JOIN step_executions e ON e.id = c.execution_id "
        "WHERE c.address = :address",
        address=f"pipeline.p.step.{step}",
    )
    if not rows:
        return None
    output: dict[str, object] = json.loads(rows[0][0])["output"]
    return output


def store_of(project: Project) -> FolderArtifactStore:
    return FolderArtifactStore(project.root / ".zenctl/artifacts")


def test_a_large_array_streams_to_the_store_and_reaches_the_next_step_memory_mapped(
    project: Project,
) -> None:
    make(project)
    applied = project.apply()
    assert applied.code == 0, applied.both

    steps = project.root / "steps"
    peak = int((steps / "produce.peak").read_text()) - int((steps / "produce.base").read_text())
    # the array once, plus numpy's 16 MiB write buffer: never a second whole copy
    assert peak < 1.3 * SIZE, f"the producing worker peaked at {peak / SIZE:.2f}x the array"

    output = recorded(project, "produce")
    assert output is not None and output["materializer"] == "numpy"
    digest = str(output["hash"])
    stored = store_of(project).local_path(digest)
    assert stored.stat().st_size == output["size"]
    assert hash_file(stored) == digest
    # the same bytes as an in-memory np.save gave before streaming: caches stay valid
    assert materializers.dump(numpy.full(SIZE // 8, 3.0))[1] == stored.read_bytes()

    info = json.loads(store_of(project).get(str(recorded(project, "consume")["hash"])))  # type: ignore[index]
    assert info == {
        "type": "memmap",
        "writeable": False,
        "mean": 3.0,
        "writable_copy": True,
        "assignment": "assignment destination is read-only",
    }
    assert not list((project.root / ".zenctl/artifacts/objects").glob(".tmp-*"))


def _damage_silently(project: Project) -> str:
    """Apply, then flip a byte of the stored array as bit rot does (size and mtime kept, the
    plan's stat cache trusting it): its digest."""
    make(project)
    assert project.apply().code == 0
    output = recorded(project, "produce")
    assert output is not None
    digest = str(output["hash"])
    target = store_of(project).local_path(digest)
    hour_ago = target.stat().st_mtime_ns - 3600 * 10**9
    os.utime(target, ns=(hour_ago, hour_ago))  # old enough for the plan to trust its stat
    assert "No changes." in project.run("plan").out  # verified, its stat recorded
    before = target.stat()
    with target.open("r+b") as handle:
        handle.seek(SIZE // 2)
        handle.write(b"\x01")
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert "No changes." in project.run("plan").out  # the plan trusts the stat it verified
    return digest


def test_a_damaged_array_fails_the_step_reading_it_and_nothing_it_made_is_recorded(
    project: Project,
) -> None:
    """The array is hashed while the step runs on its memory map: the step's outputs are
    stored and recorded only once the hash matched."""
    digest = _damage_silently(project)
    consumed = recorded(project, "consume")
    (project.root / "steps/consume.started").unlink()

    applied = project.apply("--var", "tag=b")  # consume runs: the read hashes again
    assert applied.code == 1
    assert f"artifact {digest[:10]} is corrupt (its bytes no longer match" in applied.both
    assert (project.root / "steps/consume.started").exists()  # it ran, on the mapped array
    ((status, outputs),) = project.sql(
        "SELECT status, outputs FROM step_executions WHERE address = :address "
        "ORDER BY serial DESC LIMIT 1",
        address="pipeline.p.step.consume",
    )
    assert status == "failed" and not json.loads(outputs or "{}")
    assert recorded(project, "consume") == consumed  # the state still names the last good one
    assert not store_of(project).local_path(digest).exists()  # set aside
    plan = project.run("plan", "--var", "tag=b")
    assert "pipeline.p.step.produce" in plan.out and "artifact corrupt" in plan.out, plan.out


def test_a_step_that_fails_on_a_damaged_array_reports_the_damage(project: Project) -> None:
    """Its own error may be what the bad bytes caused: the damage is what it reports."""
    digest = _damage_silently(project)
    applied = project.apply("--var", "tag=fails")
    assert applied.code == 1
    assert f"artifact {digest[:10]} is corrupt (its bytes no longer match" in applied.both
    assert "the step's own failure" not in applied.out  # in its log, not as its error
    assert not store_of(project).local_path(digest).exists()  # set aside


def _count_fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each os.fsync and os.replace as it happens: 'file', 'folder' or 'rename'."""
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    def replace(source: str | Path, target: str | Path) -> None:
        events.append("rename")
        real_replace(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return events


@pytest.mark.parametrize(
    "put",
    [
        lambda store: store.put_stream(lambda out: out.write(b"streamed")).digest,
        lambda store: store.put(hash_bytes(b"bytes"), b"bytes") and hash_bytes(b"bytes"),
    ],
    ids=["put_stream", "put"],
)
def test_an_object_and_its_name_are_on_disk_before_put_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, put: Callable[[FolderArtifactStore], str]
) -> None:
    store = FolderArtifactStore(tmp_path / "store")
    events = _count_fsyncs(monkeypatch)
    digest = put(store)
    # the bytes, then the rename, then the folder that now names it and the new folder's parent
    assert events == ["file", "rename", "folder", "folder"]
    assert store.local_path(digest).is_file()
    events.clear()
    assert put(store) == digest
    assert "rename" not in events and "file" not in events  # stored, intact: kept as it is


def test_a_streamed_object_matches_the_hash_of_its_bytes(tmp_path: Path) -> None:
    store = FolderArtifactStore(tmp_path / "store")
    value = {"weights": numpy.arange(10_000), "names": {"b", "a"}}
    name = materializers.kind(value)
    stored = store.put_stream(lambda out: materializers.write(name, value, out))
    data = store.get(stored.digest)
    assert (name, data) == materializers.dump(value)  # the bytes an in-memory dump gives
    assert (stored.digest, stored.size) == (hash_bytes(data), len(data))


def test_a_worker_killed_after_the_rename_records_nothing_and_the_plan_runs_it_again(
    project: Project,
) -> None:
    make(project)
    # renamed into place, folder not synced
    applied = project.apply(env={"ZENCTL_TEST_KILL_AT": "zenctl.artifacts.folder:_fsync_folder"})
    assert applied.code == 1
    assert recorded(project, "produce") is None  # no record, so none to point at lost bytes
    plan = project.run("plan")
    assert "pipeline.p.step.produce" in plan.out and "run" in plan.out
    assert project.apply().code == 0
    output = recorded(project, "produce")
    assert output is not None
    assert hash_file(store_of(project).local_path(str(output["hash"]))) == output["hash"]


def test_a_worker_killed_while_writing_leaves_a_temporary_that_gc_removes(
    project: Project,
) -> None:
    make(project)
    # the bytes written, not yet synced nor renamed
    assert project.apply(env={"ZENCTL_TEST_KILL_AT": "os:fsync"}).code == 1
    assert recorded(project, "produce") is None
    objects = project.root / ".zenctl/artifacts/objects"
    leftovers = sorted(objects.glob(".tmp-*"))
    # the value being written, and the step's temporary folder (TMPDIR) beside it
    (leftover,) = [path for path in leftovers if path.is_file()]
    assert leftover.stat().st_size == SIZE + 128  # the array and its .npy header
    (folder,) = [path for path in leftovers if path.is_dir()]
    assert folder.name.startswith(".tmp-step-")
    for path in leftovers:
        hour_ago = path.stat().st_mtime - 3600
        os.utime(path, (hour_ago, hour_ago))  # older than gc's grace period
    collected = project.run("gc")
    assert collected.code == 0, collected.both
    for path in leftovers:
        assert f"temporary objects/{path.name}" in collected.out, collected.out
        assert not path.exists()


class RemoteStore(MemoryArtifactStore):
    """A store that downloads (as a bucket does), counting its downloads."""

    remote = True

    def __init__(self) -> None:
        super().__init__()
        self.downloads = 0

    def get_file(self, digest: str, target: Path) -> None:
        self.downloads += 1
        super().get_file(digest, target)


def test_a_remote_array_is_downloaded_to_the_cache_once_and_mapped_from_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZENCTL_CACHE_DIR", str(tmp_path / "cache"))
    remote = RemoteStore()
    array = numpy.arange(1000.0)
    stored = remote.put_stream(lambda out: materializers.write("numpy", array, out))
    load = functools.partial(materializers.load, "numpy")
    for fetched in (True, False):
        value, was_fetched = use_verified(remote, stored.digest, load)
        assert was_fetched is fetched
        assert isinstance(value, numpy.memmap) and not value.flags.writeable
        assert Path(value.filename).is_relative_to(tmp_path / "cache")
        assert numpy.array_equal(value, array)
    assert remote.downloads == 1
