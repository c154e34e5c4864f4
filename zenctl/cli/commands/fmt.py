"""`zenctl fmt`: rewrite, check (`--check`, exit 3) or diff `*.zc.hcl` files, as `terraform fmt`.

Exit 3 for "not formatted" is Terraform's: a pre-commit hook or CI step can tell "files would
change" from an error (1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zenctl.cli.context import invocation
from zenctl.cli.options import Chdir

NOT_FORMATTED_EXIT = 3


def fmt(
    ctx: typer.Context,
    targets: Annotated[
        list[Path] | None,
        typer.Argument(help="Files or folders to format (default: the project folder)."),
    ] = None,
    chdir: Chdir = None,
    check: Annotated[
        bool,
        typer.Option("--check", "-check", help="Write nothing; list unformatted files and exit 3."),
    ] = False,
    diff: Annotated[
        bool, typer.Option("--diff", "-diff", help="Show each change as a unified diff.")
    ] = False,
    recursive: Annotated[
        bool, typer.Option("--recursive", "-recursive", help="Also format subfolders.")
    ] = False,
) -> None:
    """Rewrite `*.zc.hcl` files in canonical style, comments kept; list the files changed.

    Example: `zenctl fmt`, `zenctl fmt --check --diff --recursive` (in CI or pre-commit)
    """
    from zenctl.config.loader import CONFIG_GLOB
    from zenctl.diagnostics import Diagnostic, DiagnosticsError, Position, SourceRange
    from zenctl.fmt import FormatError, format_paths
    from zenctl.render.diagnostics import display_path

    root = invocation(ctx).project_root(chdir)
    paths: list[Path] = []
    for target in targets or [root]:
        target = root / target
        if target.is_dir():
            pattern = f"**/{CONFIG_GLOB}" if recursive else CONFIG_GLOB
            paths.extend(sorted(p for p in target.glob(pattern) if not _hidden(p, target)))
        elif target.is_file():
            paths.append(target)
        else:
            raise DiagnosticsError([Diagnostic("error", "No such file or folder", str(target))])
    try:
        results = format_paths(paths)
    except FormatError as exc:
        where = Position(exc.line, exc.column)
        raise DiagnosticsError(
            [
                Diagnostic(
                    "error",
                    "Invalid HCL: cannot format",
                    f"{exc.message}. Nothing was rewritten; fix the syntax, then run fmt again.",
                    SourceRange(str(exc.path), where, where),
                )
            ]
        ) from None
    changed = [result for result in results if result.changed]
    for result in changed:
        typer.echo(display_path(str(result.path), root))
        if diff:
            typer.echo(result.unified_diff(), nl=False)
        if not check:
            result.path.write_text(result.formatted)
    if check and changed:
        raise typer.Exit(NOT_FORMATTED_EXIT)


def _hidden(path: Path, base: Path) -> bool:
    """Under `.zenctl/`, `.git/`, `.venv/` and the like: never the user's configuration."""
    return any(part.startswith(".") for part in path.relative_to(base).parts[:-1])
