"""What the configuration asks of the installed providers: the component kinds they offer,
each component type's settings schema, the `required_providers` they must satisfy, and the
stack a project gets when it declares none.

The one module of the config stage that reads the provider registry; it imports it where it
is used, as the registry itself imports the config's models.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from zenctl.config.decoding import Attr, Decoder
from zenctl.config.model import (
    COMPONENT_KINDS,
    Component,
    ProviderRequirement,
    Stack,
    is_constant,
    is_core,
)
from zenctl.diagnostics import Diagnostic, Position, SourceRange, UserError

DEFAULT_STACK = "default"


def default_stack() -> Stack:
    """The embedded stack a project gets when it declares none: nothing to run or configure."""
    origin = SourceRange("(built-in)", Position(1, 1), Position(1, 1))
    return Stack(
        DEFAULT_STACK,
        {
            # complete already, as the local provider's schemas would fill them in
            "orchestrator": Component("orchestrator", "local", {}, origin, checked=True),
            "artifact_store": Component(
                "artifact_store", "local", {"path": ".zenctl/artifacts"}, origin, checked=True
            ),
            "metadata_store": Component(
                "metadata_store", "sqlite", {"path": ".zenctl/metadata.db"}, origin
            ),
        },
        None,
    )


def component_kinds() -> list[str]:
    """The kinds of block a stack may hold: the core's and those providers offer."""
    from zenctl.providers.registry import offered_kinds

    return sorted(set(COMPONENT_KINDS) | offered_kinds())


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
    from zenctl.providers.registry import component_type, schema_of

    if is_core(kind, type_):
        return True, None
    try:
        schema = schema_of(component_type(kind, type_))
    except UserError as exc:
        decoder.error(exc.diagnostic.summary, exc.diagnostic.detail, where, context)
        return False, None
    if schema is None:
        return True, None
    later = {key for key, attr in attrs.items() if not is_constant(attr.value)}
    body = decoder.validate(schema, attrs, where, context, skip=later)
    return True, body.model_dump() if body is not None and not later else None


def unsatisfied(requirements: Iterable[ProviderRequirement]) -> list[Diagnostic]:
    """A diagnostic for each `required_providers` entry the installation does not satisfy."""
    from zenctl.providers.registry import check_required

    return check_required(requirements)
