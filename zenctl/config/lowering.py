"""python-hcl2's syntax tree, lowered into `zenctl.config.expressions`' tree.

python-hcl2 parses the whole expression language; it evaluates nothing. This walks its rule
objects once, at load, and keeps only what evaluation needs (plus where each part was
written, for diagnostics). Two things python-hcl2 leaves to its caller are done here: a
quoted string's escapes (HCL's set, the rest refused) and a heredoc's template, which it
keeps as one token of text.

One module on purpose, over 400 lines: python-hcl2's rule tree is lowered by one recursive
walk whose cases call one another (templates inside expressions inside templates); the
template scanner is the part to move out first.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from zenctl.config.chunks import BlockCache, parse_blocks
from zenctl.config.conversions import literal_number
from zenctl.config.tree import (
    SPLAT_ITEM,
    Binary,
    Call,
    Conditional,
    ExpressionError,
    For,
    ForDirective,
    GetAttr,
    IfDirective,
    Index,
    Literal,
    Name,
    Node,
    ObjectCons,
    Splat,
    Template,
    TupleCons,
    Unary,
)
from zenctl.diagnostics import Position, SourceRange

_ESCAPE = re.compile(r"\\(?:U([0-9A-Fa-f]{8})|u([0-9A-Fa-f]{4})|(.))", re.DOTALL)
_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_-]*"
_FOR_DIRECTIVE = re.compile(
    rf"for\s+({_IDENTIFIER})\s*(?:,\s*({_IDENTIFIER})\s*)?\s+in\s+(.+)", re.DOTALL
)


def parse_document(text: str, cache: BlockCache | None = None) -> tuple[Any, Marks]:
    """python-hcl2's document of HCL text, with the strip markers its grammar lacks hidden
    first: the marks `hide_strip_markers` returns go to `Lowering`. With a `cache`, the
    file's blocks are parsed one by one and only those whose text it has not seen. Raises
    what lark raises on a syntax error (many types; each carries a position)."""
    from hcl2.query.body import DocumentView

    cleaned, marks = hide_strip_markers(text)
    if cache is None:
        from zenctl.config.fastparse import parse

        return DocumentView(parse(cleaned)), marks
    return DocumentView(parse_blocks(cleaned, cache)), marks


class NotOneExpression(Exception):
    """Text that is not one HCL expression; `reason` ends a message that starts with it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_value(text: str) -> tuple[Any, Marks]:
    """python-hcl2's rule of one expression written as text (an expression to evaluate, a
    template's sequence, a `--var` value), parsed as the value of an attribute, and the
    marks for `Lowering`; NotOneExpression when it is not one."""
    try:
        document, marks = parse_document(f"value = {text}\n")
    except Exception as exc:  # lark raises many types; all carry a position
        raise NotOneExpression(f"could not be parsed ({_lark_reason(exc)})") from None
    attributes = document.attributes()
    if len(attributes) != 1:
        raise NotOneExpression("is not one expression")
    return attributes[0].value_node.raw, marks


def parse_expression(source: str, filename: str = "<expression>") -> Node:
    """The tree of one expression's text, parsed as the value of an attribute."""
    try:
        rule, marks = parse_value(source)
    except NotOneExpression as exc:
        raise ExpressionError("Invalid expression", f"`{source.strip()}` {exc.reason}.") from None
    return Lowering(filename, marks=marks).lower(rule)


def parse_template_text(text: str, filename: str = "<template>") -> Node:
    """A template file's text (templatefile()): literal text with `${}` and `%{}`."""
    return Lowering(filename).template_text(text, None)


def _lark_reason(exc: Exception) -> str:
    token = str(getattr(exc, "token", "") or "").strip()
    return f"unexpected `{token}`" if token else "unexpected end"


Marks = dict[tuple[int, int], tuple[bool, bool]]


