"""Decoding a block's syntax, whatever block it is: its arguments as values, its label, and
what it may not hold; every problem collected as a diagnostic, none stopping the load.

The `Decoder` is one load's memory: the diagnostics so far, and which blocks and arguments
failed with an error of their own, so that a reference to them is not reported twice.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from zenctl.config.catalog import ComponentCatalog
from zenctl.config.lowering import Lowering, Marks
from zenctl.config.schemas import IDENTIFIER, NAME_RULE, body_problems
from zenctl.config.source_checks import value_problems
from zenctl.config.syntax import node_range
from zenctl.config.tree import ExpressionError, Node
from zenctl.config.values import AlreadyReported, Values, bare_word
from zenctl.diagnostics import Diagnostic, SourceRange, find_in, source_lines, suggest

M = TypeVar("M", bound=BaseModel)


class _Named(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def range(self) -> SourceRange | None: ...


N = TypeVar("N", bound=_Named)


@dataclass
class Attr:
    """One argument of a block, decoded."""

    value: Any
    range: SourceRange
    node: Node | None = None  # as written; None for a bare word (`type = number`)


class SourceFile:
    """One file's text, for parsing and for pointing at the exact text of a reference."""

    def __init__(self, path: Path, text: str, marks: Marks) -> None:
        self.filename = str(path)
        self.lines = source_lines(text)
        self.marks = marks  # the strip markers hidden from python-hcl2 (`hide_strip_markers`)

    def lowering(self) -> Lowering:
        return Lowering(self.filename, marks=self.marks)

    def range_of(self, node: Any) -> SourceRange:
        return node_range(self.filename, node)

    def text_of(self, where: SourceRange | None) -> str:
        """The source text of a range, as written (one line: whitespace runs collapsed)."""
        if where is None:
            return ""
        lines = self.lines[where.start.line - 1 : where.end.line]
        if not lines:
            return ""
        if len(lines) == 1:
            text = lines[0][where.start.column - 1 : where.end.column - 1]
        else:
            lines[-1] = lines[-1][: where.end.column - 1]
            lines[0] = lines[0][where.start.column - 1 :]
            text = "\n".join(lines)
        return " ".join(text.split())

    def locator(self, within: SourceRange) -> Callable[[str], SourceRange]:
        def locate(needle: str) -> SourceRange:
            return find_in(self.lines, within, re.compile(re.escape(needle)))

        return locate


def declared_at(where: SourceRange | None) -> str:
    """Where something was first declared, for a detail: `main.zc.hcl:12`."""
    return f"{where.filename}:{where.start.line}" if where else "(built-in)"


def _block_key(where: SourceRange) -> tuple[str, int, int]:
    return where.filename, where.start.line, where.start.column


