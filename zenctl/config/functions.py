"""Terraform's standard functions, with Terraform's semantics and messages, over the values
`zenctl.config.conversions` defines.

`call(name, args, context)` checks the argument count, converts each argument to its
parameter's type, refuses null where Terraform does and runs the function. Every failure is a
`FunctionError`. Strings count user-perceived characters (grapheme clusters) as Terraform
does, and regular expressions take RE2's syntax (`\\pL`, `(?<name>...)`, `$` is the end of
the text), through the `regex` package python-hcl2 already depends on.

`try` and `can` are in `FUNCTION_NAMES` but not here: they need their arguments unevaluated, so
the expression evaluator runs them itself.

One module on purpose, over 400 lines: it is Terraform's function table, each function beside
its row (name, arity, what it reads), families marked by section comments in the order of
Terraform's documentation. A family that grows helpers of its own is the first to move out.
"""

from __future__ import annotations

import base64
import contextvars
import datetime
import decimal
import functools
import json
import os
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import regex

from zenctl.config import conversions
from zenctl.config.conversions import CONTEXT, ConversionError


class FunctionError(ValueError):
    """A call that cannot be made. With `param`, the message says why that argument is wrong
    (HCL shows `Invalid value for "<param>" parameter: <message>.`); without, the message is
    the whole sentence (`Call to function "<name>" failed: ...`, or a wrong argument count)."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class FunctionContext(Protocol):
    """What the file functions need from the caller."""

    @property
    def root(self) -> Path:
        """The directory relative paths resolve against (the project directory)."""
        ...

    def render_template(self, text: str, variables: dict[str, Any]) -> Any:
        """The value of template `text` with these variables (for `templatefile`)."""
        ...


# ---------------------------------------------------------------------------------------------
# Parameters and the registry


# Parameter kinds besides conversions' types: a list whose elements are unified to one type
# (go-cty's `list(any)`, `set(any)`), the set also sorted and without duplicates.
_LIST_OF_ONE_TYPE = ("list", "*")
_SET_OF_ONE_TYPE = ("set", "*")


@dataclass(frozen=True)
class _Param:
    name: str
    kind: Any = "dynamic"  # a conversions.Type or one of the kinds above
    nullable: bool = False


@dataclass(frozen=True)
class _Function:
    params: tuple[_Param, ...]
    variadic: _Param | None
    impl: Callable[..., Any]
    reads_files: bool


_FUNCTIONS: dict[str, _Function] = {}


def _define(
    name: str, *params: _Param, variadic: _Param | None = None, reads_files: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Registers the decorated implementation; a file function receives the context first."""

    def register(impl: Callable[..., Any]) -> Callable[..., Any]:
        _FUNCTIONS[name] = _Function(params, variadic, impl, reads_files)
        return impl

    return register


def call(name: str, args: list[Any], context: FunctionContext) -> Any:
    """The value of `name(*args)`; FunctionError when the call cannot be made."""
    function = _FUNCTIONS.get(name)
    if function is None:
        if name in _EVALUATOR_FUNCTIONS:
            raise FunctionError(f'Function "{name}" is evaluated by the expression evaluator.')
        raise FunctionError(f'There is no function named "{name}".')
    values = _arguments(name, function, args)
    try:
        with decimal.localcontext(CONTEXT):
            if function.reads_files:
                return function.impl(context, *values)
            return function.impl(*values)
    except FunctionError as error:
        if error.param is not None:
            raise
        raise FunctionError(_failed(name, str(error))) from None
    except ConversionError as error:
        raise FunctionError(_failed(name, str(error))) from None
    except (decimal.Overflow, OverflowError, MemoryError):
        raise FunctionError(_failed(name, "the result is too large")) from None
    except ArithmeticError:
        raise FunctionError(_failed(name, "the result is not a number")) from None
    except RecursionError:
        raise FunctionError(_failed(name, "the value is nested too deeply")) from None


def _failed(name: str, reason: str) -> str:
    return f'Call to function "{name}" failed: {reason.rstrip(".")}.'


def _arguments(name: str, function: _Function, args: list[Any]) -> list[Any]:
    """The arguments converted to their parameters' types, after HCL's arity checks."""
    params = function.params
    if len(args) < len(params):
        least = " at least" if function.variadic else ""
        raise FunctionError(
            f'Function "{name}" expects{least} {len(params)} argument(s). '
            f'Missing value for "{params[len(args)].name}".'
        )
    if function.variadic is None and len(args) > len(params):
        raise FunctionError(f'Function "{name}" expects only {len(params)} argument(s).')
    values = []
    for index, value in enumerate(args):
        param = params[index] if index < len(params) else function.variadic
        assert param is not None
        if value is None and not param.nullable:
            raise FunctionError("argument must not be null", param.name)
        values.append(_convert(value, param))
    return values


def _convert(value: Any, param: _Param) -> Any:
    if param.kind in (_LIST_OF_ONE_TYPE, _SET_OF_ONE_TYPE):
        what = "list" if param.kind == _LIST_OF_ONE_TYPE else "set"
        if not isinstance(value, list):
            raise FunctionError(
                f"a {what} is required, got {conversions.a_type(value)}", param.name
            )
        try:
            items = conversions.unify(value)
        except ConversionError:
            raise FunctionError(
                f"all {what} elements must have the same type", param.name
            ) from None
        return items if what == "list" else _as_set(items)
    try:
        return conversions.convert(value, param.kind)
    except ConversionError as error:
        raise FunctionError(str(error), param.name) from None


def _p(name: str, kind: Any = "dynamic", nullable: bool = False) -> _Param:
    return _Param(name, kind, nullable)


_STRING_LIST = ("list", "string")
_EVALUATOR_FUNCTIONS = ("can", "try")
_INT64 = (-(2**63), 2**63 - 1)


def _integer(value: Decimal, param: str, prefix: str = "") -> int:
    """A whole number Go's int holds (go-cty's wording when it is not one)."""
    if (
        not value.is_finite()
        or value != value.to_integral_value()
        or not (_INT64[0] <= value <= _INT64[1])
    ):
        raise FunctionError(
            f"{prefix}value must be a whole number, between {_INT64[0]} and {_INT64[1]}", param
        )
    return int(value)


def _go_quote(text: str, quote: str = '"') -> str:
    """Go's `%q`: how Terraform's messages quote a string (`quote="'"` for a character)."""
    out = []
    for char in text:
        if char in (quote, "\\"):
            out.append("\\" + char)
        elif char in _GO_ESCAPES:
            out.append(_GO_ESCAPES[char])
        elif char.isprintable():
            out.append(char)
        elif ord(char) < 0x80:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return quote + "".join(out) + quote


_GO_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}


def _graphemes(text: str) -> list[str]:
    """The user-perceived characters Terraform counts (`e` + a combining accent is one)."""
    if text.isascii() and "\r\n" not in text:
        return list(text)
    return list(regex.findall(r"\X", text))