def hide_strip_markers(text: str) -> tuple[str, Marks]:
    """The text with each strip marker of a quoted string's `${~ x ~}` blanked out, and
    where they were: (line, column) of the `${` -> (strip before, strip after).

    HCL allows them; python-hcl2's grammar does not. Blanking keeps every position, so the
    parse tree's ranges stay right and `Lowering` strips the text beside them itself."""
    if "~" not in text:
        return text, {}
    from zenctl.config.tokens import FormatError, Kind, tokenize

    try:
        tokens = tokenize(text)
    except FormatError:
        return text, {}  # python-hcl2 reports the syntax error
    starts = [0, *(index + 1 for index, char in enumerate(text) if char == "\n")]
    chars = list(text)
    marks: Marks = {}
    for token in tokens:
        if token.kind is not Kind.STRING or "~" not in token.text:
            continue
        base = starts[token.line - 1] + token.column  # the offset just after the quote
        try:
            items = _scan(token.text[1:-1])
        except ExpressionError:
            continue
        for item in items:
            if isinstance(item, str) or item.directive:
                continue  # directives' markers python-hcl2 reads itself
            if not (item.strip_before or item.strip_after):
                continue
            start = base + item.offset
            if item.strip_before:
                chars[start + 2] = " "
            if item.strip_after:
                chars[start + len(item.source) - 2] = " "
            line = bisect.bisect_right(starts, start)
            marks[(line, start - starts[line - 1] + 1)] = (item.strip_before, item.strip_after)
    return "".join(chars), marks


