"""Find installed providers through the `zenctl.providers` entry-point group."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from zenctl.config.model import ProviderRequirement
from zenctl.diagnostics import Diagnostic, UserError
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


def offered_kinds() -> set[str]:
    """Every component kind some installed provider offers (providers may add kinds)."""
    return {c.kind for provider in installed_providers().values() for c in provider.components}


def provider_of(component: ComponentType) -> Provider:
    return next(p for p in installed_providers().values() if component in p.components)


def build_component(kind: str, type_: str, settings: dict[str, Any], root: Path) -> Any:
    """The live component, its settings validated (defaults filled) by the provider's schema."""
    component = component_type(kind, type_)
    if component.schema is not None:
        from pydantic import ValidationError

        try:
            settings = component.schema.model_validate(settings).model_dump()
        except ValidationError as exc:  # a variable's value: HCL literals were checked already
            problems = "; ".join(
                f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
                for error in exc.errors()
            )
            raise UserError(f'Invalid settings for {kind} "{type_}"', problems + ".") from None
    return component.factory(settings, root)


def check_required(requirements: Iterable[ProviderRequirement]) -> list[Diagnostic]:
    """A diagnostic for each `required_providers` entry the installation does not satisfy."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    problems: list[Diagnostic] = []
    installed = installed_providers()
    for need in requirements:
        try:
            specifier = SpecifierSet(need.constraint)
        except InvalidSpecifier:
            summary = "Invalid version constraint"
            detail = (
                f'"{need.constraint}" is not a version constraint; write one such as ">= 0.1" '
                'or ">= 0.1, < 0.2".'
            )
        else:
            provider = installed.get(need.name)
            if provider is None:
                summary = f'Required provider "{need.name}" is not installed'
                detail = (
                    f"Installed providers: {', '.join(sorted(installed)) or 'none'}. Install the "
                    f'distribution that provides "{need.name}", or remove it from '
                    "required_providers."
                )
            elif not specifier.contains(provider.version, prereleases=True):
                summary = (
                    f'Provider "{need.name}" {provider.version} does not satisfy '
                    f'"{need.constraint}"'
                )
                detail = (
                    f"The configuration requires {need.name} {need.constraint}, but "
                    f"{provider.version} is installed. Install a matching version, or relax "
                    "the constraint."
                )
            else:
                continue
        problems.append(Diagnostic("error", summary, detail, need.range))
    return problems
