"""The dependency graph of a pipeline's steps (the second stage)."""

from zenctl.graph.dag import StepGraph, build_graph

__all__ = ["StepGraph", "build_graph"]
