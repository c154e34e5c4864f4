"""HCL's values and go-cty's conversions between them, for the expression evaluator.

Inside an expression a value is `None` (null), `bool`, `Decimal` (every number: exact, so
`0.1 + 0.2 == 0.3`), `str`, `list` (a tuple or list) or `dict` (an object or map). A step
receives Python numbers: `from_python` and `to_python` cross that edge.

A number remembers how it was written: a literal with a fraction or an exponent (`50.0`,
`1e3`) is a Decimal with a negative exponent, and Decimal arithmetic keeps that (`1.5 * 2` is
`3.0`), so the step receives a float exactly where the expression involves one and an int
where it is integers only (`6 / 2` is `3`, `7 / 2` is `3.5`). No other rule decides it.
"""

from __future__ import annotations

import decimal
import re
import unicodedata
from decimal import Decimal
from typing import Any

# go-cty computes with 512-bit binary floats, about 154 significant digits: as many here, so
# that integers as long as that stay exact and every decimal a configuration writes is exact
CONTEXT = decimal.Context(prec=160, Emax=999_999, Emin=-999_999)

Type = str | tuple[Any, ...]  # "string" | "number" | "bool" | "dynamic" | ("list", T) | ...
# what go-cty's number parsing takes from a string: ASCII digits only (`"²"` is not 2), a
# fraction or whole part may be left out (`".5"`, `"5."`)
_NUMBER_TEXT = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


class ConversionError(ValueError):
    """A value that cannot become the type asked for; the message is HCL's wording and never
    quotes the value (it may be a secret)."""


def literal_number(text: str) -> Decimal:
    """A number as written: `5` is an integer, `5.0` and `5e0` are not (see the module)."""
    value = CONTEXT.create_decimal(text)
    return as_float(value) if any(mark in text for mark in ".eE") else value


def is_float(value: Decimal) -> bool:
    exponent = value.as_tuple().exponent
    return not isinstance(exponent, int) or exponent < 0


def as_float(value: Decimal) -> Decimal:
    """The same number marked as a float (a negative exponent): `6` becomes `6.0`."""
    sign, digits, exponent = value.as_tuple()
    if isinstance(exponent, int) and exponent >= 0:
        return Decimal((sign, digits + (0,) * (exponent + 1), -1))
    return value


def from_python(value: Any) -> Any:
    """A variable's or a decoded document's Python value as an expression value."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)  # as go-cty keeps every string
    if isinstance(value, bool) or value is None or isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return literal_number(repr(value))
    if isinstance(value, list | tuple | set | frozenset):
        return [from_python(item) for item in value]
    if isinstance(value, dict):
        return {str(key): from_python(item) for key, item in value.items()}
    raise ConversionError(f"a {type(value).__name__} value cannot be used in an expression")


def to_python(value: Any) -> Any:
    """An expression value as the step receives it: int or float per the module's rule."""
    if isinstance(value, Decimal):
        return number_to_python(value)
    if isinstance(value, list):
        return [to_python(item) for item in value]
    if isinstance(value, dict):
        return {key: to_python(item) for key, item in value.items()}
    return value


def number_to_python(value: Decimal) -> int | float:
    if not is_float(value):
        return int(value)
    number = float(value)
    if number in (float("inf"), float("-inf")):
        raise ConversionError("the number is too large: numbers go up to about 1.8e308")
    if number == 0 and value != 0:
        raise ConversionError("the number is too small: it would be passed as 0")
    return number


def number_text(value: Decimal) -> str:
    """HCL's string of a number: `1000` for 1e3, `0.5`, never an exponent or a trailing zero."""
    if value == 0:
        return "0"
    text = format(value.normalize(CONTEXT), "f")
    return text


def type_of(value: Any) -> Type:
    if value is None:
        return "dynamic"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return ("tuple", tuple(type_of(item) for item in value))
    if isinstance(value, dict):
        return ("object", tuple(sorted((key, type_of(item)) for key, item in value.items())))
    raise ConversionError(f"a {type(value).__name__} value cannot be used in an expression")


def type_name(value: Any) -> str:
    """The word messages use for a value's type: HCL's, but `list` for a tuple (what a
    Terraform user calls `[1, 2]`)."""
    kind = type_of(value)
    if kind == "dynamic":
        return "null"
    if isinstance(kind, str):
        return kind
    return "list" if kind[0] == "tuple" else "object"