def _key(value: Any) -> Any:
    """A hashable stand-in with conversions.equal's equality (`1 == 1.0`, `1 != "1"`)."""
    if isinstance(value, list):
        return ("list", tuple(map(_key, value)))
    if isinstance(value, dict):
        return ("object", tuple(sorted((name, _key(item)) for name, item in value.items())))
    return (conversions.type_name(value), value)


def _distinct(values: Sequence[Any]) -> list[Any]:
    seen: set[Any] = set()
    kept = []
    for value in values:
        key = _key(value)
        if key not in seen:
            seen.add(key)
            kept.append(value)
    return kept


def _as_set(values: Sequence[Any]) -> list[Any]:
    """A set as a list: no duplicates, strings, numbers and bools in go-cty's set order."""
    unique = _distinct(values)
    present = [value for value in unique if value is not None]
    kinds = {conversions.type_name(value) for value in present}
    if kinds in ({"string"}, {"number"}, {"bool"}):
        present.sort()
    return present + [None] * (len(unique) - len(present))


# ---------------------------------------------------------------------------------------------
# Strings


def _each_character(text: str, change: Callable[[str], str]) -> str:
    """Go's rune-by-rune case mapping: a character whose mapping is longer stays itself."""
    if text.isascii():
        return change(text)
    return "".join(changed if len(changed := change(char)) == 1 else char for char in text)


@_define("upper", _p("str", "string"))
def _upper(text: str) -> str:
    return _each_character(text, str.upper)


@_define("lower", _p("str", "string"))
def _lower(text: str) -> str:
    return _each_character(text, str.lower)


# Go's unicode.IsSpace: what trimspace() strips and what separates words for title()
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
_GO_SPACE += "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


def _separates_words(char: str) -> bool:
    if char.isascii():
        return not (char.isalnum() or char == "_")
    if char.isalpha() or char.isdecimal():
        return False
    return char in _GO_SPACE


@_define("title", _p("str", "string"))
def _title(text: str) -> str:
    out = []
    previous = " "
    for char in text:
        out.append(_each_character(char, str.title) if _separates_words(previous) else char)
        previous = char
    return "".join(out)


@_define("trimspace", _p("str", "string"))
def _trimspace(text: str) -> str:
    return text.strip(_GO_SPACE)


@_define("trim", _p("str", "string"), _p("cutset", "string"))
def _trim(text: str, cutset: str) -> str:
    return text.strip(cutset)


@_define("trimprefix", _p("str", "string"), _p("prefix", "string"))
def _trimprefix(text: str, prefix: str) -> str:
    return text.removeprefix(prefix)


@_define("trimsuffix", _p("str", "string"), _p("suffix", "string"))
def _trimsuffix(text: str, suffix: str) -> str:
    return text.removesuffix(suffix)


@_define("chomp", _p("str", "string"))
def _chomp(text: str) -> str:
    return text.rstrip("\r\n")


@_define("indent", _p("spaces", "number"), _p("str", "string"))
def _indent(spaces: Decimal, text: str) -> str:
    count = _integer(spaces, "spaces")
    if count < 0:
        raise FunctionError("the number of spaces must not be negative", "spaces")
    return text.replace("\n", "\n" + " " * count)


@_define("strrev", _p("str", "string"))
def _strrev(text: str) -> str:
    return "".join(reversed(_graphemes(text)))


@_define("substr", _p("str", "string"), _p("offset", "number"), _p("length", "number"))
def _substr(text: str, offset: Decimal, length: Decimal) -> str:
    start = _integer(offset, "offset")
    count = _integer(length, "length")
    characters = _graphemes(text)
    if start < 0:
        start = max(start + len(characters), 0)
    if count == 0:
        return ""
    end = len(characters) if count < 0 else start + count
    return "".join(characters[start:end])


@_define("startswith", _p("str", "string"), _p("prefix", "string"))
def _startswith(text: str, prefix: str) -> bool:
    return text.startswith(prefix)


@_define("endswith", _p("str", "string"), _p("suffix", "string"))
def _endswith(text: str, suffix: str) -> bool:
    return text.endswith(suffix)


@_define("strcontains", _p("str", "string"), _p("substr", "string"))
def _strcontains(text: str, part: str) -> bool:
    return part in text


@_define("split", _p("separator", "string"), _p("str", "string"))
def _split(separator: str, text: str) -> list[str]:
    return text.split(separator) if separator else list(text)


@_define("join", _p("separator", "string"), variadic=_p("lists", _STRING_LIST))
def _join(separator: str, *lists: list[str | None]) -> str:
    if not lists:
        raise FunctionError("at least one list is required")
    parts: list[str] = []
    for number, items in enumerate(lists, 1):
        for index, item in enumerate(items):
            if item is None:
                which = f" of list {number}" if len(lists) > 1 else ""
                raise FunctionError(
                    f"element {index}{which} is null; cannot concatenate null values", "lists"
                )
            parts.append(item)
    return separator.join(parts)


@_define("replace", _p("str", "string"), _p("substr", "string"), _p("replace", "string"))
def _replace(text: str, search: str, replacement: str) -> str:
    if len(search) > 1 and search[0] == search[-1] == "/":
        pattern = _compile(search[1:-1], "substr")
        out = []
        position = 0
        for match in _matches(pattern, text):
            out.append(text[position : match.start()])
            out.append(_expand(replacement, match))
            position = match.end()
        out.append(text[position:])
        return "".join(out)
    return text.replace(search, replacement)


# ---------------------------------------------------------------------------------------------
# Regular expressions: RE2's syntax through the `regex` package


_MULTILINE = regex.compile(r"\(\?[imsU]*m[imsU]*[-:)]")


def _compile(pattern: str, param: str) -> Any:
    try:
        return regex.compile(_re2_dollar(pattern))
    except regex.error as error:
        raise FunctionError(
            f"invalid regexp pattern: {error.msg} at offset {error.pos}", param
        ) from None


def _re2_dollar(pattern: str) -> str:
    """RE2's `$` is the end of the text (Python's also matches before a final newline), unless
    the pattern turns multi-line mode on, where both mean the end of a line."""
    if "$" not in pattern or _MULTILINE.search(pattern):
        return pattern
    out = []
    index = 0
    in_class = False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            out.append(pattern[index : index + 2])
            index += 2
            continue
        if in_class:
            if pattern.startswith("[:", index):  # [[:alpha:]] inside a class
                end = pattern.find(":]", index + 2)
                if end != -1:
                    out.append(pattern[index : end + 2])
                    index = end + 2
                    continue
            in_class = char != "]"
        elif char == "[":
            in_class = True
            out.append(char)
            index += 1
            if pattern.startswith("^", index):
                out.append("^")
                index += 1
            if pattern.startswith("]", index):  # a leading ] is a literal
                out.append("]")
                index += 1
            continue
        elif char == "$":
            char = r"\z"
        out.append(char)
        index += 1
    return "".join(out)


def _matches(pattern: Any, text: str) -> Iterator[Any]:
    """The non-overlapping matches Go finds: an empty match right after a match is skipped."""
    previous_end = -1
    for match in pattern.finditer(text):
        if match.start() == match.end() == previous_end:
            continue
        previous_end = match.end()
        yield match


