"""What an attribute's expression becomes in the typed configuration.

An object or tuple written out (`params = { lr = var.lr, n = 5 }`) stays a dict or list, so
that each key is checked and diffed on its own; inside it, a constant is evaluated now (its
value is what the config cache holds), a lone reference (`var.lr`, `step.a.outputs.b`)
becomes a `Ref`, and anything that reads variables, or files, becomes an `Expression`,
evaluated on every plan. Locals are folded in where they are used: a local that reads
nothing is a constant, and one that reads variables makes its users read them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from zenctl.config.expressions import Scope, evaluate_to_python
from zenctl.config.model import Expression, Ref
from zenctl.config.tree import (
    ADDRESS_ROOTS,
    ExpressionError,
    GetAttr,
    Literal,
    Name,
    Node,
    ObjectCons,
    Template,
    TupleCons,
    calls,
    traversals,
)
from zenctl.diagnostics import SourceRange, suggest

TextOf = Callable[[SourceRange | None], str]


@dataclass(frozen=True)
class LocalValue:
    name: str
    node: Node
    range: SourceRange


@dataclass
class _Reads:
    variables: dict[str, SourceRange | None] = field(default_factory=dict)
    locals: dict[str, Node] = field(default_factory=dict)
    files: bool = False
    # the paths of the files read, where written as a literal (`file("params.yaml")`)
    paths: set[str] = field(default_factory=set)


class AlreadyReported(ExpressionError):
    """An expression reads a local whose own error is already reported."""


class Values:
    """Turns lowered expressions into config values, against the project's locals (`broken`:
    the names of those that failed to parse, reported already)."""

    def __init__(
        self,
        root: str,
        locals: Mapping[str, LocalValue] | None = None,
        broken: set[str] | None = None,
    ) -> None:
        self.root = root
        self.locals = dict(locals or {})
        self.broken = broken or set()
        self._reads: dict[str, _Reads] = {}
        self._reading: list[str] = []

    def value(self, node: Node, text_of: TextOf | None = None, *, references: bool = True) -> Any:
        """The config value of `node`; `text_of` gives an expression's source text (for the
        plan's `(from ...)`). With `references=False` (a variable's default, a variables
        file) anything that reads a variable or a local is refused."""
        if isinstance(node, ObjectCons) and all(_static_key(key) for key, _ in node.items):
            return {
                str(key.value): self.value(item, text_of, references=references)  # type: ignore[attr-defined]
                for key, item in node.items
            }
        if isinstance(node, TupleCons):
            return [self.value(item, text_of, references=references) for item in node.items]
        reads = self.reads(node)
        if not references and (reads.variables or reads.locals or reads.files):
            raise ExpressionError(
                "Variables not allowed",
                "This value must be a constant: it cannot read variables, locals or files.",
                next(iter(reads.variables.values()), None) or node.range,
            )
        ref = sole_reference(node)
        if ref is not None:
            return ref
        if not reads.variables and not reads.files:
            return evaluate_to_python(node, self.scope(reads))  # a constant: its value once
        refs = tuple(Ref(("var", name), where) for name, where in sorted(reads.variables.items()))
        text = text_of(node.range) if text_of else ""
        return Expression(
            node,
            refs,
            tuple(sorted(reads.locals.items())),
            text,
            self.root,
            tuple(sorted(reads.paths)),
        )

    def scope(self, reads: _Reads) -> Scope:
        from pathlib import Path

        return Scope({}, reads.locals, Path(self.root))

    def reads(self, node: Node) -> _Reads:
        """The variables (and where each is first read), locals and files `node` reads,
        through the locals it uses. ExpressionError on a name that is not a value."""
        reads = _Reads()
        for where, path in traversals(node):
            root = path[0]
            at = where.range
            if root == "var":
                if len(path) < 2:
                    raise ExpressionError(
                        "Invalid reference", "Write var.NAME to read a variable.", at
                    )
                reads.variables.setdefault(path[1], at)
            elif root == "local":
                if len(path) < 2:
                    raise ExpressionError(
                        "Invalid reference", "Write local.NAME to read a local value.", at
                    )
                self._merge(reads, self._local_reads(path[1], at))
            elif root in ADDRESS_ROOTS:
                if sole_reference(node) is None:
                    raise ExpressionError(
                        "Invalid reference",
                        f"`{'.'.join(path)}` names a {root}, not a value, so it cannot be "
                        "part of an expression."
                        + (
                            " Pass a step's output to a step through inputs."
                            if root == "step"
                            else ""
                        ),
                        at,
                    )
            else:
                raise ExpressionError(
                    "Unknown variable",
                    f'There is no variable named "{root}". Expressions read var.NAME and '
                    "local.NAME, and the names a for expression binds."
                    + suggest(root, ("var", "local")),
                    at,
                )
        names = {call.name for call in calls(node)}
        if names:  # the function library is imported only for a value that calls one
            from zenctl.config.functions import READS_FILES

            reads.files = reads.files or bool(names & READS_FILES)
            reads.paths.update(
                path
                for call in calls(node)
                if call.name in READS_FILES and call.args
                for path in [_literal_text(call.args[0])]
                if path is not None
            )
        return reads

    def _local_reads(self, name: str, at: SourceRange | None) -> _Reads:
        if name in self._reads:
            return self._reads[name]
        local = self.locals.get(name)
        if local is None and name in self.broken:
            raise AlreadyReported("Invalid local value", f"local.{name} has an error.", at)
        if local is None:
            raise ExpressionError(
                "Reference to undeclared local value",
                f'A local value with the name "{name}" has not been declared.'
                + suggest(name, self.locals),
                at,
            )
        if name in self._reading:
            loop = " -> ".join(
                f"local.{n}" for n in [*self._reading[self._reading.index(name) :], name]
            )
            raise ExpressionError(
                "Cycle in local values", f"{loop}: a local cannot read itself.", local.range
            )
        self._reading.append(name)
        try:
            reads = self.reads(local.node)
        finally:
            self._reading.pop()
        reads.locals[name] = local.node
        self._reads[name] = reads
        return reads

    @staticmethod
    def _merge(into: _Reads, other: _Reads) -> None:
        for name, where in other.variables.items():
            into.variables.setdefault(name, where)
        into.locals.update(other.locals)
        into.files = into.files or other.files
        into.paths |= other.paths


def _literal_text(node: Node) -> str | None:
    """The text of a string written without interpolation (`"params.yaml"`), else None."""
    if isinstance(node, Template) and len(node.parts) == 1:
        node = node.parts[0]
    return node.value if isinstance(node, Literal) and isinstance(node.value, str) else None


def _static_key(key: Node) -> bool:
    return isinstance(key, Literal) and isinstance(key.value, str)


def sole_reference(node: Node) -> Ref | None:
    """`var.NAME` or an address (`step.a.outputs.b`, `stack.gpu`) written alone: a `Ref`."""
    parts: list[str] = []
    current = node
    while isinstance(current, GetAttr):
        parts.append(current.name)
        current = current.source
    if not isinstance(current, Name) or not parts:
        return None
    path = (current.name, *reversed(parts))
    if current.name in ADDRESS_ROOTS or (current.name == "var" and len(path) == 2):
        return Ref(path, node.range)
    return None


def bare_word(raw: Any) -> str | None:
    """The text of an unquoted word or call such as `number` or `list(string)`, else None."""
    text = str(raw)
    if text.startswith("${") and text.endswith("}"):
        text = text[2:-1]
    if text.startswith('"') or not text or not isinstance(raw, str):
        return None
    return text.strip()


def unquote(key: str) -> str:
    """An object key as python-hcl2 serializes it, without its quotes."""
    if len(key) >= 2 and key[0] == '"' and key[-1] == '"':
        return key[1:-1]
    return key
