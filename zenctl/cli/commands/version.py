"""`zenctl version`: zenctl's version and the installed providers."""

from __future__ import annotations

import typer

from zenctl import __version__


def version() -> None:
    """Print zenctl's version and the installed providers."""
    from zenctl.providers.registry import installed_providers

    typer.echo(f"zenctl {__version__}")
    for provider in sorted(installed_providers().values(), key=lambda p: p.name):
        kinds = ", ".join(f'{c.kind} "{c.type}"' for c in provider.components)
        typer.echo(f"provider {provider.name} {provider.version}: {kinds}")