def a_type(value: Any) -> str:
    """`a string`, `an object`, `null`: a value's type as a message's noun."""
    name = type_name(value)
    return name if name == "null" else f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def to_number(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str):
        if value and _is_number_text(value):
            return literal_number(value)
        raise ConversionError("a number is required: the string is not a number")
    raise ConversionError(_required("number", value))


def to_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return number_text(value)
    raise ConversionError(_required("string", value))


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false", "1", "0"):  # go-cty takes "1" and "0" too
        return value in ("true", "1")
    raise ConversionError(_required("bool", value))


def _required(kind: str, value: Any) -> str:
    if value is None:
        return f"a {kind} is required, got null"
    return f"a {kind} is required, got {a_type(value)}"


def _is_number_text(text: str) -> bool:
    return _NUMBER_TEXT.fullmatch(text) is not None


def equal(left: Any, right: Any) -> bool:
    """HCL's `==`: values of different types are never equal (`1 == "1"`, `[1] == [true]` are
    false), numbers compare by value (`1 == 1.0`)."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(equal, left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(equal(left[k], right[k]) for k in left)
    if type(left) is not type(right):
        return False
    return bool(left == right)


def unify(values: list[Any]) -> list[Any]:
    """The values converted to one type, as go-cty unifies a conditional's results or a
    list's elements: string wins over number and bool, tuples of different lengths become a
    list, objects with different attributes a map. ConversionError when no type serves."""
    target = unify_types([type_of(value) for value in values])
    if target is None:
        raise ConversionError("no single type fits " + " and ".join(map(a_type, values)))
    return [convert(value, target) for value in values]


def unify_types(types: list[Type]) -> Type | None:
    known = [kind for kind in types if kind != "dynamic"]
    if not known:
        return "dynamic"
    first = known[0]
    if all(kind == first for kind in known):
        return first
    if all(isinstance(kind, str) for kind in known):
        return "string" if "string" in known else None
    shapes = {kind[0] if isinstance(kind, tuple) else kind for kind in known}
    lengths = {len(kind[1]) for kind in known if isinstance(kind, tuple) and kind[0] == "tuple"}
    if shapes == {"tuple"} and len(lengths) == 1:  # go-cty: element by element
        columns = zip(*(kind[1] for kind in known if isinstance(kind, tuple)), strict=True)
        elements_types = [unify_types(list(column)) for column in columns]
        if any(element is None for element in elements_types):
            return None
        return ("tuple", tuple(elements_types))
    if shapes <= {"tuple", "list"}:
        elements = [item for kind in known for item in _element_types(kind)]
        inner = unify_types(elements) if elements else "dynamic"
        return None if inner is None else ("list", inner)
    if shapes <= {"object", "map"}:
        names = {tuple(pair[0] for pair in kind[1]) for kind in known if kind[0] == "object"}
        if shapes == {"object"} and len(names) == 1:
            attributes = []
            for index, name in enumerate(next(iter(names))):
                inner = unify_types([kind[1][index][1] for kind in known])
                if inner is None:
                    return None
                attributes.append((name, inner))
            return ("object", tuple(attributes))
        elements = [item for kind in known for item in _element_types(kind)]
        inner = unify_types(elements) if elements else "dynamic"
        return None if inner is None else ("map", inner)
    return None


def _element_types(kind: Type) -> list[Type]:
    assert isinstance(kind, tuple)
    if kind[0] == "tuple":
        return list(kind[1])
    if kind[0] == "object":
        return [inner for _, inner in kind[1]]
    return [kind[1]]


def convert(value: Any, target: Type) -> Any:
    """`value` as `target` (a `Type`); ConversionError when it cannot be."""
    if value is None or target == "dynamic":
        return value
    if target == "string":
        return to_string(value)
    if target == "number":
        return to_number(value)
    if target == "bool":
        return to_bool(value)
    assert isinstance(target, tuple)
    kind, inner = target[0], target[1]
    if kind in ("list", "tuple"):
        if not isinstance(value, list):
            raise ConversionError(_required("list", value))
        if kind == "list":
            return [convert(item, inner) for item in value]
        return [convert(item, element) for item, element in zip(value, inner, strict=True)]
    if not isinstance(value, dict):
        raise ConversionError(_required("map", value))
    if kind == "map":
        return {key: convert(item, inner) for key, item in value.items()}
    return {name: convert(value[name], element) for name, element in inner}
