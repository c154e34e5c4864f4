"""A small, safe evaluator for HCL expressions: `validation` conditions and what string
templates interpolate (`zenctl.config.templates` parses those into the same tree).

python-hcl2 hands expressions back as text (`${var.x > 0}`); this parses that text into a tree
of tuples (picklable, so it lives in the config cache) and evaluates it against variable
values. No Python `eval`: only what is listed in specs/language.md is understood.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from zenctl.config.types import TypeMismatch, convert_value, describe
from zenctl.diagnostics import SourceRange

Expr = tuple[Any, ...]

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
    | (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<name>[A-Za-z_][A-Za-z0-9_-]*)
    | (?P<op>&&|\|\||==|!=|<=|>=|[-+*/%<>!?:()\[\],.])
    )""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
_BINARY = (("||",), ("&&",), ("==", "!="), ("<", "<=", ">", ">="), ("+", "-"), ("*", "/", "%"))
_KEYWORDS = {"true": True, "false": False, "null": None}
_NONE: Mapping[str, Any] = {}


class ExpressionError(ValueError):
    """The expression cannot be parsed, or cannot be evaluated on these values; `range`:
    where in a template the failing interpolation is, when known."""

    def __init__(self, message: str, range: SourceRange | None = None) -> None:
        super().__init__(message)
        self.range = range


def parse(text: str, names: frozenset[str] = frozenset()) -> Expr:
    """The tree of `text`; `names` are the bare names in scope (a template's `for` items)."""
    parser = _Parser(_tokens(text), names)
    expr = parser.conditional()
    if parser.peek() is not None:
        raise ExpressionError(f"unexpected `{parser.peek()}` in `{text}`")
    return expr


def variables_used(expr: Any) -> set[str]:
    """The `var.NAME` names a condition reads."""
    if not isinstance(expr, tuple):
        return set()
    if expr and expr[0] == "var":
        return {expr[1]}
    return set().union(*(variables_used(part) for part in expr))


def evaluate(expr: Expr, variables: Mapping[str, Any], names: Mapping[str, Any] = _NONE) -> Any:
    """The value of `expr`; `names` holds the `for` directives' items in scope."""
    kind = expr[0]
    if kind == "lit":
        return expr[1]
    if kind == "var":
        return variables[expr[1]]
    if kind == "name":
        return names[expr[1]]
    if kind in _TEMPLATES:
        return _TEMPLATES[kind](expr, variables, names)
    if kind == "list":
        return [evaluate(item, variables, names) for item in expr[1]]
    if kind == "get":
        return _get(evaluate(expr[1], variables, names), evaluate(expr[2], variables, names))
    if kind == "call":
        if expr[1] == "can":  # the one function that must see its argument fail
            try:
                evaluate(expr[2][0], variables, names)
            except ExpressionError:
                return False
            return True
        args = [evaluate(arg, variables, names) for arg in expr[2]]
        try:
            return _FUNCTIONS[expr[1]](*args)
        except ExpressionError:
            raise
        except (TypeError, ValueError) as exc:  # e.g. min() of nothing
            raise ExpressionError(f"{expr[1]}(): {exc}") from None
    if kind == "not":
        return not _bool(evaluate(expr[1], variables, names), "!")
    if kind == "neg":
        return -_number(evaluate(expr[1], variables, names), "-")
    if kind == "if":
        chosen = expr[2] if _bool(evaluate(expr[1], variables, names), "?") else expr[3]
        return evaluate(chosen, variables, names)
    op, left = expr[1], evaluate(expr[2], variables, names)
    if op in ("&&", "||"):  # short-circuit, as HCL does
        if _bool(left, op) is (op == "||"):
            return left
        return _bool(evaluate(expr[3], variables, names), op)
    right = evaluate(expr[3], variables, names)
    if op == "==":
        return _same(left, right)
    if op == "!=":
        return not _same(left, right)
    a, b = _number(left, op), _number(right, op)
    if op in ("/", "%") and b == 0:
        raise ExpressionError("division by zero")
    return _ARITHMETIC[op](a, b)


def _template(expr: Expr, variables: Mapping[str, Any], names: Mapping[str, Any]) -> str:
    pieces: list[str] = []
    for part in expr[1]:
        value = evaluate(part, variables, names)
        pieces.append(_interpolated(value, part) if part[0] == "interp" else value)
    return "".join(pieces)


def _interpolation(expr: Expr, variables: Mapping[str, Any], names: Mapping[str, Any]) -> Any:
    try:
        return evaluate(expr[1], variables, names)
    except ExpressionError as exc:
        raise ExpressionError(f"`{expr[2]}`: {exc}", exc.range or expr[3]) from None


def _interpolated(value: Any, part: Expr) -> str:
    """HCL's conversion to string: `true`, `1000` for 1e3; a collection or null is refused."""
    try:
        text: str = convert_value(value, "string")
    except TypeMismatch:
        what = "null" if value is None else f"a {describe(value)}"
        raise ExpressionError(
            f"`{part[2]}` is {what}; a string template can only include a string, a "
            "number or a bool",
            part[3],
        ) from None
    return text


def _if(expr: Expr, variables: Mapping[str, Any], names: Mapping[str, Any]) -> str:
    """`%{ if cond }...%{ else }...%{ endif }`: both branches are templates, so strings."""
    condition = evaluate(expr[1], variables, names)
    if not isinstance(condition, bool):
        raise ExpressionError(f"`{expr[1][2]}` needs a bool, got {describe(condition)}", expr[1][3])
    branch: str = evaluate(expr[2] if condition else expr[3], variables, names)
    return branch


def _for(expr: Expr, variables: Mapping[str, Any], names: Mapping[str, Any]) -> str:
    """`%{ for v in coll }` / `%{ for k, v in coll }`: lists by index, maps by sorted key."""
    _, key, value, collection_expr, body = expr
    collection = evaluate(collection_expr, variables, names)
    if isinstance(collection, list):
        pairs: list[tuple[Any, Any]] = list(enumerate(collection))
    elif isinstance(collection, dict):
        pairs = sorted(collection.items())
    else:
        raise ExpressionError(
            f"`{collection_expr[2]}` needs a list or a map, got {describe(collection)}",
            collection_expr[3],
        )
    return "".join(
        evaluate(body, variables, {**names, value: item} | ({key: index} if key else {}))
        for index, item in pairs
    )


_TEMPLATES: dict[str, Callable[[Expr, Mapping[str, Any], Mapping[str, Any]], Any]] = {
    "template": _template,
    "interp": _interpolation,
    "if_directive": _if,
    "for_directive": _for,
}

_ARITHMETIC: dict[str, Callable[[float, float], Any]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "%": lambda a, b: a % b,
}


def _same(a: Any, b: Any) -> bool:
    """HCL equality: a number and a bool are never equal, unlike Python's `1 == True`."""
    return (type(a) is type(b) and a == b) or (_is_number(a) and _is_number(b) and a == b)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: Any, op: str) -> float:
    if not _is_number(value):
        raise ExpressionError(f"`{op}` needs numbers, got {describe(value)}")
    return float(value) if isinstance(value, float) else int(value)


