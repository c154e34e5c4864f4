"""The step graph as text, Mermaid, Graphviz DOT or a JSON document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zenctl.graph import StepGraph
from zenctl.render.documents import document


def as_text(graphs: list[StepGraph]) -> str:
    lines: list[str] = []
    for graph in graphs:
        lines.append(f'pipeline "{graph.pipeline.name}" (stack {graph.pipeline.stack})')
        width = max((len(name) for name in graph.order), default=0)
        for name in graph.order:
            step = graph.pipeline.steps[name]
            needs = [
                str(ref) if ref.kind == "source" else f"step.{ref.parts[1]}"
                for ref in step.inputs.values()
            ]
            arrow = f"  <- {', '.join(dict.fromkeys(needs))}" if needs else ""
            lines.append(f"  step.{name.ljust(width)}{arrow}".rstrip())
    return "\n".join(lines)


def as_mermaid(graphs: list[StepGraph]) -> str:
    lines = ["flowchart TD"]
    for graph in graphs:
        prefix = graph.pipeline.name
        lines.append(f"  subgraph {prefix}[pipeline {prefix}]")
        for name in graph.order:
            lines.append(f"    {prefix}_{name}[{name}]")
        for source in graph.pipeline.sources:
            lines.append(f"    {prefix}_source_{source}[({source})]")
        for name in graph.order:
            step = graph.pipeline.steps[name]
            for ref in step.inputs.values():
                origin = f"source_{ref.parts[1]}" if ref.kind == "source" else ref.parts[1]
                label = f"|{ref.parts[3]}|" if ref.kind == "step" else ""
                lines.append(f"    {prefix}_{origin} -->{label} {prefix}_{name}")
        lines.append("  end")
    return "\n".join(lines)


def as_dot(graphs: list[StepGraph]) -> str:
    lines = ["digraph zenctl {", "  rankdir=LR;"]
    for graph in graphs:
        prefix = graph.pipeline.name
        lines.append(f'  subgraph "cluster_{prefix}" {{ label="pipeline {prefix}";')
        for source in graph.pipeline.sources:
            lines.append(f'    "{prefix}.source.{source}" [shape=cylinder, label="{source}"];')
        for name in graph.order:
            lines.append(f'    "{prefix}.step.{name}" [shape=box, label="{name}"];')
        for name in graph.order:
            for ref in graph.pipeline.steps[name].inputs.values():
                origin = (
                    f"source.{ref.parts[1]}" if ref.kind == "source" else f"step.{ref.parts[1]}"
                )
                lines.append(f'    "{prefix}.{origin}" -> "{prefix}.step.{name}";')
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines)


FORMATS: dict[str, Callable[[list[StepGraph]], str]] = {
    "text": as_text,
    "mermaid": as_mermaid,
    "dot": as_dot,
}


def graph_document(graphs: list[StepGraph]) -> dict[str, Any]:
    """`zenctl graph --json`: each pipeline's steps in run order, with what each reads (a
    source or another step's output, by input name)."""
    return document(
        pipelines=[
            {
                "name": graph.pipeline.name,
                "stack": graph.pipeline.stack,
                "steps": [
                    {
                        "address": graph.pipeline.address(name),
                        "run": graph.pipeline.steps[name].run,
                        "upstream": [graph.pipeline.address(up) for up in graph.upstream[name]],
                        "inputs": {
                            key: str(ref) for key, ref in graph.pipeline.steps[name].inputs.items()
                        },
                    }
                    for name in graph.order
                ],
            }
            for graph in graphs
        ]
    )
