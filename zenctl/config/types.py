"""Variable type constraints: `string`, `number`, `bool`, `any`, `list(T)`, `set(T)`, `map(T)`."""

from __future__ import annotations

import re
from typing import Any

_PRIMITIVES = ("string", "number", "bool", "any")
_COLLECTION = re.compile(r"(list|set|map)\s*\(\s*(.+)\s*\)")


def normalize_type(text: str) -> str | None:
    """The canonical spelling of a type expression, or None when it is not one."""
    text = text.strip()
    if text in _PRIMITIVES:
        return text
    match = _COLLECTION.fullmatch(text)
    if match is None:
        return None
    inner = normalize_type(match.group(2))
    return None if inner is None else f"{match.group(1)}({inner})"


def type_error(value: Any, type_: str) -> str | None:
    """Why `value` does not fit `type_`, or None when it does."""
    if type_ == "any":
        return None
    if type_ == "string":
        return None if isinstance(value, str) else f"a string is required, got {_describe(value)}"
    if type_ == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else f"a number is required, got {_describe(value)}"
    if type_ == "bool":
        return None if isinstance(value, bool) else f"a bool is required, got {_describe(value)}"
    kind, inner = type_.split("(", 1)
    inner = inner[:-1]
    if kind in ("list", "set"):
        if not isinstance(value, list):
            return f"a {kind} is required, got {_describe(value)}"
        items: list[tuple[str, Any]] = [(f"[{i}]", item) for i, item in enumerate(value)]
    else:
        if not isinstance(value, dict):
            return f"a map is required, got {_describe(value)}"
        items = [(f'["{key}"]', item) for key, item in value.items()]
    for where, item in items:
        problem = type_error(item, inner)
        if problem:
            return f"element {where}: {problem}"
    return None


def coerce_text(text: str, type_: str) -> Any:
    """Interpret a `--var name=value` or environment string the way its type asks."""
    if type_ == "string":
        return text
    if type_ == "number":
        number = float(text)
        return int(number) if number.is_integer() and "." not in text else number
    if type_ == "bool":
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise ValueError(f"{text!r} is not a bool: use true or false")
    if type_ == "any":
        for candidate in ("number", "bool"):
            try:
                return coerce_text(text, candidate)
            except ValueError:
                continue
        return text
    import json

    return json.loads(text)


def _describe(value: Any) -> str:
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
