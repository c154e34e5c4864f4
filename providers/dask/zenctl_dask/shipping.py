"""A step's code to the workers, with no filesystem shared with them.

The files a step's task lists as its code (the closure the plan hashed: its module and the
project modules it imports) travel in a `WorkerPlugin`, so that Dask hands them to every
worker, those that join later or are restarted after a crash included. Each worker writes
them into a folder of its `local_directory` named by their content: the same code sent twice
(two steps, two applies) is one plugin the scheduler already holds, not sent to the workers
again. The step then imports its code from that folder (orchestrator.run_step), checked
against the plan's hashes there as everywhere.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from distributed import Worker, WorkerPlugin

from zenctl.sdk import StepTask

FOLDER = "zenctl-code"  # under each worker's local_directory
PREFIX = "zenctl-code-"  # the plugins' names, then the code's digest


@dataclass(frozen=True)
class CodeBundle:
    digest: str  # of the paths and bytes: the folder's and the plugin's name
    files: dict[str, bytes]  # path under the project -> bytes


def code_bundle(task: StepTask) -> CodeBundle:
    """The files of the task's code as they are now. A file gone since the plan stays out:
    the worker's check of the code against the plan then names it."""
    root = Path(task.root)
    here = [path for path in sorted(task.code) if root.joinpath(path).is_file()]
    files = {path: root.joinpath(path).read_bytes() for path in here}
    digest = hashlib.sha256()
    for path, data in files.items():
        # lengths first: no two different bundles give the same stream of bytes
        digest.update(f"{len(path)}:{path}:{len(data)}:".encode())
        digest.update(data)
    return CodeBundle(digest.hexdigest()[:32], files)


def code_folder(local_directory: str, digest: str) -> Path:
    return Path(local_directory) / FOLDER / digest


class ShipCode(WorkerPlugin):  # type: ignore[misc]  # distributed has no types for it
    """Writes a bundle into each worker's code folder, once."""

    idempotent = True  # registered again under its name: the scheduler keeps the first

    def __init__(self, bundle: CodeBundle) -> None:
        self.bundle = bundle
        self.name = PREFIX + bundle.digest

    def setup(self, worker: Worker) -> None:
        target = code_folder(worker.local_directory, self.bundle.digest)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        # written aside, then renamed: a step never imports from a half-written folder
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".staging-"))
        try:
            for path, data in self.bundle.files.items():
                file = staging / path
                file.parent.mkdir(parents=True, exist_ok=True)
                file.write_bytes(data)
            try:
                os.rename(staging, target)
            except OSError:  # another plugin wrote the same bytes first
                if not target.exists():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
