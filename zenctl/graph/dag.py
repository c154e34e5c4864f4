"""Order a pipeline's steps by their references, and report cycles with their path."""

from __future__ import annotations

import graphlib
from dataclasses import dataclass

from zenctl.config.model import Pipeline
from zenctl.diagnostics import Diagnostic, DiagnosticsError


@dataclass(frozen=True, slots=True)
class StepGraph:
    pipeline: Pipeline
    order: tuple[str, ...]  # topological; ties keep declaration order, so plans are stable
    upstream: dict[str, tuple[str, ...]]

    def dependents(self, steps: set[str]) -> set[str]:
        """`steps` and every step that (transitively) consumes their outputs, for leaving a
        part of a pipeline out."""
        found = set(steps)
        for name in self.order:  # topological: a step's parents come before it
            if any(parent in found for parent in self.upstream[name]):
                found.add(name)
        return found

    def closure(self, steps: set[str]) -> set[str]:
        """`steps` and everything they need, for running a part of a pipeline."""
        needed = set(steps)
        frontier = list(steps)
        while frontier:
            for parent in self.upstream[frontier.pop()]:
                if parent not in needed:
                    needed.add(parent)
                    frontier.append(parent)
        return needed


def build_graph(pipeline: Pipeline) -> StepGraph:
    upstream = {
        name: tuple(dict.fromkeys(step.upstream_steps())) for name, step in pipeline.steps.items()
    }
    sorter = graphlib.TopologicalSorter(upstream)
    try:
        order = tuple(sorter.static_order())
    except graphlib.CycleError as exc:
        loop: list[str] = exc.args[1][:-1]  # each step feeds the next; the last closes it
        declared = list(pipeline.steps)
        start = min(range(len(loop)), key=lambda i: declared.index(loop[i]))
        cycle = loop[start:] + loop[:start] + [loop[start]]
        first = pipeline.steps[cycle[0]]
        path = " → ".join(f"step.{name}" for name in cycle)
        raise DiagnosticsError(
            [
                Diagnostic(
                    "error",
                    "Cycle in step dependencies",
                    f"The steps depend on each other in a loop: {path}. A step can only "
                    "consume outputs of steps that do not, directly or not, consume its own.",
                    first.range,
                    f'in pipeline "{pipeline.name}"',
                )
            ]
        ) from None
    return StepGraph(pipeline, order, upstream)
