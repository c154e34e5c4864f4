"""The step runtime: how a `StepTask` (zenctl/providers/protocol.py) becomes a `StepResult`.

`execute_step` is the same for every executor (local processes, Dask workers, Beam, Dataflow):
it streams the step's log, computes the step's value and stores its outputs. Executors that
compute the value differently (a Beam pipeline, a remote job) pass their own `StepBody`.
Whatever the body, the step's code is checked against the plan's hashes where it is imported,
and the task's secrets are masked in its log and its error as they are written
(zenctl/apply/masking.py).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import select
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from zenctl.apply import surroundings
from zenctl.apply.masking import MaskedStream, Masker
from zenctl.apply.metrics import metric_values
from zenctl.apply.step_values import StorageError, load_inputs, named_outputs, store_outputs
from zenctl.artifacts import materializers
from zenctl.fingerprint.code import CodeIndex, changed_files, code_cache_file
from zenctl.fingerprint.files import StatCache
from zenctl.modules import module_file
from zenctl.providers.protocol import ArtifactStore, StepBody, StepResult, StepTask


class CodeChanged(RuntimeError):
    """The step's code is not the code the plan hashed (edited after the plan was made)."""


_stores: dict[str, ArtifactStore] = {}
_code_caches: dict[str, StatCache] = {}  # by project root: read once per worker, never saved


def _artifact_store(task: StepTask, given: ArtifactStore | None) -> ArtifactStore:
    """`given`, else the task's store, built once per process from its type and settings."""
    if given is not None:
        return given
    from zenctl.providers.registry import build_component

    type_, settings = task.artifact_store
    key = f"{task.root}|{type_}|{sorted(settings.items())}"
    if key not in _stores:
        _stores[key] = build_component("artifact_store", type_, settings, Path(task.root))
    store: ArtifactStore = _stores[key]
    return store


def execute_step(
    task: StepTask,
    body: StepBody | None = None,
    capture: bool = True,
    store: ArtifactStore | None = None,
    code_root: str | None = None,
) -> StepResult:
    """Run one step in the current process; never raises for a failure of the step itself.

    `capture` sends the whole process's stdout and stderr to the step's log: only a worker
    running one step at a time may do that; a body run in a thread writes its log itself.
    `store` is the artifact store to use where the caller holds one (an executor in the
    process that built it, zenctl.testing's); otherwise the task's is built here.
    `code_root` is where the step's modules are imported from when that is not the project
    (a cluster worker's copy of the code): the project's own folders stay off `sys.path`.
    """
    started = time.perf_counter()
    details: dict[str, str] = {}
    masker = Masker(task.secrets)
    try:
        with _log_to(Path(task.log_path), masker) if capture else contextlib.nullcontext():
            used = _artifact_store(task, store)
            with (
                # the process's temporary folder is the step's only where the process is
                surroundings.temporary_folder(used) if capture else contextlib.nullcontext(),
                surroundings.inputs_folder(),
                surroundings.verified_beside() as verifications,
                # its classes pickle only while importable
                _module_folder_on_path(task, code_root or task.root),
            ):
                value = (body or call_function)(task, used, details)
                verifications.wait()  # nothing made from a corrupt input is stored
                named = named_outputs(task, value)
                metrics = {
                    name: metric_values(task.address, name, named[name]) for name in task.metrics
                }
                outputs = store_outputs(task, used, named)
        error = ""
    except BaseException as exc:  # the step's own exception, reported with its traceback
        if isinstance(exc, KeyboardInterrupt):
            raise
        # an output nothing stores: the step ran and is not at fault, no traceback to show
        storage = isinstance(exc, StorageError)
        if storage:
            details["error_kind"] = "storage"
        with contextlib.suppress(OSError), open(task.log_path, "a") as log:
            # a materializer that failed (not a value nothing stores) leaves its traceback
            cause = exc.__cause__ if storage else exc
            shown = cause if cause and not isinstance(cause, materializers.Unstorable) else None
            text = (f"{exc}\n" if storage else "") + (
                "".join(traceback.format_exception(shown)) if shown else ""
            )
            log.write(masker.mask_text(text))
        outputs, metrics, error = {}, {}, masker.mask_text(str(exc) if storage else _describe(exc))
    try:
        _artifact_store(task, store).log_finished(Path(task.log_path))
    except Exception as exc:  # a log the store cannot keep would be recorded as kept
        why = f"the step's log could not be stored: {_describe(exc)}"
        outputs, error = {}, error or masker.mask_text(why)
    duration = time.perf_counter() - started
    return StepResult(task.address, not error, outputs, error, duration, details, metrics)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".strip()


def step_function(task: StepTask) -> Callable[..., Any]:
    """The function `task.run` names, imported from the project once its code is shown to be
    the planned code."""
    module_name, function_name = task.run.split(":")
    check_code(task)
    if task.root not in sys.path:
        sys.path.insert(0, task.root)
    function = getattr(importlib.import_module(module_name), function_name, None)
    if not callable(function):
        raise AttributeError(f"module {module_name!r} has no function {function_name!r}")
    return function  # type: ignore[no-any-return]


