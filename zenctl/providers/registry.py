"""Find installed providers through the `zenctl.providers` entry-point group."""

from __future__ import annotations

import functools
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from zenctl.diagnostics import UserError
from zenctl.providers.protocol import ComponentType, Provider

GROUP = "zenctl.providers"


@functools.cache
def installed_providers() -> dict[str, Provider]:
    found: dict[str, Provider] = {}
    for entry in entry_points(group=GROUP):
        try:
            provider = entry.load()
        except Exception as exc:
            raise UserError(
                f'Provider "{entry.name}" failed to load',
                f"Loading {entry.value} raised {type(exc).__name__}: {exc}. Reinstall or "
                "uninstall the distribution that provides it.",
            ) from exc
        if not isinstance(provider, Provider):
            raise UserError(
                f'Provider "{entry.name}" is not a zenctl provider',
                f"The entry point {entry.value} must name a zenctl.providers.protocol.Provider, "
                f"not a {type(provider).__name__}.",
            )
        found[provider.name] = provider
    return found


def component_type(kind: str, type_: str) -> ComponentType:
    for provider in installed_providers().values():
        for component in provider.components:
            if component.kind == kind and component.type == type_:
                return component
    offered = sorted(
        f'{component.kind} "{component.type}"'
        for provider in installed_providers().values()
        for component in provider.components
        if component.kind == kind
    )
    raise UserError(
        f'No installed provider offers {kind} "{type_}"',
        (f"Installed {kind} types: {', '.join(offered)}. " if offered else "")
        + "Install the provider distribution that offers it (the built-in ones: "
        "pip install ./providers/local).",
    )


def build_component(kind: str, type_: str, settings: dict[str, Any], root: Path) -> Any:
    return component_type(kind, type_).factory(settings, root)
