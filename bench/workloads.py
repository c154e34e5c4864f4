"""Tool-neutral descriptions of the benchmark workloads.

A workload is only a graph of steps plus their parameters; each tool (see ``tools.py``) renders
the same description into its own project files. Keeping the graph in one place guarantees that
zenctl, DVC and ZenML run exactly the same pipeline, which is what makes the ratios meaningful.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum


class Func(Enum):
    """What a step does when it runs; every tool ships one implementation of each."""

    LINK = "step"  # (prev or 0) + i * k: the trivial chain/fan step
    GATHER = "gather"  # sum of all upstream values + i * k: the fan-in step
    NAP = "nap"  # time.sleep(1): makes parallelism visible in wall time
    MEASURE = "measure"  # reads nothing but depends on the big source: exercises hashing


@dataclass(frozen=True)
class Step:
    """One step: its name, the steps it reads from, and its two integer params."""

    name: str
    index: int
    func: Func
    upstreams: tuple[str, ...] = ()
    k: int = 1
    reads_source: bool = False


@dataclass(frozen=True)
class Workload:
    """A named graph of steps; ``source_bytes`` is set only for the big-file workload."""

    shape: str
    n: int
    steps: tuple[Step, ...]
    source_bytes: int | None = None

    @property
    def label(self) -> str:
        """Short human name used in table rows, e.g. ``chain-100``."""
        return f"{self.shape}-{self.n}"

    def dirname(self, tool: str) -> str:
        """Folder name under ``bench/.work`` as the brief fixes it: ``<tool>-<shape>-<n>``."""
        return f"{tool}-{self.shape}-{self.n}"

    @property
    def middle(self) -> Step:
        """The step whose param we change: in the middle so half a chain is invalidated."""
        return self.steps[len(self.steps) // 2]

    def with_k(self, step_name: str, k: int) -> Workload:
        """Return a copy with one step's ``k`` changed (the "edit one param" scenario)."""
        steps = tuple(dataclasses.replace(s, k=k) if s.name == step_name else s for s in self.steps)
        return dataclasses.replace(self, steps=steps)


def chain(n: int) -> Workload:
    """N steps in a line: the longest critical path, so per-step overhead dominates."""
    steps = tuple(Step(f"s{i}", i, Func.LINK, (f"s{i - 1}",) if i else ()) for i in range(n))
    return Workload("chain", n, steps)


def fan(n: int) -> Workload:
    """One root, N-2 independent middles, one final step reading all: wide graphs, big joins."""
    if n < 3:
        raise ValueError("the fan shape needs at least 3 steps")
    middles = tuple(Step(f"s{i}", i, Func.LINK, ("s0",)) for i in range(1, n - 1))
    last = Step(f"s{n - 1}", n - 1, Func.GATHER, tuple(s.name for s in middles))
    return Workload("fan", n, (Step("s0", 0, Func.LINK), *middles, last))


def sleepers(n: int) -> Workload:
    """N independent one-second steps: wall time reveals how many ran at once."""
    return Workload("sleep", n, tuple(Step(f"s{i}", i, Func.NAP) for i in range(n)))


def big_source(size_mb: int) -> Workload:
    """A single step depending on a ``size_mb`` MiB file: planning it is dominated by hashing."""
    step = Step("s0", 0, Func.MEASURE, reads_source=True)
    return Workload("big", size_mb, (step,), source_bytes=size_mb * 1024 * 1024)
