"""The order a pipeline's step references give, each step after those whose outputs it reads;
a loop among them is a configuration error, reported when the configuration is read.

Kept light (no pydantic, no python-hcl2): the graph stage orders steps with it on every plan.
"""

from __future__ import annotations

import graphlib

from zenctl.config.model import Pipeline
from zenctl.diagnostics import Diagnostic, DiagnosticsError


def step_order(pipeline: Pipeline) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    """(the steps in an order that runs each after those whose outputs it reads, the steps
    each one reads from); DiagnosticsError naming the loop when the references form one."""
    upstream = {
        name: tuple(dict.fromkeys(step.upstream_steps())) for name, step in pipeline.steps.items()
    }
    sorter = graphlib.TopologicalSorter(upstream)
    try:
        return tuple(sorter.static_order()), upstream
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
