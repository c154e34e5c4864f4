"""HCL string templates, as hclsyntax's spec defines them: literal text, `${ expr }`
interpolations, `%{ if }`/`%{ else }`/`%{ endif }` and `%{ for }`/`%{ endfor }` directives,
the strip markers (`~` after the opening or before the closing brace: `${~ x ~}`, `%{~ if c ~}`)
and the escapes `$${` and `%%{`.

A template parses into the tuple tree of `zenctl.config.expressions` (so it pickles into the
config cache and one evaluator serves conditions and templates):

  ("template", parts)                             parts joined as strings
  ("interp", expr, shown, range)                  an expression as written (`${var.n}`, or
                                                  `%{ if var.b }`) and where, for its errors
  ("if_directive", ("interp", ...), ("template", ...), ("template", ...))
  ("for_directive", key or None, value, ("interp", ...), ("template", ...))
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from zenctl.config.expressions import Expr, ExpressionError, parse

if TYPE_CHECKING:
    from zenctl.config.values import Locator

_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_-]*"
_FOR = re.compile(rf"for\s+({_IDENTIFIER})\s*(?:,\s*({_IDENTIFIER})\s*)?\s+in\s+(.+)", re.DOTALL)
_IF = re.compile(r"if\b(.+)", re.DOTALL)


@dataclass(frozen=True)
class _Sequence:
    """One `${ }` or `%{ }` as written, before the tree is built."""

    directive: bool
    text: str  # between the braces, strip markers removed
    strip_before: bool
    strip_after: bool


def parse_template(
    body: str,
    unescape: Callable[[str], str] | None = None,
    locate: Locator | None = None,
) -> Expr:
    """The tree of a template's text: a quoted string's (`unescape` turns its backslash
    escapes into text) or a heredoc's lines (None: no backslash escapes, as in HCL).

    A template that is one interpolation and nothing else is unwrapped, as HCL does: its
    value keeps its type (`"${var.n}"` is a number). ExpressionError on bad syntax."""
    items = _stripped(_scan(body, unescape))
    if len(items) == 1 and isinstance(items[0], _Sequence) and not items[0].directive:
        return _Builder(items, locate).interpolation(items[0], frozenset())
    return _Builder(items, locate).template(frozenset())


def _scan(body: str, unescape: Callable[[str], str] | None) -> list[str | _Sequence]:
    """Literal text and sequences, in order; escapes turned into the text they stand for."""
    items: list[str | _Sequence] = []
    literal: list[str] = []
    position = 0

    def flush() -> None:
        if literal:
            text = "".join(literal)
            items.append(unescape(text) if unescape else text)
            literal.clear()

    while position < len(body):
        if body.startswith(("$${", "%%{"), position):
            literal.append(body[position + 1 : position + 3])
            position += 3
        elif body.startswith(("${", "%{"), position):
            end = _sequence_end(body, position + 2)
            inner = body[position + 2 : end]
            flush()
            items.append(
                _Sequence(
                    body[position] == "%",
                    inner.removeprefix("~").removesuffix("~").strip(),
                    inner.startswith("~"),
                    inner.endswith("~"),
                )
            )
            position = end + 1
        else:
            literal.append(body[position])
            position += 1
    flush()
    return items


def _sequence_end(text: str, start: int) -> int:
    """Where the `}` closing a sequence opened just before `start` is; nested braces and
    quoted strings (with their own sequences) inside the expression are skipped."""
    depth = 0
    position = start
    while position < len(text):
        char = text[position]
        if char == '"':
            position = _string_end(text, position + 1)
        elif char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                return position
            depth -= 1
        position += 1
    raise ExpressionError(f"`{text[start - 2 : start + 20].strip()}` is never closed with `}}`")


def _string_end(text: str, start: int) -> int:
    position = start
    while position < len(text):
        if text[position] == "\\":
            position += 2
        elif text[position] == '"':
            return position
        elif text.startswith(("$${", "%%{"), position):
            position += 3
        elif text.startswith(("${", "%{"), position):
            position = _sequence_end(text, position + 2) + 1
        else:
            position += 1
    raise ExpressionError("a string inside an interpolation is never closed")


def _stripped(items: list[str | _Sequence]) -> list[str | _Sequence]:
    """Strip markers remove the whitespace (newlines too) of the literal beside them."""
    result = list(items)
    for index, item in enumerate(result):
        if not isinstance(item, _Sequence):
            continue
        before = result[index - 1] if index > 0 else None
        after = result[index + 1] if index + 1 < len(result) else None
        if item.strip_before and isinstance(before, str):
            result[index - 1] = before.rstrip()
        if item.strip_after and isinstance(after, str):
            result[index + 1] = after.lstrip()
    return result


class _Builder:
    """Nests the flat items into the tree: directives open and close sub-templates."""

    def __init__(self, items: list[str | _Sequence], locate: Locator | None) -> None:
        self.items = items
        self.position = 0
        self.locate = locate

    def template(
        self,
        names: frozenset[str],
        closing: tuple[str, ...] = (),
        opener: _Sequence | None = None,
    ) -> Expr:
        """Parts up to one of the `closing` directives, which `opener` needs."""
        parts: list[Expr] = []
        while self.position < len(self.items):
            item = self.items[self.position]
            if isinstance(item, str):
                self.position += 1
                if item:
                    parts.append(("lit", item))
                continue
            keyword = item.text.split(None, 1)[0] if item.text else ""
            if item.directive and keyword in closing:
                break
            self.position += 1
            if not item.directive:
                parts.append(self.interpolation(item, names))
            elif keyword == "if":
                parts.append(self.if_directive(item, names))
            elif keyword == "for":
                parts.append(self.for_directive(item, names))
            else:
                raise self.error(_misplaced(item.text, closing), item.text)
        else:
            if opener:
                raise self.error(f"`%{{ {opener.text} }}` has no %{{ {closing[-1]} }}", opener.text)
        return ("template", tuple(parts))

    def error(self, message: str, text: str) -> ExpressionError:
        """An error located at `text`, the sequence it is about."""
        return ExpressionError(message, self.locate(text) if self.locate else None)

    def interpolation(self, item: _Sequence, names: frozenset[str]) -> Expr:
        return self.expression(item.text, names, f"${{{item.text}}}")

    def expression(self, text: str, names: frozenset[str], shown: str) -> Expr:
        try:
            return ("interp", parse(text, names), shown, self.locate(text) if self.locate else None)
        except ExpressionError as exc:
            raise self.error(f"`{shown}`: {exc}", text) from None

    def if_directive(self, item: _Sequence, names: frozenset[str]) -> Expr:
        match = _IF.fullmatch(item.text)
        if match is None:
            raise self.error("%{ if } needs a condition: %{ if var.NAME }", item.text)
        condition = self.expression(match.group(1).strip(), names, f"%{{ {item.text} }}")
        then = self.template(names, ("else", "endif"), item)
        otherwise: Expr = ("template", ())
        if self._close(("else", "endif")) == "else":
            otherwise = self.template(names, ("endif",), item)
            self._close(("endif",))
        return ("if_directive", condition, then, otherwise)

    def for_directive(self, item: _Sequence, names: frozenset[str]) -> Expr:
        match = _FOR.fullmatch(item.text)
        if match is None:
            raise self.error(
                "write the for directive as %{ for ITEM in COLLECTION } or "
                "%{ for KEY, VALUE in COLLECTION }",
                item.text,
            )
        first, second, collection = match.groups()
        key, value = (first, second) if second else (None, first)
        inner = names | {first, second or first}
        body = self.template(inner, ("endfor",), item)
        self._close(("endfor",))
        collection_expr = self.expression(collection.strip(), names, f"%{{ {item.text} }}")
        return ("for_directive", key, value, collection_expr, body)

    def _close(self, allowed: tuple[str, ...]) -> str:
        """Consume the directive that ends a sub-template (`template` stopped at it)."""
        item = self.items[self.position]
        assert isinstance(item, _Sequence)
        if item.text not in allowed:
            raise self.error(f"`%{{ {item.text} }}` takes no expression", item.text)
        self.position += 1
        return item.text


def _misplaced(text: str, closing: tuple[str, ...]) -> str:
    keyword = text.split(None, 1)[0] if text else ""
    if keyword in ("else", "endif", "endfor"):
        opener = "for" if keyword == "endfor" else "if"
        return f"%{{ {keyword} }} without a matching %{{ {opener} }}" + (
            f" (a %{{ {closing[-1]} }} is expected here)" if closing else ""
        )
    return f"`%{{ {text} }}` is not a directive: templates have %{{ if }} and %{{ for }}"