def _expand(template: str, match: Any) -> str:
    """Go's `Regexp.Expand`: `$1`, `${1}`, `$name`, `${name}`, `$$`; an unknown or unmatched
    group is empty, a `$` that starts no name is kept."""
    out = []
    index = 0
    while index < len(template):
        char = template[index]
        index += 1
        if char != "$":
            out.append(char)
            continue
        if template.startswith("$", index):
            out.append("$")
            index += 1
            continue
        braced = template.startswith("{", index)
        start = index + braced
        end = start
        while end < len(template) and (
            template[end].isalpha() or template[end].isdecimal() or template[end] == "_"
        ):
            end += 1
        name = template[start:end]
        if not name or (braced and not template.startswith("}", end)):
            out.append("$")
            continue
        index = end + braced
        group: int | str = name
        if name.isascii() and name.isdigit():
            group = int(name) if name[0] != "0" or name == "0" else -1
        if isinstance(group, int):
            matched = match.group(group) if 0 <= group <= match.re.groups else None
        else:
            matched = match.group(group) if group in match.re.groupindex else None
        out.append(matched or "")
    return "".join(out)


def _regex_result(pattern: Any, match: Any) -> Any:
    if pattern.groupindex:
        return {name: match.group(name) for name in pattern.groupindex}
    if pattern.groups:
        return list(match.groups())
    return match.group(0)


def _regex_pattern(source: str) -> Any:
    pattern = _compile(source, "pattern")
    if pattern.groupindex and len(pattern.groupindex) < pattern.groups:
        raise FunctionError(
            "invalid regexp pattern: cannot mix both named and unnamed capture groups", "pattern"
        )
    return pattern


@_define("regex", _p("pattern", "string"), _p("string", "string"))
def _regex(source: str, text: str) -> Any:
    pattern = _regex_pattern(source)
    for match in _matches(pattern, text):
        return _regex_result(pattern, match)
    raise FunctionError("pattern did not match any part of the given string")


@_define("regexall", _p("pattern", "string"), _p("string", "string"))
def _regexall(source: str, text: str) -> list[Any]:
    pattern = _regex_pattern(source)
    return [_regex_result(pattern, match) for match in _matches(pattern, text)]


# ---------------------------------------------------------------------------------------------
# format and formatlist


@dataclass(frozen=True)
class _Verb:
    raw: str
    offset: int  # in bytes, as Terraform counts
    arg: int  # 1-based
    mode: str
    flags: str
    width: int | None
    precision: int | None

    @property
    def where(self) -> str:
        return f"{_go_quote(self.raw)} at {self.offset}"


_DIGITS = "0123456789"


def _format(template: str, args: Sequence[Any]) -> str:
    """go-cty's format(): C-like verbs, `[n]` picks an argument, and every argument must be
    used."""
    out: list[str] = []
    next_arg = 1
    highest = 0
    index = 0

    def offset(position: int) -> int:
        return len(template[:position].encode())

    def digits(position: int) -> int:
        while position < len(template) and template[position] in _DIGITS:
            position += 1
        return position

    def unexpected(position: int) -> FunctionError:
        if position >= len(template):
            return FunctionError(
                f"invalid format string starting at offset {len(template.encode())}"
            )
        char = _go_quote(template[position], "'")
        return FunctionError(f"unrecognized format character {char} at offset {offset(position)}")

    while index < len(template):
        if template[index] != "%":
            out.append(template[index])
            index += 1
            continue
        if template.startswith("%%", index):
            out.append("%")
            index += 2
            continue
        start = index
        index += 1
        flags = ""
        while index < len(template) and template[index] in "0#-+ ":
            flags += template[index]
            index += 1
        width = None
        if index < len(template) and template[index] in "123456789":
            end = digits(index)
            width, index = int(template[index:end]), end
        precision = None
        if template.startswith(".", index):
            end = digits(index + 1)
            precision, index = int(template[index + 1 : end] or "0"), end
        arg = next_arg
        if template.startswith("[", index):
            index += 1
            if not (index < len(template) and template[index] in "123456789"):
                raise unexpected(index)
            end = digits(index)
            arg, index = int(template[index:end]), end
            if not template.startswith("]", index):
                raise unexpected(index)
            index += 1
        if index >= len(template) or not (template[index].isascii() and template[index].isalpha()):
            raise unexpected(index)
        index += 1
        verb = _Verb(
            template[start:index], offset(start), arg, template[index - 1], flags, width, precision
        )
        highest = max(highest, arg)
        out.append(_format_verb(verb, args))
        next_arg = arg + 1
    if highest < len(args):
        if highest == 0:
            raise FunctionError("too many arguments; no verbs in format string", "args")
        raise FunctionError(f"too many arguments; only {highest} used by format string", "args")
    return "".join(out)


def _format_verb(verb: _Verb, args: Sequence[Any]) -> str:
    if verb.arg > len(args):
        raise FunctionError(
            f"not enough arguments for {verb.where}: need index {verb.arg} but have "
            f"{len(args)} total"
        )
    value = args[verb.arg - 1]
    if verb.mode != "v" and value is None:
        raise FunctionError(f"unsupported value for {verb.where}: null value cannot be formatted")
    try:
        if verb.mode == "v":
            if "#" not in verb.flags and isinstance(value, str):
                return _pad(verb, value)
            if "#" not in verb.flags and isinstance(value, Decimal):
                return _pad(
                    verb, ("-" if value.is_signed() else "") + _float_text(value, "g", None)
                )
            return _pad(verb, _json(value))
        if verb.mode == "t":
            return "true" if conversions.to_bool(value) else "false"
        if verb.mode in "bdoxX":
            return _format_integer(verb, conversions.to_number(value))
        if verb.mode in "eEfgG":
            return _format_float(verb, conversions.to_number(value))
        if verb.mode in "sq":
            return _format_string(verb, conversions.to_string(value))
    except ConversionError as error:
        raise FunctionError(f"unsupported value for {verb.where}: {error}") from None
    mode = _go_quote(verb.mode, "'")
    raise FunctionError(
        f"unsupported format verb {mode} in {_go_quote(verb.raw)} at offset {verb.offset}"
    )


def _pad(verb: _Verb, text: str) -> str:
    """go-cty's padding for strings and `%v`: width in characters, `0` pads with zeros even
    on the right."""
    missing = (verb.width or 0) - len(_graphemes(text))
    if missing <= 0:
        return text
    pads = ("0" if "0" in verb.flags else " ") * missing
    return text + pads if "-" in verb.flags else pads + text


def _format_string(verb: _Verb, text: str) -> str:
    if verb.precision:
        text = "".join(_graphemes(text)[: verb.precision])
    return _pad(verb, _json_string(text) if verb.mode == "q" else text)


def _sign(verb: _Verb, negative: bool) -> str:
    if negative:
        return "-"
    return "+" if "+" in verb.flags else " " if " " in verb.flags else ""


