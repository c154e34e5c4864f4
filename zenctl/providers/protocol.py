"""What a provider plugin implements: the seams between the core and the outside world.

A provider is a distribution registering a `Provider` under the entry-point group
`zenctl.providers`. The core never imports a provider by name; providers import these
names from `zenctl.sdk`, never from here.
"""

from __future__ import annotations

import builtins
import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar

from zenctl.providers.hashing import write_hashed

if TYPE_CHECKING:
    from concurrent.futures import Future  # a warm plan need not import the module

    from pydantic import BaseModel


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


@dataclass(frozen=True, slots=True)
class StoredObject:
    """What `ArtifactStore.put_stream` stored: the hash of the bytes written, their size, and
    the URI the state records."""

    digest: str
    size: int
    uri: str


class ArtifactStore(ABC):
    """Content-addressed storage of artifact bytes, source snapshots and step logs.

    Artifacts move as streams, never whole in memory: the core writes a step's output with
    `put_stream` (hashed while it is written) and reads an input from `local_path` (a local
    store) or through `get_file` into the user's artifact cache (a remote one). `put` and
    `get` of `bytes` remain for small objects (a directory's manifest).

    Every `put*` must publish atomically and durably: a reader never sees part of an object,
    and once it returns, the object survives a power cut (the core records it only then:
    docs/integrity.md). The core verifies an object's hash before anything uses it.
    """

    # True when `get` downloads (a bucket): the core then keeps a verified copy of each object
    # it reads in the user's artifact cache and reads it from there (zenctl/artifacts/cache.py)
    remote: ClassVar[bool] = False

    @abstractmethod
    def put(self, digest: str, data: bytes) -> str:
        """Store `data` under its content hash `digest`; return its URI."""

    def put_file(self, digest: str, path: Path) -> str:
        """Store the file at `path` under its content hash `digest`; return its URI.

        A step's returned file or directory arrives here one file at a time. By default the
        file is read whole and `put`; a store that can stream (a local folder) overrides it.
        """
        return self.put(digest, path.read_bytes())

    def take_file(self, digest: str, path: Path) -> str:
        """`put_file` of a file that nothing holds open for writing and nothing else names (a
        step's output in its temporary folder, renamed out of the step's reach): the store
        may rename it into place instead of copying it. By default, `put_file`. The caller
        removes whatever is left at `path`."""
        return self.put_file(digest, path)

    def put_stream(self, write: Callable[[BinaryIO], object]) -> StoredObject:
        """Store what `write` writes to the binary stream it is handed, under the hash of
        those bytes, computed while they are written (one pass over the data).

        By default the bytes go to a temporary file in `staging_folder()`, then `put_file`;
        a local folder overrides it to rename that file into place instead of copying it.
        """
        folder = self.staging_folder()
        handle, name = tempfile.mkstemp(dir=folder, prefix=".tmp-")
        temporary = Path(name)
        try:
            with os.fdopen(handle, "wb") as file:
                written = write_hashed(file, write)
            return StoredObject(written[0], written[1], self.put_file(written[0], temporary))
        finally:
            temporary.unlink(missing_ok=True)

    def staging_folder(self) -> Path | None:
        """Where `put_stream` writes before publishing; None: the system's temporary folder."""
        return None

    @abstractmethod
    def get(self, digest: str) -> bytes: ...

    def local_path(self, digest: str) -> Path | None:
        """The object's file, when the store keeps it on this machine's disk: the core then
        verifies it and reads it in place (memory-mapped where the format allows). None (the
        default): the object is fetched with `get_file` into the user's artifact cache."""
        return None

    def get_file(self, digest: str, target: Path) -> None:
        """Write the stored bytes of `digest` to the file `target` (FileNotFoundError when
        absent). By default through `get`; a store that can copy without holding the bytes
        (a local folder) overrides it. The core verifies the file's hash afterwards."""
        target.write_bytes(self.get(digest))

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


@dataclass(frozen=True, slots=True)
class StepInput:
    kind: str  # "artifact" or "source"
    hash: str
    materializer: str = ""
    path: str = ""  # sources: the path in the project


@dataclass(frozen=True, slots=True)
class StepTask:
    """One step for an executor to run: plain, picklable data (it may cross to a worker
    process or another machine, where `execute_step` runs it)."""

    address: str
    run: str
    code: dict[str, str]  # the plan's {file: normalised hash} of the code `run` reaches
    root: str
    params: dict[str, Any] = field(repr=False)  # secrets revealed: kept out of any message
    inputs: dict[str, StepInput]
    outputs: tuple[str, ...]
    artifact_store: tuple[str, dict[str, Any]]  # (type, settings): rebuilt in the worker
    log_path: str
    # The text of every secret the step could print: masked in its log and error. Sent with
    # the task, so that a worker process or machine writes no secret down to learn them.
    secrets: tuple[str, ...] = field(default=(), repr=False)
    metrics: tuple[str, ...] = ()  # the outputs to record as metrics: each a flat mapping
    # Set in the step's process while it runs: its own GPUs, CUDA_VISIBLE_DEVICES="3", when
    # it asked for some (zenctl/apply/slots.py). A process that ran a step with one runs no
    # other: CUDA reads the variable once, when it starts.
    environment: dict[str, str] = field(default_factory=dict)
    # what it asked for (`resources`: gpus, memory in bytes, cpus), for an executor that
    # places steps itself (a cluster's scheduler)
    resources: dict[str, int | float] = field(default_factory=dict)
    # output -> the materializer named for it (a registered name or "module:Class")
    materializers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StepResult:
    address: str
    ok: bool
    outputs: dict[str, dict[str, Any]]
    error: str
    duration: float  # as the executor measured it; apply records the wall time around it
    details: dict[str, str] = field(default_factory=dict)  # e.g. a remote job's ID and URL
    # each metrics output's mapping, checked flat and JSON-able where the step ran
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)


