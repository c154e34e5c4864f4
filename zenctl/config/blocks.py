"""The project-wide blocks decoded into models: `variable` (with its `validation` blocks),
`locals`, `stack` (its components), `zenctl { required_providers }` and `moved`.

Pipelines, which refer to all of these, are decoded in `pipelines`.
"""

from __future__ import annotations

import re
from typing import Any

from zenctl.config.components import component_kinds, component_settings
from zenctl.config.decoding import Attr, Decoder, SourceFile, declared_at
from zenctl.config.model import (
    REQUIRED_COMPONENTS,
    Component,
    Moved,
    ProviderRequirement,
    Ref,
    Stack,
    Validation,
    Variable,
    is_constant,
)
from zenctl.config.schemas import IDENTIFIER, VariableBody
from zenctl.config.tree import ExpressionError
from zenctl.config.types import TypeMismatch, convert_value, normalize_type
from zenctl.config.values import LocalValue


def variable(decoder: Decoder, source: SourceFile, block: Any) -> Variable | None:
    """`variable "NAME" { type = ..., default = ..., validation { ... } }`."""
    name = decoder.single_label(source, block)
    attrs = decoder.attributes(source, block, bare={"type"})
    validations = _validations(decoder, source, block)
    if name is None:
        return None
    raw_type = attrs.get("type")
    type_text = "any"
    if raw_type is not None:
        normalized = normalize_type(str(raw_type.value))
        if normalized is None:
            decoder.error(
                "Invalid type specification",
                f"`{raw_type.value}` is not a type. Use string, number, bool, any, "
                "list(TYPE), set(TYPE), map(TYPE) or object({NAME = TYPE, ...}).",
                raw_type.range,
            )
            return None
        type_text = normalized
        attrs["type"] = Attr(normalized, raw_type.range)
    where = source.range_of(block.raw)
    body = decoder.validate(VariableBody, attrs, where, f'variable "{name}"')
    if body is None:
        return None
    node = attrs["default"].node if "default" in attrs else None
    if node is not None and not is_constant(body.default):
        try:  # refused with the reason: what it reads
            decoder.values.value(node, references=False)
        except ExpressionError as exc:
            decoder.expression_error(exc, attrs["default"].range)
        return None
    default = body.default
    if "default" in attrs:
        try:
            default = convert_value(body.default, type_text)
        except TypeMismatch as exc:
            decoder.error(
                "Invalid default value for variable",
                f'The default of variable "{name}" does not match its type {type_text}: {exc}.',
                attrs["default"].range,
            )
            return None
    return Variable(
        name,
        type_text,
        default,
        "default" in attrs,
        body.description,
        body.sensitive,
        where,
        validations,
    )


def _validations(decoder: Decoder, source: SourceFile, block: Any) -> tuple[Validation, ...]:
    found: list[Validation] = []
    for child in block.blocks():
        if child.block_type != "validation":
            decoder.unsupported_block(source, child, ("validation",))
            continue
        where = source.range_of(child.raw)
        attrs = decoder.attributes(source, child)
        decoder.no_nested_blocks(source, child)
        unknown = sorted(set(attrs) - {"condition", "error_message"})
        for key in unknown:
            decoder.error(
                "Unsupported argument",
                f'A validation block takes condition and error_message, not "{key}".',
                attrs[key].range,
            )
        condition, message = attrs.get("condition"), attrs.get("error_message")
        if decoder.failed(where) & {"condition", "error_message"}:
            continue  # an error of its own is reported
        if condition is None or message is None:
            decoder.error(
                "Missing required argument",
                "A validation block needs both condition and error_message.",
                where,
            )
            continue
        if not isinstance(message.value, str) or not message.value:
            decoder.error(
                "Invalid error_message",
                "error_message must be a non-empty literal string.",
                message.range,
            )
            continue
        assert condition.node is not None
        try:
            reads = decoder.values.reads(condition.node)
        except ExpressionError as exc:
            decoder.expression_error(exc, condition.range)
            continue
        found.append(
            Validation(
                condition.node,
                message.value,
                condition.range,
                tuple(sorted(reads.locals.items())),
            )
        )
    return tuple(found)


def locals_of(decoder: Decoder, documents: list[tuple[SourceFile, Any]]) -> dict[str, LocalValue]:
    """Every `locals { NAME = EXPR }` of the project: they are read from any file. Those
    whose value had an error are noted in `decoder.broken_locals`."""
    found: dict[str, LocalValue] = {}
    for source, document in documents:
        for block in document.blocks():
            if block.block_type != "locals":
                continue
            decoder.no_labels(source, block, "locals { NAME = EXPRESSION }")
            decoder.no_nested_blocks(source, block)
            attrs = decoder.attributes(source, block, evaluate=False)
            decoder.broken_locals |= decoder.failed(source.range_of(block.raw))
            for name, attr in attrs.items():
                if name in found:
                    decoder.error(
                        "Duplicate local value",
                        f'A local value named "{name}" was already defined at '
                        f"{declared_at(found[name].range)}. Local value names must be unique "
                        "within the project.",
                        attr.range,
                    )
                elif attr.node is not None:
                    found[name] = LocalValue(name, attr.node, attr.range)
    return found