def _format_integer(verb: _Verb, number: Decimal) -> str:
    """Go's big.Int formatting: precision is a minimum digit count, `#` adds 0b/0/0x."""
    if number != number.to_integral_value():
        raise FunctionError(f"unsupported value for {verb.where}: an integer is required")
    if number.adjusted() >= 4000:
        raise FunctionError(f"unsupported value for {verb.where}: the number is too large")
    integer = int(number)
    digits = format(abs(integer), verb.mode)  # Python's b, d, o, x and X are Go's
    sign = _sign(verb, integer < 0)
    prefix = (
        {"b": "0b", "o": "0", "x": "0x", "X": "0X"}.get(verb.mode, "") if "#" in verb.flags else ""
    )
    zeros = 0
    if verb.precision is not None:
        if digits == "0" and verb.precision == 0:
            return ""
        zeros = max(verb.precision - len(digits), 0)
    missing = (verb.width or 0) - len(sign) - len(prefix) - zeros - len(digits)
    left = right = 0
    if missing > 0:
        if "-" in verb.flags:
            right = missing
        elif "0" in verb.flags and verb.precision is None:
            zeros += missing
        else:
            left = missing
    return " " * left + sign + prefix + "0" * zeros + digits + " " * right


def _format_float(verb: _Verb, number: Decimal) -> str:
    """Go's big.Float formatting (default precision 6; `%g` without one is the shortest)."""
    precision = verb.precision
    if precision is None and verb.mode in "eEf":
        precision = 6
    text = _float_text(number, verb.mode, precision)
    sign = _sign(verb, number.is_signed())
    missing = (verb.width or 0) - len(sign) - len(text)
    if missing <= 0:
        return sign + text
    if "-" in verb.flags:
        return sign + text + " " * missing
    if "0" in verb.flags:
        return sign + "0" * missing + text
    return " " * missing + sign + text


def _float_text(number: Decimal, mode: str, precision: int | None) -> str:
    """|number| as Go's big.Float prints it with `%e`, `%f` or `%g` (`None`: shortest)."""
    mantissa, exponent = _decimal_digits(number)  # number = 0.mantissa * 10**exponent
    upper = mode.isupper()
    shortest = precision is None
    if precision is None:
        precision = len(mantissa)
    elif mode in "eE":
        mantissa, exponent = _round(mantissa, exponent, 1 + precision)
    elif mode in "fF":
        mantissa, exponent = _round(mantissa, exponent, exponent + precision)
    else:
        precision = precision or 1
        mantissa, exponent = _round(mantissa, exponent, precision)
    if mode in "eE":
        return _e_text(mantissa, exponent, precision, upper)
    if mode in "fF":
        return _f_text(mantissa, exponent, precision)
    limit = precision
    if limit > len(mantissa) and len(mantissa) >= exponent:
        limit = len(mantissa)
    if shortest:
        limit = 6
    if not -4 <= exponent - 1 < limit:
        return _e_text(mantissa, exponent, min(precision, len(mantissa)) - 1, upper)
    if precision > exponent:
        precision = len(mantissa)
    return _f_text(mantissa, exponent, max(precision - exponent, 0))


def _decimal_digits(number: Decimal) -> tuple[str, int]:
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits)).lstrip("0")
    if not text:
        return "", 0
    return text.rstrip("0"), len(text) + exponent


def _round(mantissa: str, exponent: int, count: int) -> tuple[str, int]:
    """The mantissa rounded to `count` digits, half to even (Go's decimal rounding)."""
    if count < 0 or count >= len(mantissa):
        return mantissa, exponent
    digit = mantissa[count]
    if digit == "5" and count + 1 == len(mantissa):
        up = count > 0 and int(mantissa[count - 1]) % 2 == 1
    else:
        up = digit >= "5"
    if not up:
        kept = mantissa[:count].rstrip("0")
        return (kept, exponent) if kept else ("", 0)
    kept = mantissa[:count].rstrip("9")
    if not kept:
        return "1", exponent + 1
    return kept[:-1] + str(int(kept[-1]) + 1), exponent


def _e_text(mantissa: str, exponent: int, precision: int, upper: bool) -> str:
    text = mantissa[:1] or "0"
    if precision > 0:
        text += "." + mantissa[1 : 1 + precision].ljust(precision, "0")
    power = exponent - 1 if mantissa else 0
    return f"{text}{'E' if upper else 'e'}{'-' if power < 0 else '+'}{abs(power):02d}"


def _f_text(mantissa: str, exponent: int, precision: int) -> str:
    text = mantissa[:exponent].ljust(exponent, "0") if exponent > 0 else "0"
    if precision > 0:
        fraction = (
            mantissa[i] if 0 <= i < len(mantissa) else "0"
            for i in range(exponent, exponent + precision)
        )
        text += "." + "".join(fraction)
    return text


@_define("format", _p("format", "string"), variadic=_p("args", nullable=True))
def _format_function(template: str, *args: Any) -> str:
    return _format(template, args)


@_define("formatlist", _p("format", "string"), variadic=_p("args", nullable=True))
def _formatlist(template: str, *args: Any) -> list[str]:
    if not args:
        return [_format(template, args)]
    length = None
    chooser = 0
    for number, arg in enumerate(args, 1):
        if isinstance(arg, list):
            if length is None:
                length, chooser = len(arg), number
            elif len(arg) != length:
                raise FunctionError(
                    f"argument {number} has length {len(arg)}, which is inconsistent with "
                    f"argument {chooser} of length {length}",
                    "args",
                )
    results = []
    for iteration in range(1 if length is None else length):
        values = [arg[iteration] if isinstance(arg, list) else arg for arg in args]
        try:
            results.append(_format(template, values))
        except FunctionError as error:
            raise FunctionError(f"error on format iteration {iteration}: {error}") from None
    return results


# ---------------------------------------------------------------------------------------------
# Collections


@_define("length", _p("value"))
def _length(value: Any) -> Decimal:
    if isinstance(value, str):
        return Decimal(len(_graphemes(value)))
    if isinstance(value, list | dict):
        return Decimal(len(value))
    raise FunctionError(
        "argument must be a string, a collection type, or a structural type", "value"
    )


@_define("concat", variadic=_p("seqs"))
def _concat(*seqs: Any) -> list[Any]:
    if not seqs:
        raise FunctionError("at least one argument is required")
    joined: list[Any] = []
    for seq in seqs:
        if not isinstance(seq, list):
            raise FunctionError(
                f"all arguments must be lists or tuples; got {conversions.type_name(seq)}", "seqs"
            )
        joined.extend(seq)
    return joined


@_define("merge", variadic=_p("maps", nullable=True))
def _merge(*maps: Any) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for mapping in maps:
        if mapping is None:
            continue
        if not isinstance(mapping, dict):
            kind = conversions.type_name(mapping)
            raise FunctionError(f'arguments must be maps or objects, got "{kind}"', "maps")
        merged.update(mapping)
    return merged


