"""`zenctl validate`: check the configuration and the steps' functions; touches no state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from zenctl.cli.context import invocation
from zenctl.cli.options import Chdir, Json, VarFiles, Vars
from zenctl.diagnostics import DiagnosticsError, UserError


def validate(
    ctx: typer.Context,
    chdir: Chdir = None,
    var: Vars = None,
    var_file: VarFiles = None,
    json_: Json = False,
) -> None:
    """Check the configuration: syntax, references, types, cycles, and that each step's
    function exists and takes its params and inputs. Touches no state.

    Example: `zenctl validate`, `zenctl validate --json` (for editors and CI annotations)
    """
    from zenctl.config.signatures import check_steps

    call = invocation(ctx)
    found: tuple[Any, ...] = ()
    try:
        project = call.load(chdir, var, var_file)
        problems = check_steps(project.root, list(project.config.pipelines.values()))
        if problems:
            raise DiagnosticsError(problems)
    except (DiagnosticsError, UserError) as exc:
        if not json_:
            raise
        found = exc.diagnostics if isinstance(exc, DiagnosticsError) else (exc.diagnostic,)
    if json_:
        import json

        from zenctl.render.diagnostics import validate_document

        document = validate_document(found, call.root or Path.cwd())
        typer.echo(json.dumps(document, indent=2))
        if not document["valid"]:
            raise typer.Exit(1)
        return
    call.stdout.print("[green]Success![/] The configuration is valid.")
