"""python-hcl2's tree of HCL text without lark: regex scanners and a recursive descent.

python-hcl2 parses with lark's LALR parser (a contextual lexer, its postlexer, positions
propagated into every node) and then turns lark's tree into its own rule objects with its
`RuleTransformer`; on a 1,000-step pipeline that is most of a cold plan, and loading lark's
grammar from python-hcl2's cache takes ~45 ms before the first parse. `parse_fast` builds
the same rule objects directly: it reads the text the way that grammar does, gives every
node the `Meta` lark would have given it, and calls the transformer's own methods with the
children lark would have passed them, so python-hcl2's shaping of its nodes (placeholders,
keyword names made identifiers) is its own code, not a copy.

It answers only where it is sure to build what python-hcl2 builds: anything it does not
implement, or any text that is not valid HCL, gives None and the caller parses with
python-hcl2, whose errors are the ones users see. Not implemented: the `\\"…\\"` template
string, and where lark's contextual lexer decides by its parser state's lookaheads: a
negative number right after an operand (`a -1`), a keyword (`in`, `for`, `if`, …) right
after a newline where an operand starts, and keywords or `true`/`false`/`null` as a `for`'s
variables or after `::`.

One module on purpose, over 400 lines: the scanners stand for lark's lexer states and the
recursive descent for its grammar's rules; each function follows one rule and they call one
another, so split up they would only import each other back.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from typing import Any, NamedTuple

from hcl2.postlexer import OPERATOR_TYPES
from hcl2.rules.base import StartRule
from hcl2.transformer import RuleTransformer
from lark.tree import Meta

# A node's place in the text, as lark's `Meta` holds it: line, column, start_pos, end_line,
# end_column, end_pos; None for a node that covers no text (an empty body).
_Span = tuple[int, int, int, int, int, int] | None
_Item = tuple[Any, _Span]
_Callback = Callable[[Meta, list[Any]], Any]  # a RuleTransformer method: (meta, children) -> node
# lark's `Meta` is untyped, and its `container_*` fields are set only where positions propagate
_new_meta: Callable[[], Any] = Meta

_NL_OR_COMMENT = r"(?P<NL_OR_COMMENT>\n[ \t]*|\#.*\n|//.*\n|/\*(?:.|\n)*?\*/)"
_NAME = r"(?P<NAME>[a-zA-Z_][a-zA-Z0-9_-]*)"
_INT = r"(?P<INT_LITERAL>(?:-[0-9])?[0-9]+)"
_FLOAT = (
    r"(?P<FLOAT_LITERAL>(?:(?:-[0-9])?[0-9]+|(?:-[0-9])+)\.[0-9]+(?:[eE][+-]?[0-9]+)?"
    r"|(?:(?:-[0-9])?[0-9]+|(?:-[0-9])+)[eE][+-]?[0-9]+)"
)
_HEREDOCS = (
    r"(?P<HEREDOC_TEMPLATE>"
    r"<<(?P<heredoc>[a-zA-Z][a-zA-Z0-9._-]*)\r?\n(?:(?:.|\n)*?\r?\n)??\s*(?P=heredoc)\r?\n)"
    r"|(?P<HEREDOC_TEMPLATE_TRIM>"
    r"<<-(?P<heredoc_trim>[a-zA-Z][a-zA-Z0-9._-]*)\r?\n(?:(?:.|\n)*?\r?\n)??\s*"
    r"(?P=heredoc_trim)\r?\n)"
)
_WS = r"(?P<WS>[ \t\r]+)"  # the grammar's %ignore
_CLOSERS = r"|(?P<RSQB>\])|(?P<RBRACE>\})|(?P<RPAR>\))"

# Lark's contextual lexer matches only the terminals the parser state accepts, first match
# in lark's order (longer patterns first). Four scanners stand for its states: where an
# operand starts (numbers may be negative, `<<` opens a heredoc), after an operand or a name
# (operators, punctuation; `=` and `:` take the blanks before them, as their terminals do),
# after a `.` (no float: `a.0.1` is two indexes), and inside a quoted string.
_OPERAND = re.compile(
    "|".join(
        (
            _NL_OR_COMMENT,
            _HEREDOCS,
            _FLOAT,
            _INT,
            _NAME,
            _WS,
            r"(?P<DBLQUOTE>\")|(?P<LPAR>\()|(?P<LSQB>\[)|(?P<LBRACE>\{)|(?P<MINUS>-)|(?P<NOT>!)",
        )
    )
    + _CLOSERS
)
_CODE = re.compile(
    "|".join(
        (
            r"(?P<EQ>[ \t]*=(?!=|>))|(?P<COLON>[ \t]*:(?!:))",
            _WS,
            _NL_OR_COMMENT,
            _NAME,
            r"(?P<ELLIPSIS>\.\.\.)|(?P<ATTR_SPLAT>\.\*)|(?P<FULL_SPLAT_START>\[\*\])",
            r"(?P<DOUBLE_EQ>==)|(?P<NEQ>!=)|(?P<LEQ><=)|(?P<GEQ>>=)|(?P<DOUBLE_AMP>&&)",
            r"(?P<DOUBLE_PIPE>\|\|)|(?P<FOR_OBJECT_ARROW>=>)|(?P<COLONS>::)",
            r"(?P<NEGATIVE>-[0-9])|(?P<LT><)|(?P<GT>>)|(?P<PLUS>\+)|(?P<MINUS>-)|(?P<ASTERISK>\*)|(?P<SLASH>/)",
            r"(?P<PERCENT>%)|(?P<QMARK>\?)|(?P<DOT>\.)|(?P<LSQB>\[)|(?P<LPAR>\()",
            r"(?P<LBRACE>\{)|(?P<COMMA>,)|(?P<DBLQUOTE>\")|(?P<STRIP_MARKER>~)",
        )
    )
    + _CLOSERS
)
_AFTER_DOT = re.compile("|".join((_WS, _NAME, _INT)))
_STRING = re.compile(
    r"(?P<ESCAPED_INTERPOLATION>\$\$\{[^}]*\})|(?P<ESCAPED_DIRECTIVE>%%\{[^}]*\})"
    r"|(?P<STRING_CHARS>(?:(?!\$\$\{)(?!\$\{)(?!%%\{)(?!%\{)[^\"\\]|\\.|(?:\$(?!\$?\{))"
    r"|(?:%(?!%?\{)))+)"
    r"|(?P<DBLQUOTE>\")|(?P<INTERP_START>\$\{)|(?P<DIRECTIVE_START>%\{)"
)

_KEYWORDS = {
    "in": "IN",
    "for": "FOR",
    "if": "IF",
    "for_each": "FOR_EACH",
    "else": "ELSE",
    "endif": "ENDIF",
    "endfor": "ENDFOR",
}
_LITERALS = {"true": "TRUE", "false": "FALSE", "null": "NULL"}
# Operands that are one token under a rule of their own: token type -> the rule (`_Rules`).
_ONE_TOKEN = {
    "INT_LITERAL": "int_lit",
    "FLOAT_LITERAL": "float_lit",
    "HEREDOC_TEMPLATE": "heredoc_template",
    "HEREDOC_TEMPLATE_TRIM": "heredoc_template_trim",
}

# Binding strength of each binary operator, loosest first (the grammar's ladder of rules).
_LEVELS = {
    "DOUBLE_PIPE": 0,
    "DOUBLE_AMP": 1,
    "DOUBLE_EQ": 2,
    "NEQ": 2,
    "LT": 3,
    "GT": 3,
    "LEQ": 3,
    "GEQ": 3,
    "PLUS": 4,
    "MINUS": 4,
    "ASTERISK": 5,
    "SLASH": 5,
    "PERCENT": 5,
}
_UNARY = len(set(_LEVELS.values()))  # above every binary level


class _Unsure(Exception):
    """The text is not valid HCL, or uses what this parser leaves to python-hcl2."""


class _Token(NamedTuple):
    """A terminal as lark's lexer would make it; `value` may carry the newline the postlexer
    merged into an operator, while `start`/`end` stay the operator's own."""

    type: str
    value: str
    start: int
    end: int