def _bool(value: Any, op: str) -> bool:
    if not isinstance(value, bool):
        raise ExpressionError(f"`{op}` needs a bool, got {describe(value)}")
    return value


def _get(collection: Any, key: Any) -> Any:
    try:
        if isinstance(collection, list) and _is_number(key):
            return collection[int(key)]
        if isinstance(collection, dict) and isinstance(key, str):
            return collection[key]
    except (IndexError, KeyError):
        raise ExpressionError(f"no element {key!r}") from None
    raise ExpressionError(f"cannot index a {describe(collection)} with a {describe(key)}")


def _length(value: Any) -> int:
    if not isinstance(value, str | list | dict):
        raise ExpressionError(f"length() needs a string, list or map, got {describe(value)}")
    return len(value)


def _contains(collection: Any, value: Any) -> bool:
    if not isinstance(collection, list):
        raise ExpressionError(f"contains() needs a list, got {describe(collection)}")
    return any(_same(item, value) for item in collection)


def _regex(pattern: Any, text: Any) -> Any:
    """Terraform's regex(): the match, its groups as a list, or named groups as a map."""
    if not isinstance(pattern, str) or not isinstance(text, str):
        raise ExpressionError("regex() needs a pattern string and a string")
    try:
        match = re.search(pattern, text)
    except re.error as exc:
        raise ExpressionError(f"invalid regular expression: {exc}") from None
    if match is None:
        raise ExpressionError("pattern did not match")
    if match.re.groupindex:
        return match.groupdict()
    return list(match.groups()) if match.re.groups else match.group(0)


