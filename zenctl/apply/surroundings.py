"""The surroundings of one step that `execute_step` runs (zenctl/apply/task.py): its
temporary folder (TMPDIR), the folder where its file and directory inputs are copied, and the
hashes of its inputs taken while it runs. Each is set for the step's duration, and read by
`load_inputs` and `store_output` (zenctl/apply/step_values.py) through the accessors below."""

from __future__ import annotations

import contextlib
import contextvars
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from zenctl.artifacts.integrity import Verifications
from zenctl.paths import TEMPORARY
from zenctl.providers.protocol import ArtifactStore

# The step's temporary folder, in the store's staging folder: what it returns from there is
# moved into the store (trees.store_path); removed when the step ends.
_temporary: contextvars.ContextVar[Path | None] = contextvars.ContextVar("temporary", default=None)


@contextlib.contextmanager
def temporary_folder(store: ArtifactStore) -> Iterator[None]:
    """TMPDIR (and `tempfile`'s folder) for the step: a new folder in the store's staging
    folder (a local store's `objects/`, on the objects' file system). A file or directory the
    step makes there (`tempfile.mkdtemp()`) and returns is then renamed into the store rather
    than written a second time. None for a store without one: the system's, as before.

    A TMPDIR the apply was given wins (a batch job's node-local scratch disk): the step's
    folder is made in it, and what the step returns from there is moved only where it shares
    the store's file system, else copied."""
    staging = store.staging_folder()
    if staging is None:
        yield
        return
    chosen = os.environ.get("TMPDIR")
    base = chosen if chosen and os.path.isdir(chosen) else staging
    folder = Path(tempfile.mkdtemp(dir=base, prefix=f"{TEMPORARY}step-"))
    saved = chosen, tempfile.tempdir
    os.environ["TMPDIR"] = tempfile.tempdir = str(folder)
    token = _temporary.set(folder)
    try:
        yield
    finally:
        _temporary.reset(token)
        if saved[0] is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved[0]
        tempfile.tempdir = saved[1]
        shutil.rmtree(folder, ignore_errors=True)


# Where this step's file and directory inputs are copied; removed when the step ends.
_scratch: contextvars.ContextVar[Path | None] = contextvars.ContextVar("scratch", default=None)


@contextlib.contextmanager
def inputs_folder() -> Iterator[None]:
    folder = Path(tempfile.mkdtemp(prefix="zenctl-inputs-"))
    token = _scratch.set(folder)
    try:
        yield
    finally:
        _scratch.reset(token)
        shutil.rmtree(folder, ignore_errors=True)


# The hashes of this step's inputs taken while it runs (integrity.Verifications).
_beside: contextvars.ContextVar[Verifications | None] = contextvars.ContextVar(
    "beside", default=None
)


@contextlib.contextmanager
def verified_beside() -> Iterator[Verifications]:
    """Inputs hashed beside the step: the caller waits for them before storing its outputs;
    a step that fails waits too, so that a corrupt input, which may be why it failed, is what
    it reports."""
    verifications = Verifications()
    token = _beside.set(verifications)
    try:
        yield verifications
    except Exception:
        verifications.wait()
        raise
    finally:
        _beside.reset(token)


def temporary() -> Path | None:
    """The running step's temporary folder, if zenctl gave it one."""
    return _temporary.get()


def inputs() -> Path | None:
    """Where the running step's file and directory inputs are copied, inside `execute_step`."""
    return _scratch.get()


def beside() -> Verifications | None:
    """Where the running step's inputs are hashed while it runs, inside `execute_step`."""
    return _beside.get()