class _Rules:
    """The transformer's callbacks, bound once and unwrapped: lark's `v_args` wrapper is
    rebuilt on every attribute access, and only matters to lark's own tree walk."""

    start: _Callback
    body: _Callback
    attribute: _Callback
    block: _Callback
    new_line_or_comment: _Callback
    identifier: _Callback
    keyword: _Callback
    literal_value: _Callback
    int_lit: _Callback
    float_lit: _Callback
    string: _Callback
    string_part: _Callback
    interpolation: _Callback
    heredoc_template: _Callback
    heredoc_template_trim: _Callback
    expr_term: _Callback
    conditional: _Callback
    binary_operator: _Callback
    binary_term: _Callback
    unary_op: _Callback
    binary_op: _Callback
    tuple: _Callback
    object: _Callback
    object_elem: _Callback
    object_elem_key: _Callback
    arguments: _Callback
    function_call: _Callback
    index_expr_term: _Callback
    braces_index: _Callback
    short_index: _Callback
    get_attr: _Callback
    get_attr_expr_term: _Callback
    attr_splat: _Callback
    attr_splat_expr_term: _Callback
    full_splat: _Callback
    full_splat_expr_term: _Callback
    for_tuple_expr: _Callback
    for_object_expr: _Callback
    for_intro: _Callback
    for_cond: _Callback
    template_if_start: _Callback
    template_else: _Callback
    template_endif: _Callback
    template_for_start: _Callback
    template_endfor: _Callback

    def __init__(self) -> None:
        transformer = RuleTransformer()
        for name, annotation in _Rules.__annotations__.items():
            if annotation == "_Callback":
                setattr(self, name, getattr(transformer, name).base_func)
        self.token_callbacks: dict[str, Callable[[Any], Any]] = {
            name: getattr(transformer, name) for name in ("NAME", "INT_LITERAL", "FLOAT_LITERAL")
        }
        self.default_token: Callable[[Any], Any] = transformer.__default_token__

    def token(self, token: _Token) -> Any:
        callback = self.token_callbacks.get(token.type, self.default_token)
        return callback(token)