class Lowering:
    """Lowers the rules of one file; `fixed` gives every node one range (the sequence of a
    heredoc, whose text python-hcl2 does not parse); `marks` are the strip markers
    `hide_strip_markers` took out of the file's text."""

    def __init__(
        self, filename: str, fixed: SourceRange | None = None, marks: Marks | None = None
    ) -> None:
        self.filename = filename
        self.fixed = fixed
        self.marks = marks or {}

    def where(self, rule: Any) -> SourceRange | None:
        if self.fixed is not None:
            return self.fixed
        meta = getattr(rule, "_meta", None)
        if meta is None or getattr(meta, "empty", True):
            return None
        return SourceRange(
            self.filename,
            Position(meta.line, meta.column),
            Position(meta.end_line, meta.end_column),
        )

    def lower(self, rule: Any) -> Node:
        method = _RULES.get(type(rule).__name__)
        if method is None:
            raise ExpressionError(
                "Unsupported expression",
                f"zenctl does not evaluate `{_text(rule)}` ({type(rule).__name__}).",
                self.where(rule),
            )
        node: Node = method(self, rule)
        return node

    # -- terms ---------------------------------------------------------------------------

    def expr_term(self, rule: Any) -> Node:
        return self.lower(rule.expression)

    def literal_value(self, rule: Any) -> Node:
        word = str(rule.token.value)
        return Literal({"true": True, "false": False, "null": None}[word], range=self.where(rule))

    def number(self, rule: Any) -> Node:
        return Literal(literal_number(str(rule.token.value)), range=self.where(rule))

    def identifier(self, rule: Any) -> Node:
        return Name(str(rule.token.value), range=self.where(rule))

    def tuple(self, rule: Any) -> Node:
        return TupleCons(tuple(map(self.lower, rule.elements)), range=self.where(rule))

    def object(self, rule: Any) -> Node:
        items = []
        for element in rule.elements:
            key_rule = element.key
            if type(key_rule).__name__ == "ObjectElemKeyExpressionRule":
                expression = key_rule.expression
                if getattr(expression, "parentheses", False):
                    key = self.lower(expression)
                else:
                    key = self._unambiguous_key(expression)
            else:
                inner = key_rule.value
                kind = type(inner).__name__
                if kind in _WORD_KEYS:
                    key = Literal(str(inner.token.value), range=self.where(inner))
                elif kind in ("StringRule", "HeredocTemplateRule", "HeredocTrimTemplateRule") or (
                    kind == "ExprTermRule" and inner.parentheses
                ):
                    key = self.lower(inner)
                else:
                    key = self._unambiguous_key(inner)
            items.append((key, self.lower(element.expression)))
        return ObjectCons(tuple(items), range=self.where(rule))

    def _unambiguous_key(self, rule: Any) -> Node:
        """A key written bare is a name or a string; `a.b = 1` could mean either, so HCL
        refuses it."""
        inner = self.lower(rule)
        if isinstance(inner, Literal):
            return inner
        if isinstance(inner, Name):
            return Literal(inner.name, range=inner.range)
        raise ExpressionError(
            "Ambiguous attribute key",
            "If this key is meant as a reference, wrap it in parentheses: (var.k) = 1. If it "
            'is a name with periods, quote it: "a.b" = 1.',
            self.where(rule),
        )

    def function_call(self, rule: Any) -> Node:
        names = [str(identifier.token.value) for identifier in rule.identifiers]
        where = self.where(rule)
        if len(names) != 1:
            raise ExpressionError(
                "Unsupported function",
                f'"{"::".join(names)}" is a provider function, which zenctl does not have.',
                where,
            )
        name = names[0]
        check_function(name, where)
        arguments = rule.arguments
        args = tuple(map(self.lower, arguments.arguments)) if arguments else ()
        expand = bool(arguments and arguments.has_ellipsis)
        return Call(name, args, expand, range=where)

    # -- operators -----------------------------------------------------------------------

    def binary_op(self, rule: Any) -> Node:
        term = rule.binary_term
        op = str(term.binary_operator.token.value).strip()
        return Binary(
            op, self.lower(rule.expr_term), self.lower(term.expr_term), range=self.where(rule)
        )

    def unary_op(self, rule: Any) -> Node:
        return Unary(rule.operator.strip(), self.lower(rule.expr_term), range=self.where(rule))

    def conditional(self, rule: Any) -> Node:
        return Conditional(
            self.lower(rule.condition),
            self.lower(rule.if_true),
            self.lower(rule.if_false),
            range=self.where(rule),
        )

    # -- traversals ----------------------------------------------------------------------

    def get_attr(self, rule: Any) -> Node:
        return self.traverse(self.lower(rule.expr_term), rule.get_attr, self.where(rule))

    def index(self, rule: Any) -> Node:
        return self.traverse(self.lower(rule.children[0]), rule.children[1], self.where(rule))

    def traverse(self, source: Node, step: Any, where: SourceRange | None) -> Node:
        """One `.name`, `.0` or `[key]` applied to `source`."""
        kind = type(step).__name__
        if kind == "GetAttrRule":
            return GetAttr(source, str(step.identifier.token.value), range=where)
        if kind == "ShortIndexRule":
            key: Node = Literal(literal_number(str(step.index.value)), range=where)
        else:
            key = self.lower(step.index_expression)
        return Index(source, key, range=where)

    def full_splat(self, rule: Any) -> Node:
        where = self.where(rule)
        each: Node = Name(SPLAT_ITEM, range=where)
        for step in rule.attr_splat.get_attrs:
            each = self.traverse(each, step, where)
        source = self.lower(rule.expr_term)
        if isinstance(source, Splat) and not rule.expr_term.parentheses:
            # `a[*][*].n`: the second splat reaches into each element of the first
            return Splat(source.source, Splat(source.each, each, range=where), range=where)
        return Splat(source, each, range=where)

    def attr_splat(self, rule: Any) -> Node:
        """`.*` takes the attribute lookups that follow; an index after them applies to the
        list it made (HCL's spec: `tuple.*.foo[0]` is `[for v in tuple: v.foo][0]`)."""
        where = self.where(rule)
        steps = list(rule.attr_splat.get_attrs)
        attributes = 0
        while attributes < len(steps) and type(steps[attributes]).__name__ in (
            "GetAttrRule",
            "ShortIndexRule",  # the legacy `.0` is an attribute-style step
        ):
            attributes += 1
        each: Node = Name(SPLAT_ITEM, range=where)
        for step in steps[:attributes]:
            each = self.traverse(each, step, where)
        result: Node = Splat(self.lower(rule.expr_term), each, range=where)
        for step in steps[attributes:]:
            result = self.traverse(result, step, where)
        return result

    # -- for expressions -----------------------------------------------------------------

    def for_tuple(self, rule: Any) -> Node:
        return self.for_expression(rule, None)

    def for_object(self, rule: Any) -> Node:
        return self.for_expression(rule, rule.key_expr)

    def for_expression(self, rule: Any, key_rule: Any) -> Node:
        intro = rule.for_intro
        first = str(intro.first_iterator.token.value)
        second = intro.second_iterator
        key_name, value_name = (first, str(second.token.value)) if second else (None, first)
        condition = rule.condition
        return For(
            key_name,
            value_name,
            self.lower(intro.iterable),
            self.lower(rule.value_expr),
            self.lower(key_rule) if key_rule is not None else None,
            self.lower(condition.condition_expr) if condition is not None else None,
            key_rule is not None and rule.ellipsis is not None,
            range=self.where(rule),
        )

    # -- templates -----------------------------------------------------------------------

    def string(self, rule: Any) -> Node:
        events: list[_Event] = []
        where = self.where(rule)
        for part in rule.string_parts:
            self._flatten(part.content, events, where)
        return self.build(events, where)

    def template_string(self, rule: Any) -> Node:
        return Literal(self.unescape(rule.inner_value, self.where(rule)), range=self.where(rule))

    def heredoc(self, rule: Any) -> Node:
        token = str(rule.heredoc.value if hasattr(rule, "heredoc") else rule.children[0].value)
        lines = token.split("\n")[1:-2]  # the marker lines, and the text after the last newline
        text = "".join(f"{line}\n" for line in lines)
        cut = 0
        if token.startswith("<<-"):
            indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
            cut = min(indents, default=0)
            text = "".join(f"{line[cut:]}\n" for line in lines)
        return self.template_text(text, self.where(rule), cut)

    def template_text(self, text: str, where: SourceRange | None, cut: int = 0) -> Node:
        """A template written as plain text (a heredoc's lines, a template file): its
        sequences are found here and each expression parsed on its own."""
        first_line = where.start.line + 1 if where else 1
        events: list[_Event] = []
        for item in _scan(text):
            if isinstance(item, str):
                events.append(_Event("text", item))
                continue
            line = first_line + text.count("\n", 0, item.offset)
            column = item.offset - text.rfind("\n", 0, item.offset) + cut
            at = SourceRange(
                where.filename if where else self.filename,
                Position(line, column),
                Position(line, column + len(item.source)),
            )
            events.append(self._sequence_event(item, at))
        return self.build(events, where)

    def _sequence_event(self, item: _Sequence, at: SourceRange) -> _Event:
        inner = Lowering(at.filename, at)
        if not item.directive:
            return _Event(
                "interp", inner.parsed(item.text, at), item.strip_before, item.strip_after
            )
        keyword = item.text.split(None, 1)[0] if item.text.strip() else ""
        if keyword in ("else", "endif", "endfor"):
            if item.text.strip() != keyword:
                raise ExpressionError(
                    "Invalid template directive", f"%{{ {keyword} }} takes no expression.", at
                )
            return _Event(keyword, None, item.strip_before, item.strip_after, at)
        if keyword == "if":
            condition = inner.parsed(item.text.strip()[2:], at)
            return _Event("if", condition, item.strip_before, item.strip_after, at)
        if keyword == "for":
            match = _FOR_DIRECTIVE.fullmatch(item.text.strip())
            if match is None:
                raise ExpressionError(
                    "Invalid template directive",
                    "Write a for directive as %{ for ITEM in COLLECTION } or "
                    "%{ for KEY, ITEM in COLLECTION }.",
                    at,
                )
            first, second, collection = match.groups()
            names = (first, second) if second else (None, first)
            return _Event(
                "for",
                (names, inner.parsed(collection, at)),
                item.strip_before,
                item.strip_after,
                at,
            )
        raise ExpressionError(
            "Invalid template directive",
            f"`%{{{item.text}}}` is not a directive: templates have %{{ if }}, %{{ else }}, "
            "%{ endif }, %{ for } and %{ endfor }.",
            at,
        )

    def parsed(self, text: str, at: SourceRange) -> Node:
        """One sequence's expression, every node of it located at the sequence."""
        try:
            rule, marks = parse_value(f"(\n{text}\n)")  # a sequence may span lines
        except NotOneExpression as exc:
            raise ExpressionError(
                "Invalid template interpolation", f"`{text.strip()}` {exc.reason}.", at
            ) from None
        return Lowering(self.filename, self.fixed, marks).lower(rule)

    def _flatten(self, content: Any, events: list[_Event], where: SourceRange | None) -> None:
        """A quoted string's parts as a flat list of events, directives unnested again so
        that strip markers reach across them as they do in HCL."""
        kind = type(content).__name__
        if kind == "InterpolationRule":
            meta = content._meta
            before, after = self.marks.get((meta.line, meta.column), (False, False))
            events.append(_Event("interp", self.lower(content.expression), before, after))
        elif kind in ("TemplateIfRule", "TemplateForRule"):
            for child in content.children:
                if type(child).__name__ == "StringPartRule":
                    self._flatten(child.content, events, where)
                else:
                    self._flatten(child, events, where)
        elif kind == "TemplateIfStartRule":
            events.append(self._directive("if", self.lower(content.condition), content))
        elif kind == "TemplateForStartRule":
            first, second = content.iterator, content.key_iterator  # python-hcl2's order
            names = (
                (str(first.token.value), str(second.token.value))
                if second is not None
                else (None, str(first.token.value))
            )
            events.append(self._directive("for", (names, self.lower(content.collection)), content))
        elif kind == "TemplateElseRule":
            events.append(self._directive("else", None, content))
        elif kind == "TemplateEndifRule":
            events.append(self._directive("endif", None, content))
        elif kind == "TemplateEndforRule":
            events.append(self._directive("endfor", None, content))
        else:  # a token: literal text, or an escaped `$${` / `%%{`
            text = str(content.value)
            name = content.lark_name()
            if name in ("ESCAPED_INTERPOLATION", "ESCAPED_DIRECTIVE"):
                # python-hcl2 takes `$${...}` up to its `}` as one token: only the `$${` is
                # the escape, the rest is text with the string's own escapes
                events.append(_Event("text", text[1:3] + self.unescape(text[3:], where)))
            else:
                events.append(_Event("text", self.unescape(text, where)))

    def _directive(self, kind: str, value: Any, rule: Any) -> _Event:
        return _Event(kind, value, rule.strip_open, rule.strip_close, self.where(rule))

    def unescape(self, text: str, where: SourceRange | None) -> str:
        """HCL's escapes in quoted text; any other backslash is an error, as in HCL."""

        def replace(match: re.Match[str]) -> str:
            long, short, other = match.groups()
            if other is not None:
                if other in _SIMPLE_ESCAPES:
                    return _SIMPLE_ESCAPES[other]
                detail = (
                    "The \\u escape takes four hex digits (\\u00e9) and \\U eight."
                    if other in "uU"
                    else f'"\\{other}" is not an escape: use \\n, \\r, \\t, \\", \\\\, '
                    "\\uNNNN or \\UNNNNNNNN, and write a backslash as \\\\."
                )
                raise ExpressionError("Invalid escape sequence", detail, where)
            code = int(long or short, 16)
            if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
                raise ExpressionError(
                    "Invalid escape sequence",
                    f"\\{'U' if long else 'u'}{long or short} is not a character (a surrogate "
                    "half or beyond Unicode); write the character itself, or its \\U code.",
                    where,
                )
            return chr(code)

        return _ESCAPE.sub(replace, text)

    def build(self, events: list[_Event], where: SourceRange | None) -> Node:
        """The template tree of a flat list of events; a template that is one interpolation
        and nothing else is that expression, keeping its type (HCL's rule)."""
        _strip(events)
        builder = _Builder(events)
        template = builder.template(())
        if builder.position < len(events):
            event = events[builder.position]
            raise ExpressionError(
                "Invalid template directive",
                f"%{{ {event.kind} }} without a matching "
                f"%{{ {'for' if event.kind == 'endfor' else 'if'} }}.",
                event.range or where,
            )
        parts = template.parts
        if len(parts) == 1 and len(events) == 1 and events[0].kind == "interp":
            return parts[0]
        if not parts:
            return Literal("", range=where)
        texts = [part.value for part in parts if isinstance(part, Literal)]
        if len(texts) == len(parts) and all(isinstance(text, str) for text in texts):
            return Literal(unicodedata.normalize("NFC", "".join(texts)), range=where)
        return Template(parts, range=where)


