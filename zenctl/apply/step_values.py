"""What a step receives and what it returns: its inputs loaded from the artifact store, and
its outputs stored there (for `execute_step`, zenctl/apply/task.py, and providers' bodies).

A value that cannot be stored, or an input that cannot be loaded, fails the step naming the
output or input, the materializer and the fix; it is a storage error, not the step's bug,
where the value is at fault (docs/artifacts.md#a-value-nothing-stores)."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, cast

from zenctl.apply import surroundings
from zenctl.artifacts import materializers, trees
from zenctl.artifacts.integrity import ArtifactUnusable, read_value
from zenctl.fingerprint.canonical import short
from zenctl.providers.protocol import ArtifactStore, StepTask


class StorageError(Exception):
    """A step's output that no materializer stores: the step ran; its value cannot be kept."""


class InputUnloadable(Exception):
    """An input artifact whose materializer could not read its (verified) bytes back."""


def load_inputs(task: StepTask, store: ArtifactStore) -> dict[str, Any]:
    """Each input by name: a source as the Path of its snapshot, a file or directory artifact
    as the Path of a fresh copy named after the input, any other artifact as its value, read
    from the verified file (a numpy array memory-mapped read-only: docs/artifacts.md). In
    `execute_step`, a numpy array or a file or directory copy from a local store is verified
    while the step runs, before its outputs are stored; elsewhere, before it is returned."""
    inputs: dict[str, Any] = {}
    for name, spec in task.inputs.items():
        if spec.kind == "source":
            inputs[name] = store.snapshot(Path(task.root) / spec.path, spec.hash)
        elif spec.materializer in trees.PATH_MATERIALIZERS:
            # outside execute_step (a provider's own body), the copy outlives the step
            scratch = surroundings.inputs() or Path(tempfile.mkdtemp(prefix="zenctl-inputs-"))
            inputs[name] = trees.materialize(
                store, spec.materializer, spec.hash, scratch / name, surroundings.beside()
            )
        else:
            try:
                inputs[name] = read_value(
                    store, spec.hash, spec.materializer, surroundings.beside()
                )
            except (ArtifactUnusable, OSError):
                raise  # missing or corrupt bytes, or the disk: said as they are
            except Exception as exc:  # the materializer's `load` failed on verified bytes
                raise InputUnloadable(
                    f'Cannot load input "{name}" (artifact {short(spec.hash)}) with the '
                    f"{spec.materializer!r} materializer that stored it: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
    return inputs


def store_outputs(
    task: StepTask, store: ArtifactStore, named: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Store each output, once every one is known to be storable: a value no materializer
    stores fails the step, naming the output and its type, before any output is written.
    The last output is not rehearsed: no output after it would be lost."""
    items = list(named.items())
    chosen: dict[str, str | None] = {}
    shared = _overlapping_paths(named)
    name, value = "", None
    try:
        for index, (name, value) in enumerate(items):
            forced, rehearse = task.materializers.get(name), index < len(items) - 1
            is_path = isinstance(value, Path)
            if is_path and forced:
                raise materializers.Unstorable(
                    f"it is a path, stored as the file or directory it names, and the "
                    f"materializer {forced!r} named for it does not apply: remove "
                    f"`materializers.{name}`"
                )
            chosen[name] = None if is_path else materializers.check(value, forced, rehearse)
        stored = {}
        for name, value in items:  # a loop, not a comprehension: `name` is the failed one
            stored[name] = store_output(store, value, chosen[name], movable=name not in shared)
        return stored
    except materializers.Unstorable as exc:
        raise StorageError(
            f'Cannot store output "{name}" of {task.address}: {exc}. Return a value a '
            f"materializer stores, or register a materializer for "
            f"{type(value).__module__}.{type(value).__qualname__} ({materializers.DOCS})"
        ) from exc
    except _MaterializerFailed as failed:  # not the store: the materializer, on this value
        cause = failed.__cause__
        raise StorageError(
            f'Cannot store output "{name}" of {task.address}: the {chosen.get(name)!r} '
            f"materializer failed on {type(value).__module__}.{type(value).__qualname__}: "
            f"{type(cause).__name__}: {cause}. Return a value it stores, or name another "
            f'materializer for the output (materializers = {{ {name} = "joblib" }}, '
            f"{materializers.DOCS})"
        ) from cause


def _overlapping_paths(named: dict[str, Any]) -> set[str]:
    """The outputs whose paths are, contain or lie inside another output's path: they are
    copied into the store, never moved, or the first stored would take the others' files."""
    paths = {name: value.resolve() for name, value in named.items() if isinstance(value, Path)}
    return {
        name
        for name, path in paths.items()
        for other, elsewhere in paths.items()
        if other != name and (path.is_relative_to(elsewhere) or elsewhere.is_relative_to(path))
    }


def store_output(
    store: ArtifactStore, value: Any, materializer: str | None = None, movable: bool = True
) -> dict[str, Any]:
    """Materialise one output, store it under its content hash and describe it for state.

    The value is written straight to the store, hashed on the way (one pass, never whole in
    memory), and durable once `put_stream` returns: the walker records it only after. A path
    in the step's temporary folder is moved into the store where `movable`, else copied."""
    if isinstance(value, Path):
        return trees.store_path(store, value, surroundings.temporary() if movable else None)
    materializer = materializer or materializers.kind(value)
    stored = store.put_stream(functools.partial(_write, materializer, value))
    return {
        "hash": stored.digest,
        "materializer": materializer,
        "size": stored.size,
        "uri": stored.uri,
    }


class _MaterializerFailed(Exception):
    """A materializer's `write` raised on a value (its cause); what the store raised while
    being written to is not this, and is raised as it is."""


class _Watched:
    """The store's stream, as a materializer writes to it: what it raises is kept, to be
    told from what the materializer raises itself."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self.raised: BaseException | None = None

    def write(self, data: Any) -> int:
        try:
            return self._out.write(data)
        except BaseException as exc:
            self.raised = exc
            raise

    def __getattr__(self, name: str) -> Any:  # flush, tell...: the stream's own
        return getattr(self._out, name)


def _write(materializer: str, value: Any, out: BinaryIO) -> None:
    watched = _Watched(out)
    try:
        materializers.write(materializer, value, cast(BinaryIO, watched))
    except materializers.Unstorable:
        raise
    except Exception as exc:
        if watched.raised is not None:  # the store failed (maybe re-raised by a library)
            raise watched.raised from None
        raise _MaterializerFailed() from exc


def named_outputs(task: StepTask, value: Any) -> dict[str, Any]:
    """The step's return value by output name: the value itself for the single `output`."""
    if task.outputs == ("output",):
        return {"output": value}
    if not isinstance(value, dict) or set(value) != set(task.outputs):
        got = sorted(value) if isinstance(value, dict) else type(value).__name__
        raise TypeError(
            f"step declares outputs {list(task.outputs)} and must return a dict with exactly "
            f"those keys; it returned {got}"
        )
    return value
