"""`zenctl graph`: the pipelines' step graph, as text or as Mermaid / DOT for docs."""

from __future__ import annotations

from typing import Annotated

import typer

from zenctl.cli.context import invocation
from zenctl.cli.options import Chdir, Json, print_json
from zenctl.diagnostics import UserError


def graph(
    ctx: typer.Context,
    chdir: Chdir = None,
    format: Annotated[
        str, typer.Option("--format", "-format", help="text, mermaid or dot.")
    ] = "text",
    json_: Json = False,
) -> None:
    """Print the pipelines' step graph, as text or as Mermaid / DOT for docs.

    Example: `zenctl graph --format mermaid`, `zenctl graph --json`
    """
    from zenctl.graph import build_graph
    from zenctl.render.graph import FORMATS, graph_document

    if format not in FORMATS:
        raise UserError(
            "Unknown graph format", f"Choose one of {', '.join(FORMATS)}, not {format!r}."
        )
    project = invocation(ctx).load(chdir, evaluates=False)
    graphs = [
        build_graph(project.config.pipelines[name]) for name in sorted(project.config.pipelines)
    ]
    if json_:
        print_json(graph_document(graphs))
        return
    typer.echo(FORMATS[format](graphs))