_rules: _Rules | None = None


def parse(text: str) -> StartRule:
    """python-hcl2's tree of `text`, built here where `parse_fast` is sure of it, by
    python-hcl2 otherwise: its syntax errors (lark's, located) are the ones raised."""
    tree = parse_fast(text)
    if tree is None:
        from hcl2.api import parses

        tree = parses(text)
    return tree


def parse_fast(text: str) -> StartRule | None:
    """The tree `hcl2.api.parses(text)` returns, or None where this parser is not sure to
    build the same one (invalid HCL included): then python-hcl2 must parse it."""
    global _rules
    if _rules is None:
        _rules = _Rules()
    try:
        return _Parser(text + "\n", _rules).start()  # python-hcl2 appends the same newline
    except (_Unsure, RuntimeError):  # RuntimeError: too deep, or an unclosed `%{if}`/`%{for}`
        return None


class _Parser:
    def __init__(self, text: str, rules: _Rules) -> None:
        self.text = text
        self.rules = rules
        self.pos = 0
        self.line_starts = [0]
        find, at = text.find, text.find("\n")
        while at >= 0:
            self.line_starts.append(at + 1)
            at = find("\n", at + 1)
        self.peeked: tuple[int, re.Pattern[str], _Token] | None = None
        self.previous = ""  # the type of the last token taken

    # -- scanning ---------------------------------------------------------------------------

    def scan(self, pos: int, scanner: re.Pattern[str]) -> _Token:
        text = self.text
        while True:
            match = scanner.match(text, pos)
            if match is None:
                if pos == len(text):
                    return _Token("$END", "", pos, pos)
                raise _Unsure
            kind = match.lastgroup
            assert kind is not None
            if kind == "NEGATIVE":
                # after an operand lark may lex `-1…` as a negative number or as `-` and a
                # number, by the lookaheads its parser state merged: python-hcl2 decides
                raise _Unsure
            if kind != "WS":
                return _Token(kind, match.group(), pos, match.end())
            pos = match.end()

    def peek(self, scanner: re.Pattern[str]) -> _Token:
        """The next token as the parser sees it, after python-hcl2's postlexer: a newline or
        comment just before a binary operator (not `-`) or `?` is merged into it."""
        peeked = self.peeked
        if peeked is not None and peeked[0] == self.pos and peeked[1] is scanner:
            return peeked[2]
        token = self.scan(self.pos, scanner)
        if token.type == "NL_OR_COMMENT":
            # lark lexes what follows a held-back newline in the state before that newline
            following = self.scan(token.end, scanner)
            if following.type in OPERATOR_TYPES:
                token = following._replace(value=token.value + following.value)
        self.peeked = (self.pos, scanner, token)
        return token

    def take(self, scanner: re.Pattern[str], kind: str) -> _Item:
        token = self.peek(scanner)
        if token.type != kind:
            raise _Unsure
        return self.consume(token)

    def consume(self, token: _Token) -> _Item:
        self.pos = token.end
        self.previous = token.type
        return self.rules.token(token), self.span(token.start, token.end)

    def span(self, start: int, end: int) -> _Span:
        starts = self.line_starts
        line = bisect_right(starts, start)
        line_start = starts[line - 1]
        if line == len(starts) or end < starts[line]:  # most tokens end on their own line
            return line, start - line_start + 1, start, line, end - line_start + 1, end
        end_line = bisect_right(starts, end)
        return line, start - line_start + 1, start, end_line, end - starts[end_line - 1] + 1, end

    def rule(self, callback: _Callback, items: list[_Item]) -> _Item:
        """Build a node as lark does with propagated positions: from its first placed child's
        start to its last one's end."""
        children = [child for child, _ in items]
        if not items:  # an empty body
            return callback(_new_meta(), children), None
        first, last = items[0][1], items[-1][1]
        if first is None or last is None:  # an empty body first or last
            spans = [span for _, span in items if span is not None]
            if not spans:
                return callback(_new_meta(), children), None
            first, last = spans[0], spans[-1]
        line, column, start_pos = first[0], first[1], first[2]
        end_line, end_column, end_pos = last[3], last[4], last[5]
        # set one by one, in lark's order: the instances then share one key table (a third
        # of the memory of a dict each, and quicker)
        meta = _new_meta()
        meta.line = meta.container_line = line
        meta.column = meta.container_column = column
        meta.start_pos = meta.container_start_pos = start_pos
        meta.empty = False
        meta.end_line = meta.container_end_line = end_line
        meta.end_column = meta.container_end_column = end_column
        meta.end_pos = meta.container_end_pos = end_pos
        return callback(meta, children), (line, column, start_pos, end_line, end_column, end_pos)

    def newlines(self, scanner: re.Pattern[str], items: list[_Item]) -> bool:
        """`new_line_or_comment?`: every newline and comment here, as one node; whether any."""
        tokens = []
        while (token := self.peek(scanner)).type == "NL_OR_COMMENT":
            tokens.append(self.consume(token))
        if tokens:
            items.append(self.rule(self.rules.new_line_or_comment, tokens))
        return bool(tokens)

    # -- bodies -----------------------------------------------------------------------------

    def start(self) -> StartRule:
        body = self.body()
        if self.peek(_CODE).type != "$END":
            raise _Unsure
        tree, _ = self.rule(self.rules.start, [body])
        assert isinstance(tree, StartRule)
        return tree

    def body(self) -> _Item:
        items: list[_Item] = []
        while True:
            self.newlines(_CODE, items)
            token = self.peek(_CODE)
            if token.type != "NAME":
                return self.rule(self.rules.body, items)
            items.append(self.statement(token))

    def name(self, token: _Token) -> _Item:
        """A block type, label or attribute name: HCL reserves no keyword there."""
        kind = _KEYWORDS.get(token.value) or _LITERALS.get(token.value)
        if kind is None:
            return self.rule(self.rules.identifier, [self.consume(token)])
        callback = self.rules.keyword if token.value in _KEYWORDS else self.rules.literal_value
        return self.rule(callback, [self.consume(token._replace(type=kind))])

    def statement(self, token: _Token) -> _Item:
        items = [self.name(token)]
        token = self.peek(_CODE)
        if token.type == "EQ":
            items.append(self.consume(token))
            items.append(self.expression())
            return self.rule(self.rules.attribute, items)
        while token.type in ("NAME", "DBLQUOTE"):
            items.append(self.name(token) if token.type == "NAME" else self.string())
            token = self.peek(_CODE)
        self.newlines(_CODE, items)
        items.append(self.take(_CODE, "LBRACE"))
        items.append(self.body())
        items.append(self.take(_CODE, "RBRACE"))
        return self.rule(self.rules.block, items)

    # -- expressions ------------------------------------------------------------------------

    def expression(self) -> _Item:
        condition = self.binary(0)
        token = self.peek(_CODE)
        if token.type != "QMARK":
            return condition
        items = [condition, self.consume(token)]
        self.newlines(_OPERAND, items)
        items.append(self.expression())
        self.newlines(_CODE, items)
        items.append(self.take(_CODE, "COLON"))
        self.newlines(_OPERAND, items)
        items.append(self.expression())
        return self.rule(self.rules.conditional, items)

    def binary(self, lowest: int) -> _Item:
        """Operators binding at `lowest` or tighter, left to right. A newline after an
        operation's right operand belongs to that operation (lark shifts it), and after it
        only an operator of the same or a looser level may follow, as in the grammar."""
        left = self.unary()
        left_level = _UNARY
        while True:
            token = self.peek(_CODE)
            level = _LEVELS.get(token.type)
            if level is None or level < lowest or level > left_level:
                return left
            operator = self.rule(self.rules.binary_operator, [self.consume(token)])
            term = [operator]
            self.newlines(_OPERAND, term)
            term.append(self.binary(level + 1))
            items = [left, self.rule(self.rules.binary_term, term)]
            self.newlines(_CODE, items)
            left, left_level = self.rule(self.rules.binary_op, items), level

    def unary(self) -> _Item:
        token = self.peek(_OPERAND)
        if token.type not in ("MINUS", "NOT"):
            return self.term()
        operator = self.consume(token)
        return self.rule(self.rules.unary_op, [operator, self.term()])

    def term(self) -> _Item:
        rules = self.rules
        token = self.peek(_OPERAND)
        kind = token.type
        if kind == "LPAR":
            items = [self.consume(token)]
            self.newlines(_OPERAND, items)
            items.append(self.expression())
            self.newlines(_CODE, items)
            items.append(self.take(_CODE, "RPAR"))
            inner = self.rule(rules.expr_term, items)
        else:
            if kind in _ONE_TOKEN:  # a number or a heredoc: its rule over its one token
                primary = self.rule(getattr(rules, _ONE_TOKEN[kind]), [self.consume(token)])
            elif kind == "NAME":
                primary = self.reference(token)
            elif kind == "DBLQUOTE":
                primary = self.string()
            elif kind == "LSQB":
                primary = self.tuple_(token)
            elif kind == "LBRACE":
                primary = self.object_(token)
            else:
                raise _Unsure
            inner = self.rule(rules.expr_term, [primary])
        return self.postfix(inner)

    def reference(self, token: _Token) -> _Item:
        """A name in an expression: a literal, a variable, or a function's name. Where an
        operand starts, lark's lexer accepts no keyword (but `for` first in a tuple or object,
        and object keys, which the callers take first): `in` or `if` here is a name. After a
        newline, though, lark lexes in the state of the newline's own rule, whose lookaheads
        (merged from every place a newline may stand) include the keywords."""
        rules = self.rules
        literal = _LITERALS.get(token.value)
        if literal is not None:
            return self.rule(rules.literal_value, [self.consume(token._replace(type=literal))])
        if token.value in _KEYWORDS and self.previous == "NL_OR_COMMENT":
            raise _Unsure
        items = [self.rule(rules.identifier, [self.consume(token)])]
        if self.peek(_CODE).type == "COLONS":  # a provider's function, `provider::p::f()`
            items.append(self.take(_CODE, "COLONS"))
            items.append(self.variable())
            items.append(self.take(_CODE, "COLONS"))
            items.append(self.variable())
        elif self.peek(_CODE).type != "LPAR":
            return items[0]
        items.append(self.take(_CODE, "LPAR"))
        self.newlines(_OPERAND, items)
        if self.peek(_OPERAND).type != "RPAR":
            items.append(self.arguments())
            self.newlines(_CODE, items)
        items.append(self.take(_CODE, "RPAR"))
        return self.rule(rules.function_call, items)

    def arguments(self) -> _Item:
        items = [self.expression()]
        while True:
            after_newline = self.newlines(_CODE, items)
            token = self.peek(_CODE)
            if token.type == "ELLIPSIS" and not after_newline:
                items.append(self.consume(token))
                self.newlines(_CODE, items)
                break
            if token.type != "COMMA":
                break
            items.append(self.consume(token))
            self.newlines(_OPERAND, items)
            if self.peek(_OPERAND).type == "RPAR":
                if after_newline:
                    raise _Unsure  # no newline may come before a last comma
                break
            items.append(self.expression())
        return self.rule(self.rules.arguments, items)

    def postfix(self, inner: _Item) -> _Item:
        """Attribute access, indexes and splats after a term, each wrapping what precedes it."""
        rules = self.rules
        while True:
            token = self.peek(_CODE)
            kind = token.type
            if kind == "DOT":
                access = self.dot(token)
                wrapper = (
                    rules.get_attr_expr_term
                    if access[0].lark_name() == "get_attr"
                    else rules.index_expr_term
                )
            elif kind == "LSQB":
                access, wrapper = self.brackets(token), rules.index_expr_term
            elif kind in ("ATTR_SPLAT", "FULL_SPLAT_START"):
                items = [self.consume(token)]
                while (step := self.peek(_CODE)).type in ("DOT", "LSQB"):
                    items.append(self.dot(step) if step.type == "DOT" else self.brackets(step))
                if kind == "ATTR_SPLAT":
                    access, wrapper = self.rule(rules.attr_splat, items), rules.attr_splat_expr_term
                else:
                    access, wrapper = self.rule(rules.full_splat, items), rules.full_splat_expr_term
            else:
                return inner
            inner = self.rule(rules.expr_term, [self.rule(wrapper, [inner, access])])

    def dot(self, token: _Token) -> _Item:
        """`.name` (`get_attr`) or `.0` (`short_index`)."""
        items = [self.consume(token)]
        after = self.peek(_AFTER_DOT)
        if after.type == "INT_LITERAL":
            items.append(self.consume(after))
            return self.rule(self.rules.short_index, items)
        if after.type != "NAME":
            raise _Unsure
        literal = _LITERALS.get(after.value)
        if literal is None:
            items.append(self.rule(self.rules.identifier, [self.consume(after)]))
        else:
            items.append(
                self.rule(self.rules.literal_value, [self.consume(after._replace(type=literal))])
            )
        return self.rule(self.rules.get_attr, items)

    def brackets(self, token: _Token) -> _Item:
        items = [self.consume(token)]
        self.newlines(_OPERAND, items)
        items.append(self.expression())
        self.newlines(_CODE, items)
        items.append(self.take(_CODE, "RSQB"))
        return self.rule(self.rules.braces_index, items)

    def tuple_(self, token: _Token) -> _Item:
        items = [self.consume(token)]
        self.newlines(_OPERAND, items)
        while True:
            token = self.peek(_OPERAND)
            if token.type == "RSQB":
                break
            if token.type == "NAME" and token.value == "for" and len(items) <= 2:
                return self.for_expression(items, "RSQB", self.rules.for_tuple_expr)
            items.append(self.expression())
            self.newlines(_CODE, items)
            if self.peek(_CODE).type != "COMMA":
                break
            items.append(self.take(_CODE, "COMMA"))
            self.newlines(_OPERAND, items)
        items.append(self.take(_CODE, "RSQB"))
        return self.rule(self.rules.tuple, items)

    def object_(self, token: _Token) -> _Item:
        rules = self.rules
        items = [self.consume(token)]
        self.newlines(_OPERAND, items)
        while (token := self.peek(_OPERAND)).type != "RBRACE":
            if token.type == "NAME" and token.value in _KEYWORDS:
                # `{ in = 1 }`: a keyword key; `{ for … }` is a `for` expression
                first = len(items) <= 2
                if (
                    first
                    and token.value == "for"
                    and self.scan(token.end, _CODE).type not in ("EQ", "COLON")
                ):
                    return self.for_expression(items, "RBRACE", rules.for_object_expr)
                key = self.rule(
                    rules.keyword, [self.consume(token._replace(type=_KEYWORDS[token.value]))]
                )
                if self.peek(_CODE).type not in ("EQ", "COLON"):
                    raise _Unsure
            else:
                key = self.expression()
            element = [self.rule(rules.object_elem_key, [key])]
            separator = self.peek(_CODE)
            if separator.type not in ("EQ", "COLON"):
                raise _Unsure
            element.append(self.consume(separator))
            element.append(self.expression())
            items.append(self.rule(rules.object_elem, element))
            self.newlines(_CODE, items)
            if self.peek(_CODE).type == "COMMA":
                items.append(self.take(_CODE, "COMMA"))
                self.newlines(_OPERAND, items)
        items.append(self.consume(token))
        return self.rule(rules.object, items)

    def string(self) -> _Item:
        rules = self.rules
        items = [self.take(_CODE, "DBLQUOTE")]
        while True:
            token = self.scan(self.pos, _STRING)
            kind = token.type
            if kind == "DBLQUOTE":
                items.append(self.consume(token))
                return self.rule(rules.string, items)
            if kind == "INTERP_START":
                interpolation = [self.consume(token), self.expression(), self.take(_CODE, "RBRACE")]
                part = self.rule(rules.interpolation, interpolation)
            elif kind in ("STRING_CHARS", "ESCAPED_INTERPOLATION", "ESCAPED_DIRECTIVE"):
                part = self.consume(token)
            elif kind == "DIRECTIVE_START":
                part = self.directive(token)
            else:
                raise _Unsure  # the end of the text
            items.append(self.rule(rules.string_part, [part]))

    def directive(self, token: _Token) -> _Item:
        """`%{ if x }`, `%{ else }`, `%{ endif }`, `%{ for a, b in x }`, `%{ endfor }`, each
        alone: python-hcl2's transformer nests them when it builds the string."""
        rules = self.rules
        items = [self.consume(token)]
        marker = self.peek(_CODE)
        if marker.type == "STRIP_MARKER":
            items.append(self.consume(marker))
        word = self.peek(_CODE)
        callback = {
            "if": rules.template_if_start,
            "else": rules.template_else,
            "endif": rules.template_endif,
            "for": rules.template_for_start,
            "endfor": rules.template_endfor,
        }.get(word.value if word.type == "NAME" else "")
        if callback is None:
            raise _Unsure
        items.append(self.consume(word._replace(type=_KEYWORDS[word.value])))
        if word.value == "if":
            items.append(self.expression())
        elif word.value == "for":
            items.append(self.variable())
            if self.peek(_CODE).type == "COMMA":
                items.append(self.take(_CODE, "COMMA"))
                items.append(self.variable())
            items.append(self.keyword("in"))
            items.append(self.expression())
        marker = self.peek(_CODE)
        if marker.type == "STRIP_MARKER":
            items.append(self.consume(marker))
        items.append(self.take(_CODE, "RBRACE"))
        return self.rule(callback, items)

    def for_expression(self, items: list[_Item], closer: str, callback: _Callback) -> _Item:
        """The rest of `[for …]` or `{for …}`, after the bracket (`items`)."""
        items.append(self.for_intro())
        self.newlines(_OPERAND, items)
        items.append(self.expression())
        if closer == "RBRACE":
            items.append(self.take(_CODE, "FOR_OBJECT_ARROW"))
            self.newlines(_OPERAND, items)
            items.append(self.expression())
            self.newlines(_CODE, items)
            ellipsis = self.peek(_CODE)
            if ellipsis.type == "ELLIPSIS":
                items.append(self.consume(ellipsis))
                self.newlines(_CODE, items)
        else:
            self.newlines(_CODE, items)
        condition = self.peek(_CODE)
        if condition.type == "NAME" and condition.value == "if":
            cond = [self.keyword("if")]
            self.newlines(_OPERAND, cond)
            cond.append(self.expression())
            items.append(self.rule(self.rules.for_cond, cond))
            self.newlines(_CODE, items)
        items.append(self.take(_CODE, closer))
        return self.rule(callback, items)

    def for_intro(self) -> _Item:
        """`for a, b in x :`, and a newline after the colon (lark shifts it into this rule)."""
        items = [self.keyword("for")]
        self.newlines(_CODE, items)
        items.append(self.variable())
        if self.peek(_CODE).type == "COMMA":
            items.append(self.take(_CODE, "COMMA"))
            items.append(self.variable())
        self.newlines(_CODE, items)
        items.append(self.keyword("in"))
        self.newlines(_OPERAND, items)
        items.append(self.expression())
        self.newlines(_CODE, items)
        items.append(self.take(_CODE, "COLON"))
        self.newlines(_OPERAND, items)
        return self.rule(self.rules.for_intro, items)

    def keyword(self, word: str) -> _Item:
        token = self.peek(_CODE)
        if token.type != "NAME" or token.value != word:
            raise _Unsure
        return self.consume(token._replace(type=_KEYWORDS[word]))

    def variable(self) -> _Item:
        """A `for`'s variable, or a name after `::`: lark's lexer may read a keyword or a
        literal there as a name, or not; python-hcl2 decides."""
        token = self.peek(_CODE)
        if token.type != "NAME" or token.value in _KEYWORDS or token.value in _LITERALS:
            raise _Unsure
        return self.rule(self.rules.identifier, [self.consume(token)])
