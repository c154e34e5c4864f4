"""Run training steps each in its own process: its own environment, a timeout, GPU selection
(the component's `gpus`, or the devices zenctl gave a step that asks with `resources`).

Unlike the orchestrator's reused workers, every step gets a fresh interpreter, so the
environment variables and CUDA_VISIBLE_DEVICES it is started with are the ones the step's
libraries see when they initialize.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from zenctl.sdk import (
    StepExecutor,
    StepResult,
    StepTask,
    UserError,
    cause_of_death,
    parse_duration,
)


def visible_gpus() -> int:
    """How many NVIDIA GPUs this machine shows: nvidia-smi, else the driver's /proc entries."""
    if shutil.which("nvidia-smi"):
        try:
            listed = subprocess.run(
                ["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30, check=False
            ).stdout
        except (OSError, subprocess.TimeoutExpired):
            listed = ""
        count = sum(1 for line in listed.splitlines() if line.startswith("GPU "))
        if count:
            return count
    gpus = Path("/proc/driver/nvidia/gpus")
    return len(list(gpus.iterdir())) if gpus.is_dir() else 0


class LocalTraining(StepExecutor):
    def __init__(self, env: dict[str, str], timeout: str | None, gpus: int) -> None:
        self.env = env
        # the schema checked the spelling already
        self.timeout = parse_duration(timeout, "training timeout") if timeout else None
        self.gpus = gpus
        self._pool: ThreadPoolExecutor | None = None
        self._running: dict[int, subprocess.Popen[bytes]] = {}

    @classmethod
    def from_settings(cls, settings: dict[str, Any], root: Path) -> LocalTraining:
        gpus = int(settings["gpus"])
        if gpus:
            found = visible_gpus()
            if found < gpus:
                raise UserError(
                    f'training "local" needs {gpus} GPU(s), this machine has {found}',
                    "No NVIDIA GPU is visible (nvidia-smi -L lists none and "
                    "/proc/driver/nvidia/gpus is absent or short). Set gpus = 0 in the stack's "
                    'training "local" block to train on the CPU, or apply on a machine with '
                    "GPUs.",
                )
        return cls(dict(settings["env"]), settings["timeout"], gpus)

    def start(self, parallelism: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max(1, parallelism))

    def submit(self, task: StepTask) -> Future[StepResult]:
        """Start the step's process now, in the calling thread; a pool thread awaits it.

        The orchestrator forks its workers from this same thread: a fork while another thread
        is inside Popen would hand its exec-status pipe to the fork, and Popen would wait on
        it forever.
        """
        if self._pool is None:
            raise RuntimeError("training executor not started")
        started = time.perf_counter()
        folder = Path(tempfile.mkdtemp(prefix="zenctl-training-"))
        # The task holds the step's params and secrets: it goes through a pipe, never a file.
        reader, writer = os.pipe()
        Path(task.log_path).parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(task.log_path, "ab") as log:
                process = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "zenctl_local.training_worker",
                        str(reader),
                        folder / "result.pickle",
                        str(os.getpid()),  # it dies with zenctl
                    ],
                    env=self._environment(task),
                    cwd=task.root,
                    stdin=subprocess.DEVNULL,
                    stdout=log,  # what the interpreter prints before the step's own log
                    stderr=log,
                    pass_fds=(reader,),
                    start_new_session=True,  # its own group: a timeout kills its children too
                )
        except BaseException:
            os.close(writer)
            raise
        finally:
            os.close(reader)
        self._running[process.pid] = process
        # A task larger than the pipe's buffer waits here for the process to read it. One that
        # died first fails the step with its exit code (`_wait`).
        with contextlib.suppress(OSError), open(writer, "wb") as pipe:
            pipe.write(pickle.dumps(task))
        return self._pool.submit(self._wait, task, process, folder, started)

    def _environment(self, task: StepTask) -> dict[str, str]:
        # gpus = 0 hides every GPU: CPU training, whatever the machine has; a step's own
        # `resources { gpus = N }` wins: the devices zenctl gave it (task.environment)
        devices = ",".join(str(index) for index in range(self.gpus))
        return {**os.environ, **self.env, "CUDA_VISIBLE_DEVICES": devices, **task.environment}

    def _wait(
        self, task: StepTask, process: subprocess.Popen[bytes], folder: Path, started: float
    ) -> StepResult:
        result_file = folder / "result.pickle"
        try:
            try:
                process.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                _kill_group(process)
                error = (
                    f"timed out after {self.timeout:g}s (training timeout); the process was stopped"
                )
                return StepResult(task.address, False, {}, error, time.perf_counter() - started)
            if process.returncode != 0 or not result_file.exists():
                error = cause_of_death(process.returncode, "the training process")
                return StepResult(task.address, False, {}, error, time.perf_counter() - started)
            result: StepResult = pickle.loads(result_file.read_bytes())
            # The step's duration is what it cost the apply, the process's start-up and imports
            # included: plans estimate from it, and the worker's own figure leaves them out.
            return dataclasses.replace(result, duration=time.perf_counter() - started)
        finally:
            self._running.pop(process.pid, None)
            shutil.rmtree(folder, ignore_errors=True)

    def shutdown(self, cancel: bool) -> None:
        if cancel:
            for process in list(self._running.values()):
                _kill_group(process)
        if self._pool is not None:
            self._pool.shutdown(wait=not cancel, cancel_futures=cancel)
            self._pool = None


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
