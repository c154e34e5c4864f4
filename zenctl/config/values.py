"""Turn python-hcl2's serialized expressions into plain values, references and templates.

python-hcl2 hands back strings with their quotes (`'"a"'`), heredocs as their source lines,
expressions wrapped as `'${...}'` and bare words as they are; zenctl supports literals,
references and string templates (`zenctl.config.templates`), and reports anything else
(arithmetic or function calls outside a template) as unsupported rather than guessing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from zenctl.config.model import Ref, Template
from zenctl.diagnostics import SourceRange

_TRAVERSAL = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)+")
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_SOLE_REFERENCE = re.compile(rf"\$\{{\s*({_TRAVERSAL.pattern})\s*\}}")
_META_KEYS = (
    "__comments__",
    "__inline_comments__",
    "__is_block__",
    "__start_line__",
    "__end_line__",
)


Locator = Callable[[str], "SourceRange | None"]


class UnsupportedExpression(ValueError):
    """An HCL expression zenctl does not evaluate; the message says what was found, `range`
    where (inside a template), when known."""

    def __init__(self, message: str, range: SourceRange | None = None) -> None:
        super().__init__(message)
        self.range = range


def convert(raw: Any, locate: Locator | None = None) -> Any:
    """Convert one serialized HCL value; references become `Ref`, interpolations `Template`.

    `locate` finds a reference's text in the source so that its diagnostics point at it.
    """
    if raw is None or isinstance(raw, bool | int | float):
        return raw
    if isinstance(raw, list):
        return [convert(item, locate) for item in raw]
    if isinstance(raw, dict):
        return {unquote(str(k)): convert(v, locate) for k, v in raw.items() if k not in _META_KEYS}
    text = str(raw)
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return _template(text[1:-1], locate)
    if text.startswith("${") and text.endswith("}"):
        return _expression(text[2:-1].strip(), locate)
    raise UnsupportedExpression(
        f'`{text}` is not a value here. Quote strings ("{text}") or reference a '
        "variable with var.NAME."
    )


def bare_word(raw: Any) -> str | None:
    """The text of an unquoted word or call such as `number` or `list(string)`, else None."""
    text = str(raw)
    if text.startswith("${") and text.endswith("}"):
        text = text[2:-1]
    if text.startswith('"') or not text or not isinstance(raw, str):
        return None
    return text.strip()


def _unescape(text: str) -> str:
    # python-hcl2 (and lark under it) would cost every warm plan ~25 ms of imports; only
    # parsing HCL, which a warm plan skips, needs it
    from hcl2.utils import process_escape_sequences

    return process_escape_sequences(text)


def unquote(key: str) -> str:
    if len(key) >= 2 and key[0] == '"' and key[-1] == '"':
        return _unescape(key[1:-1])
    return key


def _expression(expr: str, locate: Locator | None) -> Any:
    if _TRAVERSAL.fullmatch(expr):
        return Ref(tuple(expr.split(".")), locate(expr) if locate else None)
    if _NUMBER.fullmatch(expr):
        number = float(expr)
        return (
            int(number)
            if number.is_integer() and "." not in expr and "e" not in expr.lower()
            else number
        )
    raise UnsupportedExpression(
        f"The expression `{expr}` is not supported: zenctl evaluates literals, references "
        "(var.NAME, source.NAME, step.NAME.outputs.OUTPUT) and string interpolation."
    )


def _template(body: str, locate: Locator | None) -> Any:
    """A quoted string's or heredoc's value: text, a `Ref`, or a `Template` to evaluate per
    plan when it reads variables (one that reads none is evaluated now)."""
    from zenctl.config.expressions import ExpressionError, evaluate, variables_used
    from zenctl.config.templates import parse_template

    heredoc = body.startswith("<<")
    sole = None if heredoc else _SOLE_REFERENCE.fullmatch(body)
    if sole and not sole[1].startswith("var."):
        return _expression(sole[1], locate)  # "${step.a.outputs.b}" is that reference
    try:
        if heredoc:
            expr = parse_template(_heredoc_text(body), None, locate)
        else:
            expr = parse_template(body, _unescape, locate)
        used = sorted(variables_used(expr))
        if not used:
            return evaluate(expr, {})  # a constant: its value now, once
    except ExpressionError as exc:
        raise UnsupportedExpression(
            f"This template cannot be evaluated: {exc}.", exc.range
        ) from None
    if expr[0] == "interp" and expr[1][0] == "var":
        return Ref(("var", expr[1][1]), expr[3])  # "${var.x}" keeps var.x's type, as in HCL
    located = (Ref(("var", name), locate(f"var.{name}") if locate else None) for name in used)
    return Template(expr, tuple(located))


def _heredoc_text(body: str) -> str:
    """python-hcl2 keeps a heredoc as `<<EOT\n...\nEOT`: its text is the lines between, each
    with its newline; `<<-EOT` removes the indentation they share."""
    lines = body.split("\n")[1:-1]
    text = "".join(f"{line}\n" for line in lines)
    return _dedent(text) if body.startswith("<<-") else text


def _dedent(text: str) -> str:
    lines = text.split("\n")
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    cut = min(indents, default=0)
    return "\n".join(line[cut:] for line in lines)


def references(value: Any) -> list[Ref]:
    """Every reference inside a converted value, in order of appearance."""
    if isinstance(value, Ref):
        return [value]
    if isinstance(value, Template):
        return list(value.refs)
    if isinstance(value, list):
        return [ref for item in value for ref in references(item)]
    if isinstance(value, dict):
        return [ref for item in value.values() for ref in references(item)]
    return []