@_define("lookup", _p("inputMap"), _p("key", "string"), variadic=_p("default", nullable=True))
def _lookup(mapping: Any, key: str, *default: Any) -> Any:
    if len(default) > 1:
        raise FunctionError(f"lookup() takes two or three arguments, got {2 + len(default)}")
    if not isinstance(mapping, dict):
        raise FunctionError("lookup() requires a map as the first argument", "inputMap")
    if key in mapping:
        return mapping[key]
    if default:
        return default[0]
    raise FunctionError(f"the given object has no attribute {_go_quote(key)}", "inputMap")


@_define("contains", _p("list"), _p("value", nullable=True))
def _contains(items: Any, value: Any) -> bool:
    if not isinstance(items, list):
        raise FunctionError("argument must be list, tuple, or set", "list")
    return any(conversions.equal(item, value) for item in items)


@_define("index", _p("list"), _p("value"))
def _index(items: Any, value: Any) -> Decimal:
    if not isinstance(items, list):
        raise FunctionError("argument must be a list or tuple", "list")
    if not items:
        raise FunctionError("cannot search an empty list", "list")
    for position, item in enumerate(items):
        if conversions.equal(item, value):
            return Decimal(position)
    raise FunctionError("item not found")


@_define("keys", _p("inputMap"))
def _keys(mapping: Any) -> list[str]:
    if not isinstance(mapping, dict):
        raise FunctionError("must have map or object type", "inputMap")
    return sorted(mapping)


@_define("values", _p("mapping"))
def _values(mapping: Any) -> list[Any]:
    if not isinstance(mapping, dict):
        raise FunctionError("values() requires a map as the first argument", "mapping")
    return [mapping[key] for key in sorted(mapping)]


@_define("range", variadic=_p("params", "number"))
def _range(*params: Decimal) -> list[Decimal]:
    if len(params) == 1:
        start, end = Decimal(0), params[0]
        step = Decimal(-1 if end < start else 1)
    elif len(params) == 2:
        start, end = params
        step = Decimal(-1 if end < start else 1)
    elif len(params) == 3:
        start, end, step = params
    else:
        raise FunctionError("must have one, two, or three arguments")
    if step == 0:
        raise FunctionError("step must not be zero", "params")
    if step < 0 and end > start:
        raise FunctionError("end must be less than start when step is negative", "params")
    if step > 0 and end < start:
        raise FunctionError("end must be greater than start when step is positive", "params")
    values: list[Decimal] = []
    number = start
    while number > end if step < 0 else number < end:
        if len(values) >= 1024:
            raise FunctionError(
                "more than 1024 values were generated; either decrease the difference between "
                "start and end or use a smaller step"
            )
        values.append(number)
        number += step
    return values


@_define("flatten", _p("list"))
def _flatten(items: Any) -> list[Any]:
    if not isinstance(items, list):
        raise FunctionError("can only flatten lists, sets and tuples", "list")
    flat: list[Any] = []
    for item in items:
        flat.extend(_flatten(item) if isinstance(item, list) else [item])
    return flat


@_define("zipmap", _p("keys", _STRING_LIST), _p("values"))
def _zipmap(keys: list[str | None], values: Any) -> dict[str, Any]:
    if not isinstance(values, list):
        raise FunctionError("values argument must be a list or tuple value", "values")
    if len(keys) != len(values):
        raise FunctionError(
            f"number of keys ({len(keys)}) does not match number of values ({len(values)})"
        )
    zipped = {}
    for index, (key, value) in enumerate(zip(keys, values, strict=True)):
        if key is None:
            raise FunctionError(f"keys list has null value at index {index}", "keys")
        zipped[key] = value
    return zipped


@_define("element", _p("list"), _p("index", "number"))
def _element(items: Any, index: Decimal) -> Any:
    if not isinstance(items, list):
        raise FunctionError(f"cannot read elements from {conversions.type_name(items)}", "list")
    position = _integer(index, "index", "invalid index: ")
    if not items:
        raise FunctionError("cannot use element function with an empty list", "list")
    return items[position % len(items)]


@_define("slice", _p("list"), _p("start_index", "number"), _p("end_index", "number"))
def _slice(items: Any, start_index: Decimal, end_index: Decimal) -> list[Any]:
    if not isinstance(items, list):
        raise FunctionError("must be a list or tuple value", "list")
    bounds = []
    for value, param, which in (
        (start_index, "start_index", "start"),
        (end_index, "end_index", "end"),
    ):
        bound = _integer(value, param, f"invalid {which} index: ")
        if bound < 0:
            raise FunctionError(f"{which} index must not be less than zero", param)
        if bound > len(items):
            raise FunctionError(
                f"{which} index must not be greater than the length of the list", param
            )
        bounds.append(bound)
    if bounds[0] > bounds[1]:
        raise FunctionError("start index must not be greater than end index", "start_index")
    return items[bounds[0] : bounds[1]]


@_define("distinct", _p("list", _LIST_OF_ONE_TYPE))
def _distinct_function(items: list[Any]) -> list[Any]:
    return _distinct(items)


@_define("sort", _p("list", _STRING_LIST))
def _sort(items: list[str | None]) -> list[str]:
    present = []
    for index, item in enumerate(items):
        if item is None:
            raise FunctionError(
                f"given list element {index} is null; a null string cannot be sorted"
            )
        present.append(item)
    return sorted(present)


@_define("reverse", _p("list"))
def _reverse(items: Any) -> list[Any]:
    if not isinstance(items, list):
        kind = conversions.type_name(items)
        raise FunctionError(f"can only reverse list or tuple values, not {kind}", "list")
    return items[::-1]


@_define("compact", _p("list", _STRING_LIST))
def _compact(items: list[str | None]) -> list[str]:
    return [item for item in items if item]


@_define("coalesce", variadic=_p("vals", nullable=True))
def _coalesce(*values: Any) -> Any:
    if not values:
        raise FunctionError("at least one argument is required")
    try:
        unified = conversions.unify(list(values))
    except ConversionError:
        raise FunctionError("all arguments must have the same type") from None
    for value in unified:
        # unified, an empty string means every argument is a string: Terraform skips those
        if value is not None and value != "":
            return value
    raise FunctionError("no non-null, non-empty-string arguments")


@_define("coalescelist", variadic=_p("vals", nullable=True))
def _coalescelist(*values: Any) -> Any:
    if not values:
        raise FunctionError("at least one argument is required")
    if any(not isinstance(value, list) for value in values if value is not None):
        raise FunctionError("coalescelist arguments must be lists or tuples", "vals")
    for value in values:
        if value:
            return value
    raise FunctionError("no non-null arguments")


@_define("one", _p("list"))
def _one(items: Any) -> Any:
    if not isinstance(items, list) or len(items) > 1:
        raise FunctionError(
            "must be a list, set, or tuple value with either zero or one elements", "list"
        )
    return items[0] if items else None


@_define("alltrue", _p("list", ("list", "bool")))
def _alltrue(items: list[bool | None]) -> bool:
    return all(item is True for item in items)


