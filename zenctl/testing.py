"""Test doubles for provider authors and zenctl's own tests, as httpx's MockTransport is for
HTTP clients: what a component under test talks to, without a cluster, a bucket or a process.

- `MemoryArtifactStore`: objects in a dict (damage them to test corruption); source
  snapshots and step logs in a scratch folder, since steps read files.
- `InlineExecutor`: runs each step when it is submitted, in this process, one at a time,
  through the same `execute_step` as every executor; `body` replaces how a step's value is
  computed, as a MockTransport's handler answers requests.
- `step_task`: a task for a step function, its code hashed as a plan hashes it.

    store = MemoryArtifactStore()
    executor = InlineExecutor(store)
    executor.start(1)
    result = executor.submit(step_task(root, "steps:train")).result()  # done already
    assert result.ok and result.outputs["output"]["hash"] in store.objects
"""

from __future__ import annotations

import contextlib
import functools
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from zenctl.apply.task import execute_step
from zenctl.artifacts.folder import FolderArtifactStore
from zenctl.fingerprint.code import CodeIndex, code_cache_file
from zenctl.fingerprint.files import StatCache, hash_bytes
from zenctl.providers.protocol import (
    ArtifactStore,
    Integrity,
    StepBody,
    StepExecutor,
    StepInput,
    StepResult,
    StepTask,
    StoredItem,
)

__all__ = ["InlineExecutor", "MemoryArtifactStore", "step_task"]


class MemoryArtifactStore(ArtifactStore):
    """An artifact store in memory. `objects` and `quarantined` map each digest to its bytes;
    snapshots and logs go to `scratch` (a temporary folder made on first use by default)."""

    def __init__(self, scratch: Path | None = None) -> None:
        self.objects: dict[str, bytes] = {}
        self.quarantined: dict[str, bytes] = {}
        self._modified: dict[str, float] = {}
        self._scratch = scratch

    @functools.cached_property
    def _files(self) -> FolderArtifactStore:
        return FolderArtifactStore(
            self._scratch or Path(tempfile.mkdtemp(prefix="zenctl-memory-store-"))
        )

    def put(self, digest: str, data: bytes) -> str:
        self.objects[digest] = bytes(data)
        self._modified[digest] = time.time()
        return f"memory://{digest}"

    def get(self, digest: str) -> bytes:
        if digest not in self.objects:
            raise FileNotFoundError(f"memory://{digest} does not exist")
        return self.objects[digest]

    def check(self, expected: Mapping[str, int]) -> dict[str, Integrity]:
        found: dict[str, Integrity] = {}
        for digest, size in expected.items():
            data = self.objects.get(digest)
            if data is None:
                corrupt = digest in self.quarantined
                found[digest] = Integrity.CORRUPT if corrupt else Integrity.MISSING
            else:
                intact = len(data) == size and hash_bytes(data) == digest
                found[digest] = Integrity.OK if intact else Integrity.CORRUPT
        return found

    def quarantine(self, digest: str) -> None:
        if digest in self.objects:
            self.quarantined[digest] = self.objects.pop(digest)

    def snapshot(self, source: Path, digest: str) -> Path:
        return self._files.snapshot(source, digest)

    def log_path(self, run_id: str, address: str) -> tuple[Path, str]:
        return self._files.log_path(run_id, address)

    def items(self) -> Iterator[StoredItem]:
        for kind, stored in (("object", self.objects), ("corrupt", self.quarantined)):
            for digest, data in sorted(stored.items()):
                addressed = digest if kind == "object" else None
                yield StoredItem(
                    kind, f"{kind}:{digest}", addressed, len(data), self._modified[digest]
                )
        if "_files" in self.__dict__:  # snapshots were taken
            yield from self._files.items()

    def remove(self, items: Sequence[StoredItem]) -> None:
        for item in items:
            kind, _, digest = item.key.partition(":")
            if kind == "object":
                self.objects.pop(digest, None)
            elif kind == "corrupt":
                self.quarantined.pop(digest, None)
        files = [item for item in items if ":" not in item.key]  # the scratch folder's
        if files:
            self._files.remove(files)


class InlineExecutor(StepExecutor):
    """Runs each step at `submit`, in this process: the future it returns is done already.

    `store`: the artifact store steps use (by default the one the task names, built through
    the installed providers). `body`: how a step's value is computed (by default, the step
    function is called). `capture`: the step's stdout and stderr go to its log, as in a
    worker. `submitted` lists the tasks in the order they came.
    """

    def __init__(
        self,
        store: ArtifactStore | None = None,
        body: StepBody | None = None,
        capture: bool = True,
    ) -> None:
        self.store = store
        self.body = body
        self.capture = capture
        self.submitted: list[StepTask] = []
        self._started = False

    def start(self, parallelism: int) -> None:
        self._started = True

    def submit(self, task: StepTask) -> Future[StepResult]:
        if not self._started:
            raise RuntimeError("executor not started")
        self.submitted.append(task)
        future: Future[StepResult] = Future()
        future.set_running_or_notify_cancel()
        future.set_result(self._run(task))
        return future

    def _run(self, task: StepTask) -> StepResult:
        with _imports_undone(Path(task.root)):
            if not self.capture:
                return execute_step(task, self.body, False, self.store)
            # A worker's print reaches file descriptor 1, which execute_step points at the log;
            # a test runner may have replaced sys.stdout with a buffer of its own, which would
            # not.
            with (
                contextlib.redirect_stdout(sys.__stdout__),
                contextlib.redirect_stderr(sys.__stderr__),
            ):
                return execute_step(task, self.body, True, self.store)

    def shutdown(self, cancel: bool) -> None:
        self._started = False


@contextlib.contextmanager
def _imports_undone(root: Path) -> Iterator[None]:
    """Forget the project's modules a step imported into this process, and its sys.path
    entries, once the step is done: as a worker process would, so that the next project's
    `steps` module (or a process forked from this one) does not find this one's."""
    modules, path = set(sys.modules), list(sys.path)
    try:
        yield
    finally:
        sys.path[:] = path
        for name in set(sys.modules) - modules:
            file = getattr(sys.modules[name], "__file__", None) or ""
            if Path(file).resolve().is_relative_to(root.resolve()):
                del sys.modules[name]


def step_task(
    root: Path,
    run: str,
    *,
    params: Mapping[str, Any] | None = None,
    inputs: Mapping[str, StepInput] | None = None,
    outputs: Iterable[str] = ("output",),
    address: str = "pipeline.p.step.s",
    artifact_store: tuple[str, dict[str, Any]] = ("memory", {}),
    log_path: Path | None = None,
    secrets: Iterable[str] = (),
) -> StepTask:
    """A task for the step function `run` ("module:function", importable from `root`) as
    apply builds one: its code hashed as a plan hashes it, so that it passes the check
    `execute_step` makes before running it.

    `artifact_store` is the (type, settings) a worker builds its store from when no store is
    handed to it: give an installed type when the executor under test runs steps elsewhere.
    The log goes to `log_path`, by default `root/logs/ADDRESS.log`.
    """
    index = CodeIndex(root, StatCache(code_cache_file(root)))
    code = index.closure(run)
    index.cache.save()  # the code cache the step's check reads
    return StepTask(
        address,
        run,
        code,
        str(root),
        dict(params or {}),
        dict(inputs or {}),
        tuple(outputs),
        artifact_store,
        str(log_path or root / "logs" / f"{address}.log"),
        tuple(secrets),
    )
