"""The installed providers, loaded through entry points: the component catalog that config
parsing reads, and the factories that build live components.

Each provider's entry point is imported once per process. One that fails to import is set
aside and reported as a warning (`load_warnings`): it becomes an error only when the
configuration uses a component that no loaded provider offers, which may be the broken one's.
Two providers offering the same component type are an error naming both distributions: one
would silently hide the other.
"""

from __future__ import annotations

import functools
import importlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zenctl import __version__
from zenctl.config.model import Component, ProviderRequirement, is_core
from zenctl.config.variables import evaluate, reveal
from zenctl.diagnostics import Diagnostic, UserError
from zenctl.providers.discovery import (
    BUILT_IN_MATERIALIZERS,
    MATERIALIZERS,
    entry_points_of,
    provider_entry_points,
    providers_signature,
)
from zenctl.providers.protocol import ComponentType, Provider

if TYPE_CHECKING:
    from pydantic import BaseModel


@dataclass(frozen=True, slots=True)
class Broken:
    """An installed provider that could not be loaded."""

    name: str  # its entry point's
    distribution: str  # "zenctl-beam 0.1.0": what to reinstall or uninstall
    problem: str


@dataclass(frozen=True, slots=True)
class Installed:
    providers: dict[str, Provider]
    distributions: dict[str, str]  # provider name -> "distribution version"
    broken: tuple[Broken, ...]


@functools.cache
def _installed() -> Installed:
    providers: dict[str, Provider] = {}
    distributions: dict[str, str] = {}
    broken: list[Broken] = []
    offered: dict[tuple[str, str], str] = {}  # (kind, type) -> the provider offering it
    for name, value, distribution in provider_entry_points():
        try:
            provider = _imported(value.split("[")[0].strip())  # "module:attr [extras]"
        except Exception as exc:
            problem = f"loading {value} raised {type(exc).__name__}: {exc}"
            broken.append(Broken(name, distribution, problem))
            continue
        if not isinstance(provider, Provider):
            problem = f"{value} names a {type(provider).__name__}, not a zenctl.sdk.Provider"
            broken.append(Broken(name, distribution, problem))
            continue
        described = _described(provider.name, distribution)
        if provider.name in providers:
            first = _described(provider.name, distributions[provider.name])
            raise _duplicate(f'provider "{provider.name}"', first, described)
        for component in provider.components:
            key = (component.kind, component.type)
            label = f'{component.kind} "{component.type}"'
            if is_core(*key):
                raise _duplicate(label, f"zenctl {__version__} (built in)", described)
            if key in offered:
                first = _described(offered[key], distributions[offered[key]])
                raise _duplicate(label, first, described)
            offered[key] = provider.name
        providers[provider.name] = provider
        distributions[provider.name] = distribution
    return Installed(providers, distributions, tuple(broken))


def _described(provider: str, distribution: str) -> str:
    return f'provider "{provider}" ({distribution or "distribution unknown"})'


def _duplicate(what: str, first: str, second: str) -> UserError:
    return UserError(
        f"Two providers offer {what}",
        f"{first} and {second} both offer {what}, and zenctl cannot tell which one a "
        "configuration means. Uninstall one of the two distributions (pip uninstall NAME).",
    )


def installed_providers() -> dict[str, Provider]:
    """The providers that loaded, by name."""
    return _installed().providers


def load_warnings() -> list[Diagnostic]:
    """A warning for each provider that failed to load; none when this process has not
    loaded the providers (the command did not need them)."""
    if not _installed.cache_info().currsize:
        return []
    return [
        Diagnostic(
            "warning",
            f'Provider "{broken.name}" failed to load',
            f"{broken.problem}. zenctl goes on without it: a configuration that uses its "
            f"components fails until it loads. Reinstall {_distribution(broken)}, or "
            "uninstall it.",
        )
        for broken in _installed().broken
    ]


def _distribution(broken: Broken) -> str:
    return broken.distribution or f'the distribution that provides "{broken.name}"'


def _broken_hint() -> str:
    """What to say when a component is not offered while some provider did not load."""
    return "".join(
        f' Provider "{broken.name}" failed to load, and may be the one that offers it: '
        f"{broken.problem}. Reinstall {_distribution(broken)}, or uninstall it."
        for broken in _installed().broken
    )


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
        "pip install ./providers/local)." + _broken_hint(),
    )


def offered_kinds() -> set[str]:
    """Every component kind some installed provider offers (providers may add kinds)."""
    return {c.kind for provider in installed_providers().values() for c in provider.components}


def schema_of(component: ComponentType) -> type[BaseModel]:
    """The component's settings model, imported now when given as "module:Class"; a type
    that declares none takes no settings."""
    if component.schema is None:
        from zenctl.providers.settings import Settings

        return Settings
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
    from zenctl.providers.settings import parse_settings

    schema = schema_of(component_type(kind, type_))
    return parse_settings(schema, settings, f'{kind} "{type_}"').model_dump()


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


def default_stack() -> dict[str, tuple[str, dict[str, Any]]]:
    """`{kind: (type, settings)}` of the stack a project that declares none gets, as the one
    installed provider that declares it says (the local provider: nothing to configure)."""
    declaring = [p for p in installed_providers().values() if p.default_stack]
    if not declaring:
        raise UserError(
            "No stack declared, and no default one installed",
            "The configuration declares no stack block, and no installed provider declares "
            "a default stack (the local provider does: pip install ./providers/local). "
            'Declare one: stack "default" { orchestrator "TYPE" {} artifact_store "TYPE" {} '
            'metadata_store "sqlite" {} }.' + _broken_hint(),
        )
    if len(declaring) > 1:
        first, second = (
            _described(p.name, _installed().distributions[p.name]) for p in declaring[:2]
        )
        raise _duplicate("a default stack", first, second)
    return {
        kind: (type_, {} if is_core(kind, type_) else validated(kind, type_, {}))
        for kind, type_ in declaring[0].default_stack
    }


class InstalledCatalog:
    """The installed providers as config parsing sees them (zenctl/config/catalog.py)."""

    def signature(self) -> str:
        return providers_signature() + json.dumps(entry_points_of(MATERIALIZERS))

    def materializers(self) -> list[str]:
        return [*BUILT_IN_MATERIALIZERS, *(name for name, _, _ in entry_points_of(MATERIALIZERS))]

    def kinds(self) -> set[str]:
        return offered_kinds()

    def schema(self, kind: str, type_: str) -> type[BaseModel]:
        return schema_of(component_type(kind, type_))

    def default_stack(self) -> dict[str, tuple[str, dict[str, Any]]]:
        return default_stack()

    def check_required(self, requirements: Iterable[ProviderRequirement]) -> list[Diagnostic]:
        return check_required(requirements)


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
            broken = [b for b in _installed().broken if b.name == need.name]
            if provider is None and broken:
                summary = f'Required provider "{need.name}" failed to load'
                detail = f"{broken[0].problem}. Reinstall {_distribution(broken[0])}."
            elif provider is None:
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