class Decoder:
    """Decodes blocks for one load, collecting diagnostics instead of stopping."""

    values: Values  # the project's locals known: set once they are collected

    def __init__(self, catalog: ComponentCatalog) -> None:
        self.catalog = catalog  # the installed components, to check stacks against
        self.diagnostics: list[Diagnostic] = []
        # (kind, name, context) of blocks declared with errors: references to them are not
        # reported again as undeclared
        self.invalid: set[tuple[str, str, str]] = set()
        # the arguments of each block (by where it starts) whose value had an error
        self._failed: dict[tuple[str, int, int], set[str]] = {}
        # locals with an error of their own: their readers do not report them again
        self.broken_locals: set[str] = set()

    def error(
        self, summary: str, detail: str, where: SourceRange | None, context: str = ""
    ) -> None:
        self.diagnostics.append(Diagnostic("error", summary, detail, where, context))

    def expression_error(self, exc: ExpressionError, where: SourceRange | None) -> None:
        """An expression's error at its own place, else `where`; none when it only repeats
        one already reported (a broken local, at each reader)."""
        if not isinstance(exc, AlreadyReported):
            self.error(exc.summary, exc.detail, exc.range or where)

    def failed(self, block: SourceRange) -> set[str]:
        """The arguments of the block at `block` whose value had an error of its own."""
        return self._failed.get(_block_key(block), set())

    def attributes(
        self,
        source: SourceFile,
        block: Any,
        bare: set[str] | None = None,
        evaluate: bool = True,
    ) -> dict[str, Attr]:
        """A block's arguments, each lowered and (unless `evaluate` is False: the locals,
        before the values they give are known) turned into its config value; `bare` names
        those that may be a bare word (`type = number`)."""
        attrs: dict[str, Attr] = {}
        failed = self._failed.setdefault(_block_key(source.range_of(block.raw)), set())
        for attribute in block.attributes():
            where = source.range_of(attribute.raw)
            if attribute.name in attrs:
                self.error(
                    "Attribute redefined",
                    f'The argument "{attribute.name}" was already set at '
                    f"{declared_at(attrs[attribute.name].range)}.",
                    where,
                )
                continue
            # `attribute.value` serializes the whole expression: only for a possible bare word.
            if bare and attribute.name in bare and (word := bare_word(attribute.value)) is not None:
                attrs[attribute.name] = Attr(word, where)
                continue
            failed.add(attribute.name)  # until its value is known to be good
            problems = value_problems(source.filename, attribute.raw)
            if problems:
                self.diagnostics += problems
                continue
            try:
                node = source.lowering().lower(attribute.value_node.raw)
                value = self.values.value(node, source.text_of) if evaluate else None
            except ExpressionError as exc:
                self.expression_error(exc, where)
                continue
            if _has_nul(value):  # no path, name or setting may carry one (C truncates there)
                self.error(
                    "Invalid character",
                    f'The value of "{attribute.name}" contains a NUL character (\\u0000); '
                    "remove it.",
                    where,
                )
                continue
            failed.discard(attribute.name)
            attrs[attribute.name] = Attr(value, where, node)
        return attrs

    def validate(
        self,
        model: type[M],
        attrs: dict[str, Attr],
        where: SourceRange,
        context: str,
        skip: set[str] | None = None,
    ) -> M | None:
        """The validated body; with `skip`, those arguments' errors are not reported."""
        try:
            return model.model_validate({key: attr.value for key, attr in attrs.items()})
        except ValidationError as exc:
            ranges = {key: attr.range for key, attr in attrs.items()}
            unreported = self.failed(where) | (skip or set())
            self.diagnostics += body_problems(model, exc, ranges, where, context, unreported)
            return None

    def single_label(self, source: SourceFile, block: Any) -> str | None:
        """The block's one name, when it has exactly one and it is a valid name."""
        labels = block.name_labels
        where = source.range_of(block.raw)
        if len(labels) != 1:
            self.error(
                "Wrong number of labels",
                f"A {block.block_type} block takes exactly one name: "
                f'{block.block_type} "NAME" {{ }}.',
                where,
            )
            return None
        # names become file names and addresses: `..`, `/`, NUL or a newline must not pass
        if not re.fullmatch(IDENTIFIER, labels[0]):
            self.error(
                "Invalid name",
                f'"{labels[0]}" is not a valid {block.block_type} name: {NAME_RULE}.',
                source.locator(where)(f'"{labels[0]}"'),
            )
            return None
        return str(labels[0])

    def no_arguments(self, source: SourceFile, node: Any, detail: str) -> None:
        """Each argument of `node` (a block, or a file) that holds blocks only is an error;
        `detail` says what it holds, with `{name}` for the argument's name."""
        for attribute in node.attributes():
            self.error(
                "Unsupported argument",
                detail.format(name=attribute.name),
                source.range_of(attribute.raw),
            )

    def no_labels(self, source: SourceFile, block: Any, example: str) -> None:
        """A block that takes no name has none; `example` shows it written."""
        if block.name_labels:
            self.error(
                "Unexpected labels",
                f"A {block.block_type} block takes no name: {example}.",
                source.range_of(block.raw),
            )

    def no_nested_blocks(self, source: SourceFile, block: Any) -> None:
        for child in block.blocks():
            self.unsupported_block(source, child, ())

    def unsupported_block(self, source: SourceFile, block: Any, allowed: Iterable[str]) -> None:
        allowed = list(allowed)
        expected = f" Expected {', '.join(allowed)}." if allowed else ""
        self.error(
            "Unsupported block type",
            f'Blocks of type "{block.block_type}" are not expected here.{expected}'
            + suggest(block.block_type, allowed),
            source.range_of(block.raw),
        )

    def add_unique(self, into: dict[str, N], item: N | None, kind: str) -> None:
        """Adds a declared `item` under its name, unless one of that name is already there."""
        if item is None:
            return
        if item.name in into:
            first = into[item.name].range
            self.error(
                f"Duplicate {kind}",
                f'A {kind} named "{item.name}" was already declared at {declared_at(first)}. '
                f"{kind.capitalize()} names must be unique.",
                item.range,
            )
            return
        into[item.name] = item


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\0" in value
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    return False