@dataclass
class _Event:
    kind: str  # "text", "interp", "if", "else", "endif", "for", "endfor"
    value: Any
    strip_before: bool = False
    strip_after: bool = False
    range: SourceRange | None = None


def _strip(events: list[_Event]) -> None:
    """Strip markers remove the whitespace, newlines included, of the text beside them."""
    for index, event in enumerate(events):
        if event.strip_before and index > 0 and events[index - 1].kind == "text":
            events[index - 1].value = events[index - 1].value.rstrip()
        if event.strip_after and index + 1 < len(events) and events[index + 1].kind == "text":
            events[index + 1].value = events[index + 1].value.lstrip()


class _Builder:
    def __init__(self, events: list[_Event]) -> None:
        self.events = events
        self.position = 0

    def template(self, closing: tuple[str, ...], opener: _Event | None = None) -> Template:
        parts: list[Node] = []
        while self.position < len(self.events):
            event = self.events[self.position]
            if event.kind in closing:
                break
            if event.kind in ("else", "endif", "endfor"):
                if opener is None:
                    break  # reported by the caller
                expected = "%{ endfor }" if opener.kind == "for" else "%{ endif }"
                raise ExpressionError(
                    "Invalid template directive",
                    f"%{{ {event.kind} }} cannot close this %{{ {opener.kind} }}: {expected} "
                    "is expected.",
                    event.range,
                )
            self.position += 1
            if event.kind == "text":
                if event.value:
                    parts.append(Literal(event.value))
            elif event.kind == "interp":
                parts.append(event.value)
            elif event.kind == "if":
                then = self.template(("else", "endif"), event)
                otherwise = Template(())
                if self._close(event, ("else", "endif")) == "else":
                    otherwise = self.template(("endif",), event)
                    self._close(event, ("endif",))
                parts.append(IfDirective(event.value, then, otherwise, range=event.range))
            else:
                (key_name, value_name), collection = event.value
                body = self.template(("endfor",), event)
                self._close(event, ("endfor",))
                parts.append(
                    ForDirective(key_name, value_name, collection, body, range=event.range)
                )
        else:
            if opener is not None:
                raise ExpressionError(
                    "Unterminated template directive",
                    f"This %{{ {opener.kind} }} has no %{{ end{opener.kind} }}.",
                    opener.range,
                )
        return Template(tuple(parts))

    def _close(self, opener: _Event, allowed: tuple[str, ...]) -> str:
        event = self.events[self.position]
        assert event.kind in allowed
        self.position += 1
        return event.kind


