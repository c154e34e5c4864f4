"""Find installed providers through the `zenctl.providers` entry-point group."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zenctl.config.model import Component, ProviderRequirement, is_core
from zenctl.config.variables import evaluate, reveal
from zenctl.diagnostics import Diagnostic, UserError
from zenctl.providers.discovery import provider_entry_points
from zenctl.providers.protocol import ComponentType, Provider

if TYPE_CHECKING:
    from pydantic import BaseModel


@functools.cache
def installed_providers() -> dict[str, Provider]:
    found: dict[str, Provider] = {}
    for name, value in provider_entry_points():
        try:
            provider = _imported(value.split("[")[0].strip())  # "module:attr [extras]"
        except Exception as exc:
            raise UserError(
                f'Provider "{name}" failed to load',
                f"Loading {value} raised {type(exc).__name__}: {exc}. Reinstall or "
                "uninstall the distribution that provides it.",
            ) from exc
        if not isinstance(provider, Provider):
            raise UserError(
                f'Provider "{name}" is not a zenctl provider',
                f"The entry point {value} must name a zenctl.providers.protocol.Provider, "
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


def schema_of(component: ComponentType) -> type[BaseModel] | None:
    """The component's settings model, imported now when given as "module:Class"."""
    if not isinstance(component.schema, str):
        return component.schema
    schema: type[BaseModel] = _imported(component.schema)
    return schema


def _imported(path: str) -> Any:
    """The object an import path names: "module:attribute" or "module:Class.attribute"."""
    module, _, name = path.partition(":")
    found: Any = importlib.import_module(module)
    for part in name.split("."):
        found = getattr(found, part)
    return found


def validated(kind: str, type_: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Settings checked by the provider's schema, defaults filled in."""
    schema = schema_of(component_type(kind, type_))
    if schema is None:
        return settings
    from pydantic import ValidationError

    try:
        return schema.model_validate(settings).model_dump()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise UserError(f'Invalid settings for {kind} "{type_}"', problems + ".") from None


def settings_of(component: Component, variables: Mapping[str, Any]) -> dict[str, Any]:
    """A stack component's settings for its factory: variables substituted, validated.

    Settings without variables were validated when the configuration was read and are cached
    that way; only those with variables are checked now, their values being known.
    """
    settings: dict[str, Any] = reveal(evaluate(component.settings, variables))
    if component.checked or is_core(component.kind, component.type):
        return settings
    return validated(component.kind, component.type, settings)


def build_component(kind: str, type_: str, settings: dict[str, Any], root: Path) -> Any:
    """The live component, from settings already validated (see `settings_of`)."""
    factory = component_type(kind, type_).factory
    return (_imported(factory) if isinstance(factory, str) else factory)(settings, root)


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