def required_providers(
    decoder: Decoder, source: SourceFile, block: Any, required: dict[str, ProviderRequirement]
) -> None:
    """`zenctl { required_providers { local = ">= 0.1" } }`, added to `required`."""
    decoder.no_arguments(
        source,
        block,
        'The zenctl block holds a required_providers block only; "{name}" is not expected here.',
    )
    for child in block.blocks():
        if child.block_type != "required_providers" or child.name_labels:
            decoder.unsupported_block(source, child, ("required_providers",))
            continue
        decoder.no_nested_blocks(source, child)
        for name, attr in decoder.attributes(source, child).items():
            if not isinstance(attr.value, str):
                decoder.error(
                    "Invalid version constraint",
                    f'Write the constraint of "{name}" as a string, e.g. {name} = ">= 0.1".',
                    attr.range,
                )
                continue
            decoder.add_unique(
                required, ProviderRequirement(name, attr.value, attr.range), "provider"
            )


def moved(decoder: Decoder, source: SourceFile, block: Any) -> list[Moved]:
    """`moved { from = pipeline.P.step.OLD  to = pipeline.P.step.NEW }`, both well-formed."""
    where = source.range_of(block.raw)
    decoder.no_labels(source, block, "moved { from = ..., to = ... }")
    decoder.no_nested_blocks(source, block)
    attrs = decoder.attributes(source, block)
    addresses: dict[str, str] = {}
    for name in sorted(set(attrs) - {"from", "to"}):
        decoder.error(
            "Unsupported argument",
            f'An argument named "{name}" is not expected in a moved block; it takes from and to.',
            attrs[name].range,
        )
    for name in ("from", "to"):
        attr = attrs.get(name)
        if attr is None:
            decoder.error(
                "Missing required argument",
                f'A moved block needs "{name}": moved {{ from = pipeline.P.step.OLD  '
                "to = pipeline.P.step.NEW }.",
                where,
            )
            continue
        value = attr.value
        if not (
            isinstance(value, Ref)
            and len(value.parts) == 4
            and value.parts[0] == "pipeline"
            and value.parts[2] == "step"
            and all(re.fullmatch(IDENTIFIER, part) for part in value.parts)
        ):
            decoder.error(
                "Invalid step address",
                f'The "{name}" of a moved block must be a step address, written without '
                "quotes: pipeline.NAME.step.NAME.",
                attr.range,
            )
            continue
        addresses[name] = str(value)
    if len(addresses) < 2:
        return []
    return [Moved(addresses["from"], addresses["to"], where)]


def stack(decoder: Decoder, source: SourceFile, block: Any) -> Stack | None:
    """`stack "NAME" { orchestrator "TYPE" { ... } ... }`: one component block per kind."""
    name = decoder.single_label(source, block)
    decoder.no_arguments(
        source, block, 'A stack holds component blocks only; "{name}" is not expected here.'
    )
    components: dict[str, Component] = {}
    kinds = component_kinds(decoder)
    for child in block.blocks():
        kind = child.block_type
        if kind not in kinds:
            decoder.unsupported_block(source, child, kinds)
            continue
        where = source.range_of(child.raw)
        if len(child.name_labels) != 1:
            decoder.error(
                "Missing component type",
                f'Label the component with its provider type, e.g. {kind} "local" {{ }}.',
                where,
            )
            continue
        if kind in components:
            decoder.error(
                f"Duplicate {kind}",
                f"A stack has at most one {kind}; the first is at "
                f"{declared_at(components[kind].range)}.",
                where,
            )
            continue
        attrs = decoder.attributes(source, child)
        decoder.no_nested_blocks(source, child)
        context = f'in stack "{name}"' if name else ""
        type_ = child.name_labels[0]
        _, filled = component_settings(decoder, kind, type_, attrs, where, context)
        settings = {key: attr.value for key, attr in attrs.items()}
        components[kind] = Component(kind, type_, filled or settings, where, filled is not None)
    if name is None:
        return None
    where = source.range_of(block.raw)
    missing = [kind for kind in REQUIRED_COMPONENTS if kind not in components]
    if missing:
        decoder.error(
            "Incomplete stack",
            f'Stack "{name}" needs {" and ".join(missing)} block(s); the embedded default '
            'is orchestrator "local", artifact_store "local", metadata_store "sqlite".',
            where,
        )
        return None
    return Stack(name, components, where)
