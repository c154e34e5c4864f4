"""python-hcl2's document of a file, parsed block by block with a cache keyed by each block's bytes.

Parsing HCL is most of a cold plan's time. `zenctl.config.fastparse` reads most files whole,
faster than they could be cut into blocks and their cached trees unpickled (docs/benchmarks.md):
that is tried first. A file it leaves to python-hcl2 (lark's parser and python-hcl2's
transformer, some 2.5 times slower) is parsed block by block, so that a one-line edit to one
step of a 1,000-step pipeline does not parse all 1,000 steps again. The file is cut into
blocks (the top-level ones, and the blocks nested directly inside those: a pipeline's steps);
each is parsed alone, its tree kept under `.zenctl/cache/` keyed by the blake3 of its exact
text, and the trees are put back together into the document python-hcl2 would have built
from the whole file.

A block is cut out only where it starts its line and its `}` ends one, so a block's text
always starts at a line's start: its tree's lines are shifted by the line it starts on and
its columns are already right. What is cut out of its parent is blanked with spaces, newlines
kept, so the parent's own positions stay right too. Anything unusual (a syntax error
anywhere, a block sharing a line) parses the whole file as before: errors are located by
python-hcl2 on the whole text, exactly as without the cache.
"""

from __future__ import annotations

import copyreg
import io
import pickle
import sys
from abc import ABCMeta
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import blake3

from zenctl.config.tokens import FormatError, Kind, Token, tokenize
from zenctl.paths import ensure_private_dir, read_pickle, write_atomic

_DEPTHS = 2  # top-level blocks and the blocks directly inside them


