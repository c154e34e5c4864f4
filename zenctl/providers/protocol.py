"""What a provider plugin implements: the seams between the core and the outside world.

A provider is a distribution registering a `Provider` under the entry-point group
`zenctl.providers`. The core never imports a provider by name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zenctl.apply.task import StepResult, StepTask


class Integrity(StrEnum):
    """The state of a stored object against what the metadata store recorded of it."""

    OK = "ok"
    MISSING = "artifact missing"
    CORRUPT = "artifact corrupt"


@dataclass(frozen=True, slots=True)
class StoredItem:
    """One thing `gc` may remove: an object, a source snapshot or a leftover temporary.

    `digest` is the content hash an object or snapshot is stored under; None for leftovers
    (temporaries of a killed apply, quarantined corrupt objects) that nothing can reference.
    """

    kind: str  # "object", "snapshot", "temporary" or "corrupt"
    key: str  # what `remove` takes back
    digest: str | None
    size: int
    modified: float  # seconds since the epoch


class ArtifactStore(ABC):
    """Content-addressed storage of artifact bytes, source snapshots and step logs.

    `put` must publish atomically: a reader never sees part of an object. `get` returns the
    bytes as stored; the core verifies their hash before anything uses them.
    """

    @abstractmethod
    def put(self, digest: str, data: bytes) -> str:
        """Store `data` under its content hash `digest`; return its URI."""

    @abstractmethod
    def get(self, digest: str) -> bytes: ...

    @abstractmethod
    def snapshot(self, source: Path, digest: str) -> Path:
        """A copy of a source file or folder for the step to read, checked against `digest`."""

    @abstractmethod
    def log_path(self, run_id: str, address: str) -> tuple[Path, str]:
        """Where a step's log is streamed while it runs (a local path) and its URI."""

    def log_finished(self, path: Path) -> None:  # noqa: B027 (optional hook, no-op by default)
        """Called where the step ran once its log at `path` is complete.

        A store whose `log_path` is a local stand-in (a bucket's) uploads the log here.
        """

    @abstractmethod
    def check(self, expected: Mapping[str, int]) -> dict[str, Integrity]:
        """Whether each object (digest -> recorded size) is present and intact.

        Called by every plan on every cached output, so it must not read an object that has
        not changed since it was last verified (see specs/caching.md).
        """

    @abstractmethod
    def quarantine(self, digest: str) -> None:
        """Set aside an object whose bytes do not match its hash: never served again, kept
        for inspection, reported CORRUPT by `check` until a good copy is stored."""

    @abstractmethod
    def items(self) -> Iterator[StoredItem]:
        """Everything stored except logs, for `gc`."""

    @abstractmethod
    def remove(self, items: Sequence[StoredItem]) -> None:
        """Delete what `items` listed, in one batch where the store can."""


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
        """Stop; with `cancel`, stop steps in flight too (Ctrl-C).

        Also called when `start` failed or was not reached (another executor's failed).
        """


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
