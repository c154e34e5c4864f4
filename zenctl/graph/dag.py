"""A pipeline's steps as a graph, in the order their references give (`step_order`, which
reports a loop with its path when the configuration is read)."""

from __future__ import annotations

from dataclasses import dataclass

from zenctl.config.model import Pipeline
from zenctl.config.ordering import step_order


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
    order, upstream = step_order(pipeline)
    return StepGraph(pipeline, order, upstream)
