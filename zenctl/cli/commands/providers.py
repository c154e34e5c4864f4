"""`zenctl providers`: what is installed, and the config schema of every component type."""

from __future__ import annotations

from typing import Any

import typer

from zenctl.cli.options import Json, print_json

providers_app = typer.Typer(
    help="List installed providers and their component types; print their config schemas.",
    invoke_without_command=True,
    add_completion=False,
    rich_markup_mode=None,
)


@providers_app.callback()
def providers(ctx: typer.Context, json_: Json = False) -> None:
    """List installed providers: name, version, component kinds and types; then the
    materializers that store step outputs (--json: specs/providers.schema.json).

    Example: `zenctl providers`, `zenctl providers --json`
    """
    if ctx.invoked_subcommand is not None:
        return
    from zenctl.artifacts.materializers import listing
    from zenctl.providers.registry import installed_providers

    found = sorted(installed_providers().values(), key=lambda p: p.name)
    materializers = listing()
    if json_:
        from zenctl.render.documents import providers_document

        print_json(providers_document(found, materializers))
        return
    if not found:
        typer.echo("No providers installed. The built-in ones: pip install ./providers/local")
    for provider in found:
        typer.echo(f"{provider.name} {provider.version}")
        width = max((len(f'{c.kind} "{c.type}"') for c in provider.components), default=0)
        for component in provider.components:
            label = f'{component.kind} "{component.type}"'
            typer.echo(f"  {label.ljust(width)}  {component.description}".rstrip())
    typer.echo("materializers (docs/artifacts.md#materializers)")
    width = max(len(item["name"]) for item in materializers)
    for item in materializers:
        stores = item.get("error") or ", ".join(item["types"])
        typer.echo(f"  {item['name'].ljust(width)}  {stores}  [{item['distribution']}]")


@providers_app.command()
def schema(json_: Json = False) -> None:
    """Print the JSON Schema of every component type's settings (for editors and CI; --json:
    specs/providers-schema.schema.json).

    Example: `zenctl providers schema --json`
    """
    document = schemas()
    if json_:
        print_json(document)
        return
    for name, provider in document["providers"].items():
        for kind, types in provider["components"].items():
            for type_, entry in types.items():
                typer.echo(f'{name} {provider["version"]}: {kind} "{type_}"')
                for field, spec in entry["schema"].get("properties", {}).items():
                    typer.echo(f"  {field}: {spec.get('description', '')}".rstrip())


def schemas() -> dict[str, Any]:
    """`{providers: {name: {version, components: {kind: {type: {description, schema}}}}}}`."""
    from zenctl.providers.registry import installed_providers, schema_of
    from zenctl.render.documents import document

    out: dict[str, Any] = {}
    for provider in sorted(installed_providers().values(), key=lambda p: p.name):
        components: dict[str, dict[str, Any]] = {}
        for component in provider.components:
            components.setdefault(component.kind, {})[component.type] = {
                "description": component.description,
                "schema": schema_of(component).model_json_schema(),
            }
        out[provider.name] = {"version": provider.version, "components": components}
    return document(providers=out)
