"""`zenctl version`: zenctl's version and the installed providers."""

from __future__ import annotations

import typer

from zenctl import __version__
from zenctl.cli.options import Json, print_json


def version(json_: Json = False) -> None:
    """Print zenctl's version and the installed providers (--json:
    specs/version.schema.json).

    Example: `zenctl version`, `zenctl version --json`
    """
    from zenctl.providers.registry import installed_providers

    found = sorted(installed_providers().values(), key=lambda p: p.name)
    if json_:
        from zenctl.render.documents import version_document

        print_json(version_document(found))
        return
    typer.echo(f"zenctl {__version__}")
    for provider in found:
        kinds = ", ".join(f'{c.kind} "{c.type}"' for c in provider.components)
        typer.echo(f"provider {provider.name} {provider.version}: {kinds}")