@contextlib.contextmanager
def _module_folder_on_path(task: StepTask, root: str) -> Iterator[None]:
    """The step module's own folder on `sys.path`, after the project root, as the code hash
    assumes (zenctl/fingerprint/code.py): DVC's layout, where `src/train.py` does `from utils
    import x` with `src/utils.py` beside it. Taken off after the step, and the modules found
    through it (by a name that is not their path from the root) forgotten: the worker's next
    step may be another folder's, with its own `utils.py`."""
    file = module_file(Path(root), task.run.split(":")[0])
    folder = str(file.parent) if file else root
    if folder == root or folder in sys.path:
        yield
        return
    if root not in sys.path:
        sys.path.insert(0, root)
    sys.path.insert(sys.path.index(root) + 1, folder)
    before = set(sys.modules)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(folder)
        for name in set(sys.modules) - before:
            path = getattr(sys.modules[name], "__file__", None)
            if path and Path(path).is_relative_to(folder) and name != _root_name(root, path):
                del sys.modules[name]


def _root_name(root: str, path: str) -> str:
    """The module name of a file imported from the project root: `steps.model` for
    steps/model.py or steps/model/__init__.py."""
    parts = Path(path).relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def check_code(task: StepTask) -> None:
    """Refuse code edited since the plan (during a long apply): it would run under the planned
    code's hash, a cache hit for the planned code once the edit is reverted.

    A file whose stat matches the plan's cache entry is not read again, as at plan time: an entry
    is trusted only when taken long enough after the file's mtime (files.RACY_WINDOW_NS), so
    an edit since then has another mtime and is read.
    """
    root = Path(task.root)
    if task.root not in _code_caches:
        _code_caches[task.root] = StatCache(code_cache_file(root))
    changed = changed_files(CodeIndex(root, _code_caches[task.root]), task.run, task.code)
    if changed:
        # gone: deleted, or never here (a Dask worker without the project at this path)
        gone = [path for path in changed if not root.joinpath(path).is_file()]
        edited = [path for path in changed if path not in gone]
        what = [f"{', '.join(edited)} changed since the plan"] if edited else []
        what += [f"{', '.join(gone)} not found under {root}"] if gone else []
        raise CodeChanged(f"{' and '.join(what)} (edited during apply?): run `zenctl plan` again")


def call_function(task: StepTask, store: ArtifactStore, details: dict[str, str]) -> Any:
    """The default body: call the step function with its params and inputs. Inputs are loaded
    first, so that the code is checked as late as possible: an edit while a large input loads
    is caught."""
    inputs = load_inputs(task, store)
    return step_function(task)(**{**task.params, **inputs})


def open_log(path: Path) -> int:
    """The step's log, opened to append: owner-only, as logs may hold data."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)


@contextlib.contextmanager
def step_log(task: StepTask) -> Iterator[TextIO]:
    """The step's log as line-buffered text, secrets masked, for a body that writes the log
    itself (one run in a thread, whose output is not captured)."""
    with (
        masked_log(Path(task.log_path), Masker(task.secrets)) as fd,
        open(fd, "w", buffering=1, closefd=False) as log,
    ):
        yield log


@contextlib.contextmanager
def masked_log(path: Path, masker: Masker) -> Iterator[int]:
    """A file descriptor whose writes reach the end of the step's log with the secrets masked
    before any byte is written: a pipe, copied by a thread (`_pump`). Without secrets to
    mask, the log file itself."""
    path.parent.mkdir(parents=True, exist_ok=True)
    log = open_log(path)
    try:
        if not masker:
            yield log
            return
        source, sink = os.pipe()
        stop, stopper = os.pipe()
        pump = threading.Thread(
            target=_pump, args=(source, stop, log, masker), name="zenctl-log", daemon=True
        )
        pump.start()
        try:
            yield sink
        finally:
            os.close(sink)
            os.write(stopper, b"\0")
            pump.join()
            for fd in (source, stop, stopper):
                os.close(fd)
    finally:
        os.close(log)


_CHUNK = 1 << 16


def _pump(source: int, stop: int, log: int, masker: Masker) -> None:
    """Copy the pipe into the log, masked, until no writer is left, or until the step has
    ended (`stop`) and nothing is left to read: a process that the step started and left
    running may hold the pipe open for ever, and what it writes afterwards is lost."""
    stream = MaskedStream(masker)
    poller = select.poll()  # not select(): the descriptors may be past FD_SETSIZE
    for fd in (source, stop):
        poller.register(fd, select.POLLIN)
    while True:
        ready = {fd for fd, _ in poller.poll()}
        data = os.read(source, _CHUNK) if source in ready else b""
        if not data:
            break
        _write(log, stream.feed(data))
    _write(log, stream.end())


def _write(fd: int, data: bytes) -> None:
    """All of `data`, or what a full disk lets through: the pipe must still be read, or the
    step would block on its next print."""
    with contextlib.suppress(OSError):
        while data:
            data = data[os.write(fd, data) :]


@contextlib.contextmanager
def _log_to(path: Path, masker: Masker) -> Iterator[None]:
    """Send the step's stdout and stderr (Python's and its child processes') to its log file."""
    sys.stdout.flush()
    sys.stderr.flush()
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(line_buffering=True)  # stream the log while the step runs
    with masked_log(path, masker) as log:
        saved = os.dup(1), os.dup(2)
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
