"""What the configuration asks of the installed components: the kinds a stack may hold, each
component type's settings schema, and the stack a project gets when it declares none, all
through the `ComponentCatalog` the caller hands in (config never imports the providers,
which depend on config).
"""

from __future__ import annotations

from typing import Any

from zenctl.config.catalog import ComponentCatalog
from zenctl.config.decoding import Attr, Decoder
from zenctl.config.model import COMPONENT_KINDS, Component, Stack, is_constant, is_core
from zenctl.diagnostics import Position, SourceRange, UserError

DEFAULT_STACK = "default"


def default_stack(catalog: ComponentCatalog) -> Stack:
    """The embedded stack a project gets when it declares none, as the installed providers
    declare it (the local provider's: nothing to run or configure)."""
    origin = SourceRange("(built-in)", Position(1, 1), Position(1, 1))
    components = {
        kind: Component(kind, type_, settings, origin, checked=not is_core(kind, type_))
        for kind, (type_, settings) in catalog.default_stack().items()
    }
    return Stack(DEFAULT_STACK, components, None)


def component_kinds(decoder: Decoder) -> list[str]:
    """The kinds of block a stack may hold: the core's and those providers offer."""
    return sorted(set(COMPONENT_KINDS) | decoder.catalog.kinds())


def component_settings(
    decoder: Decoder,
    kind: str,
    type_: str,
    attrs: dict[str, Attr],
    where: SourceRange,
    context: str,
) -> tuple[bool, dict[str, Any] | None]:
    """Check settings against the provider's schema: (offered by a provider at all, the
    settings validated with defaults filled in when that could be done now).

    Values that reference variables are checked once their value is known (at apply).
    """
    if is_core(kind, type_):
        return True, None
    try:
        schema = decoder.catalog.schema(kind, type_)
    except UserError as exc:
        decoder.error(exc.diagnostic.summary, exc.diagnostic.detail, where, context)
        return False, None
    later = {key for key, attr in attrs.items() if not is_constant(attr.value)}
    body = decoder.validate(schema, attrs, where, context, skip=later)
    return True, body.model_dump() if body is not None and not later else None