def _string(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        if not all(isinstance(arg, str) for arg in args):
            raise ExpressionError(f"{name}() needs strings")
        return function(*args)

    return call


def _all(name: str, combine: Callable[[list[bool]], bool]) -> Callable[[Any], bool]:
    def call(values: Any) -> bool:
        if not isinstance(values, list):
            raise ExpressionError(f"{name}() needs a list of bools")
        return combine([_bool(value, f"{name}()") for value in values])

    return call


def _numbers(name: str, combine: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        return combine(*(_number(arg, f"{name}()") for arg in args))

    return call


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "length": _length,
    "contains": _contains,
    "regex": _regex,
    "lower": _string("lower", str.lower),
    "upper": _string("upper", str.upper),
    "startswith": _string("startswith", str.startswith),
    "endswith": _string("endswith", str.endswith),
    "alltrue": _all("alltrue", all),
    "anytrue": _all("anytrue", any),
    "min": _numbers("min", min),
    "max": _numbers("max", max),
    "abs": _numbers("abs", abs),
}
_ARITY = {
    **dict.fromkeys(("can", "length", "lower", "upper", "alltrue", "anytrue", "abs"), 1),
    **dict.fromkeys(("contains", "regex", "startswith", "endswith"), 2),
}
FUNCTION_NAMES = sorted([*_FUNCTIONS, "can"])


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ExpressionError(f"unexpected `{text[position:].strip()[:10]}` in `{text}`")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    """Recursive descent over HCL's precedence: `?:`, `||`, `&&`, equality, comparison,
    `+ -`, `* / %`, unary `! -`, then postfix `.name` and `[index]`."""

    def __init__(self, tokens: list[tuple[str, str]], names: frozenset[str]) -> None:
        self.tokens = tokens
        self.position = 0
        self.names = names

    def peek(self) -> str | None:
        return self.tokens[self.position][1] if self.position < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.position >= len(self.tokens):
            raise ExpressionError("the expression ends too early")
        token = self.tokens[self.position]
        if expected is not None and token[1] != expected:
            raise ExpressionError(f"expected `{expected}`, found `{token[1]}`")
        self.position += 1
        return token

    def conditional(self) -> Expr:
        condition = self.binary(0)
        if self.peek() != "?":
            return condition
        self.take("?")
        then = self.conditional()
        self.take(":")
        return ("if", condition, then, self.conditional())

    def binary(self, level: int) -> Expr:
        if level == len(_BINARY):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek() in _BINARY[level]:
            op = self.take()[1]
            left = ("op", op, left, self.binary(level + 1))
        return left

    def unary(self) -> Expr:
        if self.peek() == "!":
            self.take()
            return ("not", self.unary())
        if self.peek() == "-":
            self.take()
            return ("neg", self.unary())
        return self.postfix(self.primary())

    def postfix(self, expr: Expr) -> Expr:
        while self.peek() in (".", "["):
            if self.take()[1] == ".":
                kind, name = self.take()
                if kind not in ("name", "number"):
                    raise ExpressionError(f"expected an attribute name after `.`, found `{name}`")
                key: Any = int(name) if kind == "number" else name
                expr = ("get", expr, ("lit", key))
            else:
                expr = ("get", expr, self.conditional())
                self.take("]")
        return expr

    def primary(self) -> Expr:
        kind, text = self.take()
        if kind == "number":
            number = float(text)
            return ("lit", int(number) if number.is_integer() and "." not in text else number)
        if kind == "string":
            if "${" in text or "%{" in text:
                raise ExpressionError("a string template inside an expression is not supported yet")
            return ("lit", re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[0]), text[1:-1]))
        if text == "(":
            inner = self.conditional()
            self.take(")")
            return inner
        if text == "[":
            return ("list", self.items("]"))
        if kind != "name":
            raise ExpressionError(f"unexpected `{text}`")
        if text in _KEYWORDS:
            return ("lit", _KEYWORDS[text])
        if text in self.names:
            return ("name", text)
        if text == "var":
            self.take(".")
            return ("var", self.take()[1])
        if self.peek() == "(":
            return self.call(text)
        raise ExpressionError(f"unknown name `{text}`: expressions read var.NAME")

    def call(self, name: str) -> Expr:
        if name not in FUNCTION_NAMES:
            raise ExpressionError(
                f"function {name}() is not supported; use one of {', '.join(FUNCTION_NAMES)}"
            )
        self.take("(")
        args = self.items(")")
        expected = _ARITY.get(name)  # min() and max() take any number
        if expected is not None and len(args) != expected:
            raise ExpressionError(f"{name}() takes {expected} argument(s), got {len(args)}")
        return ("call", name, args)

    def items(self, closing: str) -> tuple[Expr, ...]:
        """Comma-separated expressions up to `closing`: list items or call arguments."""
        found: list[Expr] = []
        while self.peek() != closing:
            found.append(self.conditional())
            if self.peek() != closing:
                self.take(",")
        self.take(closing)
        return tuple(found)