@dataclass(frozen=True)
class _Sequence:
    """One `${ }` or `%{ }` in template text, as written."""

    directive: bool
    text: str  # between the braces, strip markers removed
    strip_before: bool
    strip_after: bool
    offset: int  # where it starts in the text
    source: str  # as written, braces included


def _scan(body: str) -> list[str | _Sequence]:
    """Literal text and sequences, in order; `$${` and `%%{` turned into the text."""
    items: list[str | _Sequence] = []
    literal: list[str] = []
    position = 0
    while position < len(body):
        if body.startswith(("$${", "%%{"), position):
            literal.append(body[position + 1 : position + 3])
            position += 3
        elif body.startswith(("${", "%{"), position):
            end = _sequence_end(body, position + 2)
            inner = body[position + 2 : end]
            if literal:
                items.append("".join(literal))
                literal.clear()
            items.append(
                _Sequence(
                    body[position] == "%",
                    inner.removeprefix("~").removesuffix("~"),
                    inner.startswith("~"),
                    inner.endswith("~"),
                    position,
                    body[position : end + 1],
                )
            )
            position = end + 1
        else:
            literal.append(body[position])
            position += 1
    if literal:
        items.append("".join(literal))
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
    shown = text[start - 2 : start + 20].split("\n")[0].strip()
    raise ExpressionError("Unterminated template sequence", f"`{shown}` is never closed with `}}`.")


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
    raise ExpressionError(
        "Unterminated string", "A string inside an interpolation is never closed."
    )