@_define("anytrue", _p("list", ("list", "bool")))
def _anytrue(items: list[bool | None]) -> bool:
    return any(item is True for item in items)


@_define("sum", _p("list"))
def _sum(items: Any) -> Decimal:
    if not isinstance(items, list):
        raise FunctionError("cannot sum noniterable", "list")
    if not items:
        raise FunctionError("cannot sum an empty list", "list")
    total = Decimal(0)
    for item in items:
        try:
            total += conversions.to_number(item)
        except ConversionError:
            raise FunctionError(
                "argument must be list, set, or tuple of number values", "list"
            ) from None
    return total


def _set_operation(name: str, combine: Callable[[list[list[Any]]], list[Any]]) -> None:
    def operation(*sets: list[Any]) -> list[Any]:
        try:
            unified = conversions.unify([item for items in sets for item in items])
        except ConversionError:
            raise FunctionError("given sets must all have compatible element types") from None
        groups = []
        for items in sets:
            groups.append(unified[: len(items)])
            unified = unified[len(items) :]
        return _as_set(combine(groups))

    first = _p("first_set", _SET_OF_ONE_TYPE)
    if name == "setsubtract":
        _define(name, _p("a", _SET_OF_ONE_TYPE), _p("b", _SET_OF_ONE_TYPE))(operation)
    else:
        _define(name, first, variadic=_p("other_sets", _SET_OF_ONE_TYPE))(operation)


def _union(groups: list[list[Any]]) -> list[Any]:
    return [item for group in groups for item in group]


def _intersection(groups: list[list[Any]]) -> list[Any]:
    others = [{_key(item) for item in group} for group in groups[1:]]
    return [item for item in groups[0] if all(_key(item) in keys for keys in others)]


def _subtraction(groups: list[list[Any]]) -> list[Any]:
    removed = {_key(item) for item in groups[1]}
    return [item for item in groups[0] if _key(item) not in removed]


_set_operation("setunion", _union)
_set_operation("setintersection", _intersection)
_set_operation("setsubtract", _subtraction)


# ---------------------------------------------------------------------------------------------
# Numbers


def _extreme(name: str, pick: Callable[..., Decimal]) -> None:
    def extreme(*numbers: Decimal) -> Decimal:
        if not numbers:
            raise FunctionError("must pass at least one number")
        return pick(numbers)

    _define(name, variadic=_p("numbers", "number"))(extreme)


_extreme("min", min)
_extreme("max", max)


@_define("abs", _p("num", "number"))
def _abs(number: Decimal) -> Decimal:
    return number.copy_abs()


@_define("ceil", _p("num", "number"))
def _ceil(number: Decimal) -> Decimal:
    return Decimal(int(number.to_integral_value(decimal.ROUND_CEILING)))


@_define("floor", _p("num", "number"))
def _floor(number: Decimal) -> Decimal:
    return Decimal(int(number.to_integral_value(decimal.ROUND_FLOOR)))


@_define("signum", _p("num", "number"))
def _signum(number: Decimal) -> Decimal:
    return Decimal((number > 0) - (number < 0))


@_define("pow", _p("num", "number"), _p("power", "number"))
def _pow(number: Decimal, power: Decimal) -> Decimal:
    if power == 0:
        return Decimal(1)  # as Go's math.Pow, also for 0 ** 0
    if number == 0 and power < 0:
        raise FunctionError("zero cannot be raised to a negative power: the result is infinite")
    if number < 0 and power != power.to_integral_value():
        raise FunctionError("a negative number cannot be raised to a fractional power")
    return number**power


@_define("log", _p("num", "number"), _p("base", "number"))
def _log(number: Decimal, base: Decimal) -> Decimal:
    if number <= 0:
        raise FunctionError("the logarithm is defined for numbers greater than zero", "num")
    if base <= 0 or base == 1:
        raise FunctionError("the base must be greater than zero and not 1", "base")
    # computed with extra digits, so that log(8, 2) rounds to exactly 3
    with decimal.localcontext(CONTEXT) as extra:
        extra.prec += 10
        result = number.ln() / base.ln()
    result = CONTEXT.plus(result)
    # a whole result is an integer, as `pow(2, 3)` is: `range(log(1024, 2))` works
    return result.to_integral_value() if result == result.to_integral_value() else result


@_define("parseint", _p("number"), _p("base", "number"))
def _parseint(text: Any, base_number: Decimal) -> Decimal:
    if not isinstance(text, str):
        kind = conversions.type_name(text)
        raise FunctionError(f"first argument must be a string, not {kind}", "number")
    base = _integer(base_number, "base")
    if not 2 <= base <= 62:
        raise FunctionError("base must be a whole number between 2 and 62 inclusive", "base")
    body = text[1:] if text[:1] in ("+", "-") else text
    value = 0
    for char in body:
        digit = _digit_value(char, base)
        if digit is None:
            value = -1
            break
        value = value * base + digit
    if not body or value < 0:
        raise FunctionError(f"cannot parse {_go_quote(text)} as a base {base} integer", "number")
    return Decimal(-value if text.startswith("-") else value)


def _digit_value(char: str, base: int) -> int | None:
    """Go's big.Int digits: 0-9, then a-z, then A-Z (letters fold case up to base 36)."""
    if "0" <= char <= "9":
        digit = ord(char) - ord("0")
    elif "a" <= char <= "z":
        digit = ord(char) - ord("a") + 10
    elif "A" <= char <= "Z":
        digit = ord(char) - ord("A") + (10 if base <= 36 else 36)
    else:
        return None
    return digit if digit < base else None


# ---------------------------------------------------------------------------------------------
# Type conversions


@_define("tostring", _p("v", nullable=True))
def _tostring(value: Any) -> str | None:
    if value is None or isinstance(value, str | Decimal | bool):
        return None if value is None else conversions.to_string(value)
    raise FunctionError(f"cannot convert {conversions.type_name(value)} to string", "v")


@_define("tonumber", _p("v", nullable=True))
def _tonumber(value: Any) -> Decimal | None:
    if value is None or isinstance(value, Decimal):
        return value
    if isinstance(value, str):
        try:
            return conversions.to_number(value)
        except ConversionError:
            raise FunctionError(
                "cannot convert this string to number; given string must be a decimal "
                "representation of a number",
                "v",
            ) from None
    raise FunctionError(f"cannot convert {conversions.type_name(value)} to number", "v")


