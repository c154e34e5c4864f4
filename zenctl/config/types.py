"""Variable type constraints and Terraform's conversions between them.

Types: `string`, `number`, `bool`, `any`, `list(T)`, `set(T)`, `map(T)` and
`object({name = T, ...})`, nested freely. A type is kept as its canonical spelling (the
config cache pickles it) and parsed into a tree when a value is converted.
"""

from __future__ import annotations

import math
import re
from typing import Any

_PRIMITIVES = ("string", "number", "bool", "any")
_COLLECTIONS = ("list", "set", "map")
_TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_-]*|[(){}=,:])")
_NUMBER = re.compile(r"\s*-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*")

Type = str | tuple[Any, ...]  # "string" | ("list", T) | ("object", (("a", T), ...))


class TypeMismatch(ValueError):
    """A value that cannot be converted; `path` says where inside it (`["a"][0]`)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{'element ' + path + ': ' if path else ''}{message}")


def parse_type(text: str) -> Type:
    """The tree of a type expression; ValueError when it is not one."""
    tokens = _TOKEN.findall(text)
    if "".join(tokens) != re.sub(r"\s+", "", text):
        raise ValueError(f"unexpected characters in `{text}`")
    type_, rest = _parse(tokens)
    if rest:
        raise ValueError(f"unexpected `{rest[0]}` in `{text}`")
    return type_


def _parse(tokens: list[str]) -> tuple[Type, list[str]]:
    if not tokens:
        raise ValueError("a type is missing")
    head, rest = tokens[0], tokens[1:]
    if head in _PRIMITIVES:
        return head, rest
    if head in _COLLECTIONS:
        inner, rest = _parse(_expect(rest, "("))
        return (head, inner), _expect(rest, ")")
    if head == "object":
        rest = _expect(_expect(rest, "("), "{")
        attributes: list[tuple[str, Type]] = []
        while rest and rest[0] != "}":
            name, rest = rest[0], _expect(rest[1:], "=", ":")
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", name):
                raise ValueError(f"`{name}` is not an attribute name")
            attribute, rest = _parse(rest)
            attributes.append((name, attribute))
            if rest and rest[0] == ",":
                rest = rest[1:]
        return ("object", tuple(sorted(attributes))), _expect(_expect(rest, "}"), ")")
    raise ValueError(f"`{head}` is not a type")


def _expect(tokens: list[str], *wanted: str) -> list[str]:
    if not tokens or tokens[0] not in wanted:
        found = f"`{tokens[0]}`" if tokens else "the end"
        raise ValueError(f"expected `{wanted[0]}`, found {found}")
    return tokens[1:]


def type_text(type_: Type) -> str:
    """The canonical spelling: `object({a = string, b = list(number)})`."""
    if isinstance(type_, str):
        return type_
    kind, inner = type_
    if kind == "object":
        body = ", ".join(f"{name} = {type_text(t)}" for name, t in inner)
        return f"object({{{body}}})"
    return f"{kind}({type_text(inner)})"


def normalize_type(text: str) -> str | None:
    """The canonical spelling of a type expression, or None when it is not one."""
    try:
        return type_text(parse_type(text))
    except ValueError:
        return None


def number_problem(text: str) -> str | None:
    """Why a number literal cannot be stored, or None: zenctl's numbers are 64-bit floats (and
    integers), so one beyond their range would become infinity, or 0, unnoticed. The text is
    not quoted: it may be a secret."""
    mantissa = text.lower().partition("e")[0]
    try:
        number = float(text)
    except ValueError:
        return None  # not a number literal at all: the caller's own check reports it
    if math.isinf(number):
        return "too large: numbers go up to about 1.8e308"
    if number == 0 and any(digit in mantissa for digit in "123456789"):
        return "too small: it would be stored as 0 (write 0 if that is meant)"
    return None


def number_as_written(text: str) -> int | float:
    """A number literal's value as the step receives it and the fingerprint hashes it: an int
    without a fraction or exponent (exact, however long), else a float (`50.0`, `1e3`); the
    expression evaluator's rule (`zenctl.config.conversions`)."""
    from zenctl.config.conversions import literal_number, number_to_python

    return number_to_python(literal_number(text))


def convert_value(value: Any, type_: str | Type, path: str = "") -> Any:
    """`value` converted to `type_` the way Terraform does (`"3"` is a fine number, `3` a fine
    string); TypeMismatch when it cannot be. The message never quotes the value: it may be
    a secret."""
    tree = parse_type(type_) if isinstance(type_, str) else type_
    if tree == "any":
        return value
    if tree == "string":
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(int(value)) if float(value).is_integer() else repr(value)
        if isinstance(value, str):
            return value
    elif tree == "number":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _NUMBER.fullmatch(value):
            problem = number_problem(value)
            if problem is not None:
                raise TypeMismatch(path, f"the number is {problem}")
            return number_as_written(value)
    elif tree == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value in ("true", "false"):
            return value == "true"
    elif isinstance(tree, tuple):
        return _convert_structure(value, tree, path)
    raise TypeMismatch(path, f"a {tree} is required, got {describe(value)}")


def _convert_structure(value: Any, tree: tuple[str, Any], path: str) -> Any:
    kind, inner = tree
    if kind in ("list", "set"):
        if not isinstance(value, list):
            raise TypeMismatch(path, f"a {kind} is required, got {describe(value)}")
        return [convert_value(item, inner, f"{path}[{i}]") for i, item in enumerate(value)]
    if not isinstance(value, dict):
        raise TypeMismatch(
            path, f"{'an' if kind == 'object' else 'a'} {kind} is required, got {describe(value)}"
        )
    if kind == "map":
        return {key: convert_value(item, inner, f'{path}["{key}"]') for key, item in value.items()}
    attributes = dict(inner)
    missing = sorted(set(attributes) - set(value))
    extra = sorted(set(value) - set(attributes))
    if missing:
        raise TypeMismatch(path, f'attribute "{missing[0]}" is required')
    if extra:
        raise TypeMismatch(
            path, f'unexpected attribute "{extra[0]}"; the type has {", ".join(attributes)}'
        )
    return {
        name: convert_value(value[name], attribute, f'{path}["{name}"]')
        for name, attribute in attributes.items()
    }


def is_structural(type_: str) -> bool:
    """Whether a `--var` value of this type is an HCL expression rather than plain text."""
    return parse_type(type_) not in ("string", "number", "bool")


def describe(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "map"
    return "null" if value is None else type(value).__name__