def check_function(name: str, where: SourceRange | None) -> None:
    from zenctl.config.functions import FUNCTION_NAMES
    from zenctl.diagnostics import suggest

    if name not in FUNCTION_NAMES:
        raise ExpressionError(
            "Call to unknown function",
            f'There is no function named "{name}".' + suggest(name, FUNCTION_NAMES),
            where,
        )


def _text(rule: Any) -> str:
    try:
        return str(rule.to_hcl()) if hasattr(rule, "to_hcl") else type(rule).__name__
    except Exception:  # only for a message about a rule python-hcl2 itself made
        return type(rule).__name__


# object keys written as a bare word or a number: the key is the text itself
_WORD_KEYS = ("IdentifierRule", "KeywordRule", "LiteralValueRule", "IntLitRule", "FloatLitRule")

_RULES: dict[str, Callable[[Lowering, Any], Node]] = {
    "ExprTermRule": Lowering.expr_term,
    "LiteralValueRule": Lowering.literal_value,
    "IntLitRule": Lowering.number,
    "FloatLitRule": Lowering.number,
    "IdentifierRule": Lowering.identifier,
    "TupleRule": Lowering.tuple,
    "ObjectRule": Lowering.object,
    "FunctionCallRule": Lowering.function_call,
    "BinaryOpRule": Lowering.binary_op,
    "UnaryOpRule": Lowering.unary_op,
    "ConditionalRule": Lowering.conditional,
    "GetAttrExprTermRule": Lowering.get_attr,
    "IndexExprTermRule": Lowering.index,
    "FullSplatExprTermRule": Lowering.full_splat,
    "AttrSplatExprTermRule": Lowering.attr_splat,
    "ForTupleExprRule": Lowering.for_tuple,
    "ForObjectExprRule": Lowering.for_object,
    "StringRule": Lowering.string,
    "TemplateStringRule": Lowering.template_string,
    "HeredocTemplateRule": Lowering.heredoc,
    "HeredocTrimTemplateRule": Lowering.heredoc,
}