@_define("tobool", _p("v", nullable=True))
def _tobool(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        if value in ("true", "false"):
            return value == "true"
        raise FunctionError(
            'cannot convert this string to bool; only the strings "true" or "false" are allowed',
            "v",
        )
    raise FunctionError(f"cannot convert {conversions.type_name(value)} to bool", "v")


def _unified(value: Any, shape: type, what: str) -> Any:
    """tolist, toset, tomap: the elements converted to one type."""
    try:
        if isinstance(value, shape) and isinstance(value, dict):
            return dict(zip(value, conversions.unify(list(value.values())), strict=True))
        if isinstance(value, shape) and isinstance(value, list):
            return conversions.unify(value)
    except ConversionError:
        pass
    kind = conversions.type_name(value)
    raise FunctionError(f"cannot convert {kind} to {what} of any single type", "v")


@_define("tolist", _p("v", nullable=True))
def _tolist(value: Any) -> list[Any] | None:
    return None if value is None else _unified(value, list, "list")


@_define("toset", _p("v", nullable=True))
def _toset(value: Any) -> list[Any] | None:
    return None if value is None else _as_set(_unified(value, list, "set"))


@_define("tomap", _p("v", nullable=True))
def _tomap(value: Any) -> dict[str, Any] | None:
    return None if value is None else _unified(value, dict, "map")


# ---------------------------------------------------------------------------------------------
# Encodings


# Go's encoding/json also escapes these (Terraform's jsonencode("<") is "\u003c")
_JSON_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def _json_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False).translate(_JSON_ESCAPES)


def _json(value: Any) -> str:
    """Terraform's jsonencode: compact, keys sorted, numbers as HCL writes them (`1` for 1.0)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return conversions.number_text(value)
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, list):
        return "[" + ",".join(map(_json, value)) + "]"
    items = (f"{_json_string(key)}:{_json(value[key])}" for key in sorted(value))
    return "{" + ",".join(items) + "}"


@_define("jsonencode", _p("val", nullable=True))
def _jsonencode(value: Any) -> str:
    return _json(value)


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping: dict[str, Any] = {}
    for key, value in pairs:
        if key in mapping:
            raise FunctionError(f"duplicate {_go_quote(key)} property in JSON object", "str")
        mapping[key] = value
    return mapping


def _json_constant(name: str) -> Any:
    raise FunctionError(f"{name} is not a JSON value", "str")


@_define("jsondecode", _p("str", "string"))
def _jsondecode(text: str) -> Any:
    try:
        return json.loads(
            text,
            parse_float=conversions.literal_number,
            parse_int=conversions.literal_number,
            parse_constant=_json_constant,
            object_pairs_hook=_json_object,
        )
    except json.JSONDecodeError as error:
        if error.msg == "Extra data":
            raise FunctionError("extraneous data after JSON object", "str") from None
        reason = error.msg[:1].lower() + error.msg[1:]
        raise FunctionError(
            f"{reason} at line {error.lineno}, column {error.colno}", "str"
        ) from None


@_define("yamlencode", _p("value", nullable=True))
def _yamlencode(value: Any) -> str:
    import yaml  # only here: importing PyYAML is not free, and most runs never need it

    events = [yaml.StreamStartEvent(), yaml.DocumentStartEvent(explicit=False)]
    _yaml_events(value, events, yaml)
    events += [yaml.DocumentEndEvent(explicit=False), yaml.StreamEndEvent()]
    return str(yaml.emit(events, Dumper=_yaml_dumper(), allow_unicode=True))


@functools.cache
def _yaml_dumper() -> Any:
    import yaml

    class Dumper(yaml.SafeDumper):  # type: ignore[misc]
        def check_empty_document(self) -> bool:
            return False  # as libyaml, which Terraform uses: "" is `""`, not `--- ""`

    return Dumper


def _yaml_events(value: Any, events: list[Any], yaml: Any) -> None:
    """Terraform's yamlencode: block style, strings double-quoted (literal `|` when they hold
    a newline), keys sorted."""

    def scalar(text: str, style: str | None = None) -> None:
        events.append(yaml.ScalarEvent(None, None, (True, True), text, style=style))

    if value is None:
        scalar("null")
    elif isinstance(value, bool):
        scalar("true" if value else "false")
    elif isinstance(value, Decimal):
        scalar(conversions.number_text(value))
    elif isinstance(value, str):
        scalar(value, "|" if "\n" in value else '"')
    elif isinstance(value, list):
        events.append(yaml.SequenceStartEvent(None, None, True, flow_style=False))
        for item in value:
            _yaml_events(item, events, yaml)
        events.append(yaml.SequenceEndEvent())
    else:
        events.append(yaml.MappingStartEvent(None, None, True, flow_style=False))
        for key in sorted(value):
            scalar(key, '"')
            _yaml_events(value[key], events, yaml)
        events.append(yaml.MappingEndEvent())


@_define("yamldecode", _p("src", "string"))
def _yamldecode(text: str) -> Any:
    import yaml  # see yamlencode

    loader = _yaml_loader()(text)
    try:
        if not loader.check_node():
            raise FunctionError("expecting value but found end of stream", "src")
        node = loader.get_node()
        if loader.check_node():
            where = _yaml_position(loader.peek_event().start_mark)
            raise FunctionError(f"{where}only a single document is allowed", "src")
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        reason = error.problem or error.context or "invalid YAML syntax"
        raise FunctionError(f"{_yaml_position(mark)}{reason}", "src") from None
    except yaml.YAMLError:
        raise FunctionError("invalid YAML syntax", "src") from None
    finally:
        loader.dispose()
    return _from_yaml(data, set())


def _yaml_position(mark: Any) -> str:
    return "" if mark is None else f"on line {mark.line + 1}, column {mark.column + 1}: "


_YAML = "tag:yaml.org,2002:"
_YAML_TRUE = ("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON")


@functools.cache
def _yaml_loader() -> Any:
    """PyYAML's safe loader resolving plain scalars as go-cty-yaml (Terraform's YAML) does:
    `yes`/`on`/`y` are bools, `017` is 17, `1_000` and `0b1` are strings, numbers are exact,
    timestamps become RFC 3339 strings, and tags it does not know (`!!set`) are errors."""
    import yaml

    class Loader(yaml.SafeLoader):  # type: ignore[misc]
        pass

    Loader.yaml_implicit_resolvers = {}
    resolvers = {
        "bool": (
            r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE"
            r"|on|On|ON|off|Off|OFF)$",
            "yYnNtTfFoO",
        ),
        "null": (r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
        "int": (r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
        "float": (
            r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
            "-+0123456789.",
        ),
        "merge": (r"^(?:<<)$", "<"),
        "timestamp": (
            r"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?"
            r"(?:(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?"
            r"(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)?)$",
            "0123456789",
        ),
    }
    for name, (pattern, first) in resolvers.items():
        Loader.add_implicit_resolver(_YAML + name, regex.compile(pattern), list(first))

    def boolean(loader: Any, node: Any) -> bool:
        return loader.construct_scalar(node) in _YAML_TRUE

    def number(loader: Any, node: Any) -> Decimal:
        text = str(loader.construct_scalar(node))
        if text.lower().endswith("nan"):
            raise FunctionError("floating point NaN is not supported", "src")
        if text.lower().endswith("inf"):
            raise FunctionError("floating point infinity is not supported", "src")
        try:
            if text[:2] in ("0o", "0x"):
                return Decimal(int(text[2:], 8 if text[1] == "o" else 16))
            return conversions.literal_number(text)
        except (ValueError, ArithmeticError):
            raise FunctionError(f"cannot parse {_go_quote(text)} as a number", "src") from None

    def timestamp(loader: Any, node: Any) -> str:
        moment = yaml.SafeLoader.construct_yaml_timestamp(loader, node)
        if not isinstance(moment, datetime.datetime):
            moment = datetime.datetime(moment.year, moment.month, moment.day)
        offset = moment.utcoffset()
        zone = "Z"
        if offset:
            minutes = int(offset.total_seconds()) // 60
            sign = "-" if minutes < 0 else "+"
            zone = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
        return str(moment.strftime("%Y-%m-%dT%H:%M:%S")) + zone

    def mapping(loader: Any, node: Any, deep: bool = False) -> dict[str, Any]:
        # keys become strings as they are read: as Python keys, 1 and true would be one key
        loader.flatten_mapping(node)
        constructed = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=deep)
            where = _yaml_position(key_node.start_mark)
            if key is None:
                raise FunctionError(f"{where}mapping key cannot be null", "src")
            if not isinstance(key, str | Decimal | bool):
                raise FunctionError(f"{where}only strings are allowed as mapping keys", "src")
            constructed[conversions.to_string(key)] = loader.construct_object(value_node, deep)
        return constructed

    def binary(loader: Any, node: Any) -> str:
        text = str(loader.construct_scalar(node))
        _base64(text, "src")
        return text  # Terraform keeps !!binary as the Base64 text

    Loader.construct_mapping = mapping
    known = ("null", "str", "seq", "map")
    Loader.yaml_constructors = {
        tag: constructor
        for tag, constructor in yaml.SafeLoader.yaml_constructors.items()
        if tag is None or tag in (_YAML + name for name in known)
    }
    for name, constructor in (
        ("bool", boolean),
        ("int", number),
        ("float", number),
        ("timestamp", timestamp),
        ("binary", binary),
    ):
        Loader.add_constructor(_YAML + name, constructor)
    return Loader


def _from_yaml(data: Any, path: set[int]) -> Any:
    """A copy of PyYAML's value (an alias shares its anchor's object) that refuses cycles."""
    if isinstance(data, list | dict):
        if id(data) in path:
            raise FunctionError("an alias refers to its anchor from inside its definition", "src")
        inside = path | {id(data)}
        if isinstance(data, list):
            return [_from_yaml(item, inside) for item in data]
        return {key: _from_yaml(value, inside) for key, value in data.items()}
    return data


def _base64(text: str, param: str) -> bytes:
    """Standard Base64 with padding; line breaks are ignored, as Go's decoder does."""
    try:
        return base64.b64decode(text.replace("\r", "").replace("\n", ""), validate=True)
    except ValueError:
        raise FunctionError("failed to decode base64 data: it is not valid Base64", param) from None


