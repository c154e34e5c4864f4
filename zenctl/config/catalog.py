"""The component catalog: what config parsing needs to know of the installed components.

Parsing checks each stack's component blocks against it (kinds, settings schemas), checks
`required_providers`, and takes from it the stack a project that declares none gets. The
caller hands it in (zenctl.providers.registry implements it): config never imports the
providers, which depend on config, not the other way round.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pydantic import BaseModel

    from zenctl.config.model import ProviderRequirement
    from zenctl.diagnostics import Diagnostic


class ComponentCatalog(Protocol):
    def signature(self) -> str:
        """What the catalog's answers depend on (the installed providers and their versions):
        part of the key of the parsed configuration's cache."""
        ...

    def materializers(self) -> list[str]:
        """The materializers an output may name: the built-in ones and the installed ones."""
        ...

    def kinds(self) -> set[str]:
        """Every component kind some installed provider offers (providers may add kinds)."""
        ...

    def schema(self, kind: str, type_: str) -> type[BaseModel]:
        """The settings model of a component type; UserError when no provider offers it."""
        ...

    def default_stack(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """`{kind: (type, settings with defaults filled in)}` of the stack a project that
        declares none gets; UserError when no installed provider declares one."""
        ...

    def check_required(self, requirements: Iterable[ProviderRequirement]) -> list[Diagnostic]:
        """A diagnostic for each `required_providers` entry the installation does not
        satisfy."""
        ...