@dataclass
class BlockCache:
    """The parsed trees of blocks, by the hash of their text; `path` holds them between runs.

    `salt` names what else the trees depend on (python-hcl2's version, zenctl's cache format);
    only the entries used by the last parse are written back, so the file never grows stale."""

    path: Path | None
    salt: str
    stored: dict[str, bytes] = field(default_factory=dict)
    used: dict[str, bytes] = field(default_factory=dict)
    loaded: bool = False

    def key(self, text: str) -> str:
        return blake3.blake3(f"{self.salt}\0{text}".encode()).hexdigest()[:32]

    def parse(self, text: str) -> Any:
        """python-hcl2's tree (a `StartRule`) of `text`, from the cache when its bytes were seen."""
        if not self.loaded:
            self.stored = _read(self.path)
            self.loaded = True
        key = self.key(text)
        data = self.used.get(key) or self.stored.get(key)
        if data is not None:
            self.used[key] = data
            return pickle.loads(data)
        from zenctl.config.fastparse import parse

        tree = parse(text)
        buffer = io.BytesIO()
        _TreePickler(buffer).dump(tree)  # before the caller shifts and grafts it
        self.used[key] = buffer.getvalue()
        return tree

    def save(self) -> None:
        if self.path is None or self.used == self.stored:
            return
        try:
            ensure_private_dir(self.path.parent)
            write_atomic(self.path, pickle.dumps(self.used, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError:
            pass  # a read-only checkout still plans, only without the cache


def _reduce_class(cls: type) -> Any:
    """Pickles python-hcl2's token classes, made at run time (`StringToken["NAME"]`) and so not
    found by name, as the call that makes them again; other classes go by name as usual."""
    if not _made_at_run_time(cls):
        return cls.__qualname__
    from hcl2.rules.tokens import StaticStringToken

    name = cls.lark_name()  # type: ignore[attr-defined]
    static = issubclass(cls, StaticStringToken)
    return _token_class, (cls.__bases__[0], (name, cls._default_value) if static else name)  # type: ignore[attr-defined]


class _TreePickler(pickle.Pickler):
    # Only classes of the ABCMeta kind pass through Python: every other object is pickled in C.
    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.dispatch_table = {**copyreg.dispatch_table, ABCMeta: _reduce_class}


def _made_at_run_time(cls: type) -> bool:
    module = sys.modules.get(cls.__module__)
    return getattr(module, cls.__qualname__, None) is not cls and "lark_name" in cls.__dict__


def _token_class(base: Any, key: Any) -> Any:
    return base[key]


def _read(path: Path | None) -> dict[str, bytes]:
    return (read_pickle(path, dict) if path is not None else None) or {}


@dataclass
class _Chunk:
    """One block cut out of its parent: its span in the file and the blocks cut out of it."""

    start: int
    end: int
    line: int
    children: list[_Chunk] = field(default_factory=list)


def parse_blocks(text: str, cache: BlockCache) -> Any:
    """The `StartRule` python-hcl2 builds for `text`: the fast parser's, or else assembled
    from its blocks' cached trees.

    Raises what lark raises on a syntax error, located in the whole file."""
    from zenctl.config.fastparse import parse_fast

    tree = parse_fast(text)
    if tree is not None:
        return tree
    try:
        chunks = _chunks(text)
    except FormatError:
        chunks = None
    if chunks is not None:
        try:
            return _assemble(text, _Chunk(0, len(text), 1, chunks), cache, whole=True)
        except Exception:  # lark raises many types: the whole file's parse below locates it
            pass
    from hcl2.api import parses

    return parses(text)


def parse_block(text: str, start: int, end: int, line: int, cache: BlockCache) -> Any:
    """The `BlockRule` of the one block that `text[start:end]` holds, placed where it stands
    in `text` (`start` begins line `line`); raises if that text is not exactly one block."""
    return _only_block(_assemble(text, _Chunk(start, end, line), cache))


def _assemble(text: str, span: _Chunk, cache: BlockCache, whole: bool = False) -> Any:
    """The tree of the `span` of `text` (the whole file, or one block) with the blocks cut
    out of it parsed on their own."""
    pieces: list[str] = []
    at = span.start
    for child in span.children:
        pieces.append(text[at : child.start])
        pieces.append(_blank(text[child.start : child.end]))
        at = child.end
    pieces.append(text[at : span.end])
    tree = cache.parse("".join(pieces))
    if span.line > 1:
        _shift(tree, span.line - 1, span.start)
    if span.children:
        body = tree.body if whole else _only_block(tree).body
        _graft(body, [_only_block(_assemble(text, child, cache)) for child in span.children])
        if whole:
            _cover(tree, body)
    return tree


def _only_block(tree: Any) -> Any:
    from hcl2.rules.base import BlockRule

    found = [child for child in tree.body.children if isinstance(child, BlockRule)]
    if len(found) != 1:
        raise ValueError("a chunk is not one block")
    return found[0]


def _graft(body: Any, blocks: list[Any]) -> None:
    """Put `blocks` into `body` among its children in the order of their lines."""
    children: list[Any] = []
    waiting = iter(blocks)  # in the order of their lines, as `body`'s own children
    block = next(waiting, None)
    for child in body.children:
        while block is not None and not child._meta.empty and child._meta.line > block._meta.line:
            children.append(block)
            block = next(waiting, None)
        children.append(child)
    children.extend([] if block is None else [block, *waiting])
    body._children[:] = children
    for index, child in enumerate(children):
        child.set_index(index)
        child.set_parent(body)
    _cover(body, *children)


def _cover(rule: Any, *children: Any) -> None:
    """Give `rule` the span from its first child's start to its last one's end, as lark does."""
    placed = [child._meta for child in children if not child._meta.empty]
    if not placed:
        return
    meta, first, last = rule._meta, placed[0], placed[-1]
    meta.empty = False
    meta.line, meta.column, meta.start_pos = first.line, first.column, first.start_pos
    meta.end_line, meta.end_column, meta.end_pos = last.end_line, last.end_column, last.end_pos


def _shift(tree: Any, lines: int, chars: int) -> None:
    """Move every position in `tree` down `lines` lines and on `chars` characters."""
    stack = [tree]
    while stack:
        node = stack.pop()
        meta = getattr(node, "_meta", None)
        if meta is not None and not meta.empty:
            meta.line += lines
            meta.end_line += lines
            meta.start_pos += chars
            meta.end_pos += chars
        stack.extend(child for child in getattr(node, "_children", ()) if child is not None)


def _blank(text: str) -> str:
    return "".join(char if char == "\n" else " " for char in text)


def _chunks(text: str) -> list[_Chunk]:
    """The blocks that may be parsed on their own, nested as in the file (two levels)."""
    tokens = tokenize(text)
    starts = [0]
    starts.extend(index + 1 for index, char in enumerate(text) if char == "\n")
    roots: list[_Chunk] = []
    open_: list[tuple[str, _Chunk | None]] = []  # each open bracket, and the block it opens
    header: int | None = None  # index of the token that started the current line's block header
    for index, token in enumerate(tokens):
        if token.kind is Kind.NEWLINE:
            header = None
            continue
        first_on_line = index == 0 or tokens[index - 1].kind is Kind.NEWLINE
        if first_on_line and token.kind is Kind.IDENT:
            header = index
        if token.kind is Kind.PUNCT and token.text in "{[(" and len(token.text) == 1:
            chunk = None
            if token.text == "{" and header is not None and _is_header(tokens[header:index]):
                depth = sum(1 for _, owner in open_ if owner is not None)
                if depth == len(open_) and depth < _DEPTHS:
                    first = tokens[header]
                    chunk = _Chunk(starts[first.line - 1], -1, first.line)
            open_.append((token.text, chunk))
            header = None
        elif token.kind is Kind.PUNCT and token.text in "}])" and len(token.text) == 1:
            _, chunk = open_.pop()
            if chunk is None:
                continue
            following = tokens[index + 1] if index + 1 < len(tokens) else None
            if following is not None and following.kind is not Kind.NEWLINE:
                continue  # `}` shares its line: stays in its parent
            chunk.end = _offset(starts, following) + 1 if following is not None else len(text)
            parent = next((owner for _, owner in reversed(open_) if owner is not None), None)
            (parent.children if parent is not None else roots).append(chunk)
        elif token.kind is not Kind.COMMENT:
            header = header if token.kind in (Kind.IDENT, Kind.STRING) else None
    return roots


def _is_header(tokens: list[Token]) -> bool:
    return bool(tokens) and all(token.kind in (Kind.IDENT, Kind.STRING) for token in tokens)


def _offset(starts: list[int], token: Token) -> int:
    return starts[token.line - 1] + token.column - 1
