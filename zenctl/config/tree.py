"""HCL's expression language as a tree: what every written value becomes, and what it reads.

`zenctl.config.lowering` builds the tree from python-hcl2's syntax tree and
`zenctl.config.expressions` evaluates it. The tree is frozen dataclasses: it pickles into the
config cache, and a value that reads variables is evaluated once per plan.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from zenctl.diagnostics import SourceRange

# roots that name something other than a value: a step's output is an artifact, passed
# through `inputs`, and the rest are addresses
ADDRESS_ROOTS = frozenset({"step", "source", "stack", "pipeline"})


class ExpressionError(ValueError):
    """An expression that cannot be evaluated (or parsed), with HCL's summary, a detail that
    says what to do, and where. Never carries a Python exception's text."""

    def __init__(self, summary: str, detail: str = "", range: SourceRange | None = None) -> None:
        super().__init__(f"{summary}: {detail}" if detail else summary)
        self.summary = summary
        self.detail = detail
        self.range = range

    def at(self, where: SourceRange | None) -> ExpressionError:
        """This error, located at `where` when it has no place of its own yet."""
        if self.range is None and where is not None:
            self.range = where
        return self


# -- the tree ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    range: SourceRange | None = field(default=None, compare=False, kw_only=True)


@dataclass(frozen=True)
class Literal(Node):
    value: Any  # an expression value: None, bool, Decimal, str


@dataclass(frozen=True)
class Name(Node):
    """A bare name: `var`, `local`, a `for` variable, or an address root such as `step`."""

    name: str


@dataclass(frozen=True)
class GetAttr(Node):
    source: Node
    name: str


@dataclass(frozen=True)
class Index(Node):
    source: Node
    key: Node


@dataclass(frozen=True)
class Splat(Node):
    """`source[*].a[0]` or `source.*.a`: `each` is applied to every element, read as the
    name `SPLAT_ITEM`."""

    source: Node
    each: Node


SPLAT_ITEM = "*"


@dataclass(frozen=True)
class Call(Node):
    name: str
    args: tuple[Node, ...]
    expand_last: bool = False  # `f(list...)`


@dataclass(frozen=True)
class Unary(Node):
    op: str  # "-" or "!"
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Conditional(Node):
    condition: Node
    then: Node
    otherwise: Node


@dataclass(frozen=True)
class TupleCons(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True)
class ObjectCons(Node):
    items: tuple[tuple[Node, Node], ...]  # (key, value); a bare-name key is a Literal


@dataclass(frozen=True)
class For(Node):
    """`[for k, v in coll : value if cond]` or `{for ... : key => value... if cond}`."""

    key_name: str | None
    value_name: str
    collection: Node
    value: Node
    key: Node | None = None  # an object `for`
    condition: Node | None = None
    grouping: bool = False


@dataclass(frozen=True)
class Template(Node):
    """A string template: its parts' values converted to strings and joined."""

    parts: tuple[Node, ...]


@dataclass(frozen=True)
class IfDirective(Node):
    condition: Node
    then: Template
    otherwise: Template


@dataclass(frozen=True)
class ForDirective(Node):
    key_name: str | None
    value_name: str
    collection: Node
    body: Template


# -- what an expression reads ---------------------------------------------------------------


def children(node: Node) -> Iterator[Node]:
    for value in vars(node).values():
        if isinstance(value, Node):
            yield value
        elif isinstance(value, tuple):
            for item in value:
                if isinstance(item, Node):
                    yield item
                elif isinstance(item, tuple):
                    yield from (part for part in item if isinstance(part, Node))


def traversals(
    node: Node, bound: frozenset[str] = frozenset()
) -> Iterator[tuple[Node, tuple[str, ...]]]:
    """Every reference from a root name that is not a `for` variable: (its node, its root
    and the attribute names that follow it statically), e.g. `("var", "lr")`."""
    if isinstance(node, Name):
        if node.name not in bound:
            yield node, (node.name,)
        return
    if isinstance(node, GetAttr | Index):
        path: list[str] = []
        current: Node = node
        while isinstance(current, GetAttr | Index):
            if isinstance(current, GetAttr):
                path.append(current.name)
            elif isinstance(current.key, Literal) and isinstance(current.key.value, str):
                path.append(current.key.value)
            else:
                yield from traversals(current.key, bound)
                path.clear()
            current = current.source
        if isinstance(current, Name):
            if current.name not in bound:
                yield node, (current.name, *reversed(path))
            return
        yield from traversals(current, bound)
        return
    if isinstance(node, Splat):
        yield from traversals(node.source, bound)
        yield from traversals(node.each, bound | {SPLAT_ITEM})
        return
    if isinstance(node, For | ForDirective):
        yield from traversals(node.collection, bound)
        inner = bound | {node.value_name} | ({node.key_name} if node.key_name else set())
        for child in children(node):
            if child is not node.collection:
                yield from traversals(child, inner)
        return
    for child in children(node):
        yield from traversals(child, bound)


def calls(node: Node) -> Iterator[Call]:
    if isinstance(node, Call):
        yield node
    for child in children(node):
        yield from calls(child)
