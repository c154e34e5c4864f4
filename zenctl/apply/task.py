"""The unit of work an orchestrator runs, and its result: plain, picklable data.

`execute_step` is the same for every orchestrator (local processes, Dask workers): it loads
the inputs, calls the step function, stores the outputs and streams its log.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zenctl.artifacts import materializers
from zenctl.artifacts.integrity import read_verified
from zenctl.fingerprint.files import hash_bytes
from zenctl.providers.protocol import ArtifactStore


@dataclass(frozen=True, slots=True)
class StepInput:
    kind: str  # "artifact" or "source"
    hash: str
    materializer: str = ""
    path: str = ""  # sources: the path in the project


@dataclass(frozen=True, slots=True)
class StepTask:
    address: str
    run: str
    root: str
    params: dict[str, Any]
    inputs: dict[str, StepInput]
    outputs: tuple[str, ...]
    artifact_store: tuple[str, dict[str, Any]]  # (type, settings): rebuilt in the worker
    log_path: str


@dataclass(frozen=True, slots=True)
class StepResult:
    address: str
    ok: bool
    outputs: dict[str, dict[str, Any]]
    error: str
    duration: float


_stores: dict[str, ArtifactStore] = {}


def _artifact_store(task: StepTask) -> ArtifactStore:
    from zenctl.providers.registry import build_component

    type_, settings = task.artifact_store
    key = f"{task.root}|{type_}|{sorted(settings.items())}"
    if key not in _stores:
        _stores[key] = build_component("artifact_store", type_, settings, Path(task.root))
    store: ArtifactStore = _stores[key]
    return store


def execute_step(task: StepTask) -> StepResult:
    """Run one step in the current process; never raises for a failure of the step itself."""
    started = time.perf_counter()
    try:
        with _log_to(Path(task.log_path)):
            outputs = _run(task)
        error = ""
    except BaseException as exc:  # the step's own exception, reported with its traceback
        if isinstance(exc, KeyboardInterrupt):
            raise
        with contextlib.suppress(OSError), open(task.log_path, "a") as log:
            traceback.print_exception(exc, file=log)
        outputs, error = {}, _describe(exc)
    try:
        _artifact_store(task).log_finished(Path(task.log_path))
    except Exception as exc:  # a log the store cannot keep would be recorded as kept
        outputs, error = {}, error or f"the step's log could not be stored: {_describe(exc)}"
    return StepResult(task.address, not error, outputs, error, time.perf_counter() - started)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".strip()


def _run(task: StepTask) -> dict[str, dict[str, Any]]:
    store = _artifact_store(task)
    if task.root not in sys.path:
        sys.path.insert(0, task.root)
    module_name, function_name = task.run.split(":")
    function = getattr(importlib.import_module(module_name), function_name, None)
    if not callable(function):
        raise AttributeError(f"module {module_name!r} has no function {function_name!r}")
    kwargs: dict[str, Any] = dict(task.params)
    for name, spec in task.inputs.items():
        if spec.kind == "source":
            kwargs[name] = store.snapshot(Path(task.root) / spec.path, spec.hash)
        else:
            kwargs[name] = materializers.load(spec.materializer, read_verified(store, spec.hash))
    value = function(**kwargs)
    named = _named_outputs(task, value)
    outputs: dict[str, dict[str, Any]] = {}
    for name, item in named.items():
        materializer, data = materializers.dump(item)
        digest = hash_bytes(data)
        uri = store.put(digest, data)
        outputs[name] = {
            "hash": digest,
            "materializer": materializer,
            "size": len(data),
            "uri": uri,
        }
    return outputs


def _named_outputs(task: StepTask, value: Any) -> dict[str, Any]:
    if task.outputs == ("output",):
        return {"output": value}
    if not isinstance(value, dict) or set(value) != set(task.outputs):
        got = sorted(value) if isinstance(value, dict) else type(value).__name__
        raise TypeError(
            f"step declares outputs {list(task.outputs)} and must return a dict with exactly "
            f"those keys; it returned {got}"
        )
    return value


@contextlib.contextmanager
def _log_to(path: Path) -> Iterator[None]:
    """Send the step's stdout and stderr (Python's and its child processes') to its log file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(line_buffering=True)  # stream the log while the step runs
    saved = os.dup(1), os.dup(2)
    log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)  # logs may hold data
    try:
        os.dup2(log, 1)
        os.dup2(log, 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
    finally:
        os.close(log)
