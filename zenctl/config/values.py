"""Turn python-hcl2's serialized expressions into plain values, references and templates.

python-hcl2 hands back strings with their quotes (`'"a"'`), expressions wrapped as `'${...}'`
and bare words as they are; zenctl supports literals, references and string interpolation,
and reports anything else (arithmetic, function calls) as unsupported rather than guessing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from zenctl.config.model import Ref, Template
from zenctl.config.types import number_as_written
from zenctl.diagnostics import SourceRange

_TRAVERSAL = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)+")
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_INTERPOLATION = re.compile(r"(?<!\$)\$\{([^}]*)\}")
_META_KEYS = (
    "__comments__",
    "__inline_comments__",
    "__is_block__",
    "__start_line__",
    "__end_line__",
)


Locator = Callable[[str], "SourceRange | None"]


class UnsupportedExpression(ValueError):
    """An HCL expression zenctl does not evaluate; the message says what was found."""


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
        return number_as_written(expr)
    raise UnsupportedExpression(
        f"The expression `{expr}` is not supported: zenctl evaluates literals, references "
        "(var.NAME, source.NAME, step.NAME.outputs.OUTPUT) and string interpolation."
    )


def _template(body: str, locate: Locator | None) -> Any:
    if body.startswith("<<"):
        # python-hcl2 keeps heredocs as `<<EOT\n...\nEOT`; the value is the lines between.
        lines = body.split("\n")
        text = "\n".join(lines[1:-1]) + "\n"
        return text if not body.startswith("<<-") else _dedent(text)
    pieces: list[str | Ref] = []
    cursor = 0
    for match in _INTERPOLATION.finditer(body):
        if match.start() > cursor:
            pieces.append(_unescape(body[cursor : match.start()]))
        value = _expression(match.group(1).strip(), locate)
        if not isinstance(value, Ref):
            value = str(value)
        pieces.append(value)
        cursor = match.end()
    if cursor < len(body):
        pieces.append(_unescape(body[cursor:]).replace("$${", "${"))
    if len(pieces) == 1 and isinstance(pieces[0], Ref):
        return pieces[0]  # "${var.x}" keeps var.x's type, as in HCL
    if all(isinstance(piece, str) for piece in pieces):
        return "".join(str(piece) for piece in pieces)
    return Template(tuple(pieces))


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
        return [part for part in value.parts if isinstance(part, Ref)]
    if isinstance(value, list):
        return [ref for item in value for ref in references(item)]
    if isinstance(value, dict):
        return [ref for item in value.values() for ref in references(item)]
    return []
