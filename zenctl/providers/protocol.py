"""What a provider plugin implements: the seams between the core and the outside world.

A provider is a distribution registering a `Provider` under the entry-point group
`zenctl.providers`. The core never imports a provider by name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zenctl.apply.task import StepResult, StepTask


class ArtifactStore(ABC):
    """Content-addressed storage of artifact bytes, source snapshots and step logs.

    `put` must publish atomically: a reader never sees part of an object.
    """

    @abstractmethod
    def put(self, digest: str, data: bytes) -> str:
        """Store `data` under its content hash `digest`; return its URI."""

    @abstractmethod
    def get(self, digest: str) -> bytes: ...

    @abstractmethod
    def exists(self, digest: str) -> bool: ...

    @abstractmethod
    def snapshot(self, source: Path, digest: str) -> Path:
        """A copy of a source file or folder for the step to read, checked against `digest`."""

    @abstractmethod
    def log_path(self, run_id: str, address: str) -> tuple[Path, str]:
        """Where a step's log is streamed while it runs (a local path) and its URI."""


class StepExecutor(ABC):
    """Runs step tasks, possibly in parallel, and hands back futures of their results.

    A stack's `orchestrator` runs every step; a `processing` or `training` component that
    implements this runs the steps marked `on = "processing"` / `on = "training"` instead.
    """

    @abstractmethod
    def start(self, parallelism: int) -> None: ...

    @abstractmethod
    def submit(self, task: StepTask) -> Future[StepResult]: ...

    @abstractmethod
    def shutdown(self, cancel: bool) -> None:
        """Stop; with `cancel`, stop steps in flight too (Ctrl-C)."""


class Orchestrator(StepExecutor):
    """The stack's default executor: the steps that name no other component run here."""


@dataclass(frozen=True, slots=True)
class ComponentType:
    """One component a provider offers, e.g. kind "artifact_store", type "local"."""

    kind: str
    type: str
    factory: Callable[[dict[str, Any], Path], Any]  # (settings, project root) -> instance
    description: str = ""


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    version: str
    components: tuple[ComponentType, ...] = field(default=())