@_define("base64encode", _p("str", "string"))
def _base64encode(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@_define("base64decode", _p("str", "string"))
def _base64decode(text: str) -> str:
    try:
        return _base64(text, "str").decode()
    except UnicodeDecodeError:
        raise FunctionError(
            "the result of decoding the provided string is not valid UTF-8", "str"
        ) from None


@_define("urlencode", _p("str", "string"))
def _urlencode(text: str) -> str:
    return urllib.parse.quote_plus(text, safe="")


# ---------------------------------------------------------------------------------------------
# Files


def _resolve(context: FunctionContext, path: str) -> Path:
    """Relative to the project directory; `~` is the home directory, as in Terraform."""
    expanded = os.path.expanduser(path) if path.startswith("~") else path
    return Path(os.path.normpath(Path(context.root) / expanded))


def _read(context: FunctionContext, path: str) -> bytes:
    resolved = _resolve(context, path)
    try:
        return resolved.read_bytes()
    except FileNotFoundError:
        raise FunctionError(
            f"no file exists at {_go_quote(path)} (looked for {resolved}); file functions read "
            "files that are part of the project when the configuration is evaluated, so a "
            "file a step writes must reach other steps as that step's output instead",
            "path",
        ) from None
    except IsADirectoryError:
        raise FunctionError(f"{_go_quote(path)} is a directory, not a file", "path") from None
    except OSError as error:
        reason = error.strerror or "it cannot be read"
        raise FunctionError(f"cannot read {_go_quote(path)}: {reason}", "path") from None


def _text(context: FunctionContext, path: str) -> str:
    try:
        return _read(context, path).decode()
    except UnicodeDecodeError:
        raise FunctionError(
            f"contents of {_go_quote(path)} are not valid UTF-8; use the filebase64 function "
            "to obtain the Base64 encoded contents"
        ) from None


@_define("file", _p("path", "string"), reads_files=True)
def _file(context: FunctionContext, path: str) -> str:
    return _text(context, path)


@_define("filebase64", _p("path", "string"), reads_files=True)
def _filebase64(context: FunctionContext, path: str) -> str:
    return base64.b64encode(_read(context, path)).decode()


@_define("fileexists", _p("path", "string"), reads_files=True)
def _fileexists(context: FunctionContext, path: str) -> bool:
    resolved = _resolve(context, path)
    try:
        if resolved.is_file():
            return True
        exists = resolved.exists()
    except OSError:
        raise FunctionError(f"failed to stat {_go_quote(path)}", "path") from None
    if not exists:
        return False
    if resolved.is_dir():
        raise FunctionError(f"{_go_quote(path)} is a directory, not a file", "path")
    raise FunctionError(f"{_go_quote(path)} is not a regular file", "path")


_IN_TEMPLATE: contextvars.ContextVar[bool] = contextvars.ContextVar("in_template", default=False)
_IDENTIFIER = regex.compile(r"^[\p{ID_Start}_][\p{ID_Continue}-]*$")


@_define("templatefile", _p("path", "string"), _p("vars"), reads_files=True)
def _templatefile(context: FunctionContext, path: str, variables: Any) -> Any:
    if _IN_TEMPLATE.get():
        raise FunctionError(
            "cannot recursively call templatefile from inside another template function"
        )
    if not isinstance(variables, dict):
        raise FunctionError("invalid vars value: must be a map", "vars")
    for name in variables:
        if not _IDENTIFIER.match(name):
            raise FunctionError(
                f"invalid template variable name {_go_quote(name)}: must start with a letter, "
                "followed by zero or more letters, digits, and underscores",
                "vars",
            )
    text = _text(context, path)
    token = _IN_TEMPLATE.set(True)
    try:
        return context.render_template(text, variables)
    except ValueError as error:  # the evaluator's errors, or a function's inside the template
        param = getattr(error, "param", None)
        detail = f'Invalid value for "{param}" parameter: {error}.' if param else str(error)
        raise FunctionError(f"{_go_quote(path)}: {detail}") from error
    finally:
        _IN_TEMPLATE.reset(token)


FUNCTION_NAMES: tuple[str, ...] = tuple(sorted([*_FUNCTIONS, *_EVALUATOR_FUNCTIONS]))
READS_FILES: frozenset[str] = frozenset(
    name for name, function in _FUNCTIONS.items() if function.reads_files
)