class StepLost(Exception):
    """What ended a step outside its own code (its worker killed by a signal, its cluster
    lost): an executor fails the step's future with it, in words meant for the user."""


# (task, artifact store, details to fill in) -> the step's value, before naming its outputs.
# `details` stays recorded when the body then raises: a failed remote job keeps its ID.
StepBody = Callable[[StepTask, ArtifactStore, dict[str, str]], Any]


class StepExecutor(ABC):
    """Runs step tasks, possibly in parallel, and hands back futures of their results.

    A stack's `orchestrator` runs every step; a `processing` or `training` component that
    implements this runs the steps marked `on = "processing"` / `on = "training"` instead.
    """

    @abstractmethod
    def start(self, parallelism: int) -> None: ...

    @abstractmethod
    def submit(self, task: StepTask) -> Future[StepResult]:
        """Start the step, or queue it. A step that ends outside its own code (its worker
        killed, its cluster lost) fails its future with StepLost, which says why."""

    def refill(self) -> None:  # noqa: B027 (optional hook, no-op by default)
        """Called in the thread that submits, after steps end. An executor that may start
        workers only from that thread (a fork) replaces the ones it lost here."""

    @abstractmethod
    def shutdown(self, cancel: bool) -> None:
        """Stop; with `cancel`, stop steps in flight too (Ctrl-C).

        Also called when `start` failed or was not reached (another executor's failed).
        """


class Orchestrator(StepExecutor):
    """The stack's default executor: the steps that name no other component run here."""


Attributes = dict[str, Any]  # JSON-able values only: they are recorded in the metadata store


@dataclass(frozen=True, slots=True)
class ResourceContext:
    """What a resource operation may use besides its attributes."""

    root: Path  # the project folder
    workspace: str  # resources of different workspaces never share anything
    address: str  # e.g. "pipeline.iris.deployment.iris": unique in the workspace
    # an artifact's materializer name and bytes, by hash (a deployment's model)
    artifact: Callable[[str], tuple[str, bytes]] | None = None


class Resource(ABC):
    """Something real that zenctl owns: created, read back, updated, destroyed.

    `desired` holds the configured attributes (a step output given as `model` arrives as its
    artifact hash); the returned state is what `read` later compares against: never secrets.
    """

    replace_on: ClassVar[frozenset[str]] = frozenset()  # attributes that cannot change in place

    @abstractmethod
    def read(self, state: Attributes, context: ResourceContext) -> Attributes | None:
        """The real state now, or None when the thing is gone (refresh)."""

    @abstractmethod
    def create(self, desired: Attributes, context: ResourceContext) -> Attributes:
        """Make it; return its state."""

    def update(
        self, state: Attributes, desired: Attributes, context: ResourceContext
    ) -> Attributes:
        """Change it in place; return its new state. By default: destroy, then create."""
        self.destroy(state, context)
        return self.create(desired, context)

    @abstractmethod
    def destroy(self, state: Attributes, context: ResourceContext) -> None:
        """Remove it; must succeed when it is already gone."""

    def plan(self, recorded: Attributes, desired: Attributes) -> tuple[list[str], list[str]]:
        """`(changed attributes, those among them that force a replacement)`.

        Override when equality is not the right test (a path spelled two ways, say).
        """
        changed = sorted(
            key
            for key in set(recorded) | set(desired)
            if recorded.get(key, _ABSENT) != desired.get(key, _ABSENT)
        )
        return changed, [key for key in changed if key in self.replace_on]


_ABSENT = object()


@dataclass(frozen=True, slots=True)
class ComponentType:
    """One component a provider offers, e.g. kind "artifact_store", type "local".

    `schema` validates the component's HCL settings (`zenctl validate` points at the offending
    attribute): a pydantic model (best a subclass of `Settings`), or its import path
    "module:Class", imported only when settings need checking (a warm apply then never imports
    pydantic); None: the component takes no settings. `factory` receives the
    settings validated, defaults filled in; as an import path ("module:Class.from_settings")
    it is imported only when the component is built, so loading the provider stays cheap for
    every command that does not use it. A factory that returns a `Resource` makes
    the component a resource: planned, applied and destroyed like a Terraform one. For kind
    "serving", the resource is each `deployment` block that uses it.
    """

    kind: str
    type: str
    factory: Callable[[dict[str, Any], Path], Any] | str  # (settings, project root) -> instance
    description: str = ""
    schema: builtins.type[BaseModel] | str | None = None
    # an executor whose own scheduler places steps by their `resources` (a cluster's): zenctl
    # checks them against the cluster, not against the machine that runs `zenctl apply`
    places_steps: bool = False


@dataclass(frozen=True, slots=True)
class Provider:
    """What a provider's entry point names. `default_stack`, `((kind, type), ...)`, is the
    stack a project that declares none gets: one installed provider may declare it (the
    local provider does); types the core opens itself (metadata_store "sqlite") may be named.
    """

    name: str
    version: str
    components: tuple[ComponentType, ...] = field(default=())
    default_stack: tuple[tuple[str, str], ...] = field(default=())
