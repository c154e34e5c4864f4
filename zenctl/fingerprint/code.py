"""The code identity of a step: its module and every project-local module it imports.

Modules are found by static analysis (no user code is imported while planning), imports are
followed transitively, including imports inside functions, so an edit to a helper a step calls
changes the step's fingerprint (ZenML misses this: zenml-io/zenml#1011). Each file is hashed
as its normal form (see `normal_form`), so comments, formatting and docstrings do not bust the
cache. Modules outside the project (installed libraries) are not part of the fingerprint.
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

from zenctl.fingerprint.canonical import digest
from zenctl.fingerprint.files import StatCache, hash_bytes

_SKIPPED = ("ENCODING", "COMMENT", "NL", "ENDMARKER")
_LAYOUT = ("NEWLINE", "INDENT", "DEDENT")
_OPENING, _CLOSING = "([{", ")]}"


class CodeIndex:
    """Resolves module names under a project root and memoises each file's hash and imports."""

    def __init__(self, root: Path, cache: StatCache) -> None:
        self.root = root
        self.cache = cache
        self._closures: dict[str, dict[str, str]] = {}
        self._module_files: dict[str, Path | None] = {}

    def closure(self, module: str) -> dict[str, str]:
        """`{relative path: normalised hash}` of `module` and the local modules it reaches."""
        if module not in self._closures:
            seen: dict[str, str] = {}
            pending = list(self._files_for(module))
            while pending:
                file = pending.pop()
                relative = file.relative_to(self.root).as_posix()
                if relative in seen:
                    continue
                file_hash, imports = self._describe(file)
                seen[relative] = file_hash
                for name in imports:
                    pending.extend(self._files_for(name))
            self._closures[module] = dict(sorted(seen.items()))
        return self._closures[module]

    def module_file(self, module: str) -> Path | None:
        if module not in self._module_files:
            base = self.root.joinpath(*module.split("."))
            candidates = (base.with_suffix(".py"), base / "__init__.py")
            self._module_files[module] = next((c for c in candidates if c.is_file()), None)
        return self._module_files[module]

    def _files_for(self, module: str) -> list[Path]:
        """`module`'s file and the `__init__.py` of each enclosing package: all run on import."""
        parts = module.split(".")
        files = [
            init
            for depth in range(1, len(parts))
            if (init := self.root.joinpath(*parts[:depth], "__init__.py")).is_file()
        ]
        found = self.module_file(module)
        return [*files, found] if found else files

    def _describe(self, file: Path) -> tuple[str, list[str]]:
        stat = file.stat()
        known = self.cache.get(file, stat)
        if known is not None:
            return str(known[0]), list(known[1])
        source = file.read_bytes()
        try:
            tree = ast.parse(source, filename=str(file))
            file_hash = digest(normal_form(source))
        except (SyntaxError, ValueError, tokenize.TokenError):
            # The run will fail with Python's own message; until then the raw bytes identify it.
            return hash_bytes(source), []
        package = self._package_of(file)
        imports = sorted(set(_imported_modules(tree, package)))
        self.cache.put(file, stat, [file_hash, imports])
        return file_hash, imports

    def _package_of(self, file: Path) -> list[str]:
        parts = list(file.relative_to(self.root).with_suffix("").parts)
        parts.pop()  # the module's own name, or `__init__` of a package named by its folder
        return parts


def _imported_modules(tree: ast.AST, package: list[str]) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                base = ".".join([*anchor, node.module] if node.module else anchor)
            else:
                base = node.module or ""
            if base:
                names.append(base)
            # `from pkg import name` may import the submodule pkg.name
            names.extend(f"{base}.{alias.name}" if base else alias.name for alias in node.names)
    return names


def normal_form(source: bytes) -> list[str]:
    """The file's tokens as `KIND text`, the same on every Python version (an AST dump is not:
    its fields change between 3.11, 3.12 and 3.13).

    Comments, blank lines and whitespace between tokens are no tokens; indentation is kept as
    INDENT/DEDENT and the end of a statement as NEWLINE, whatever their spelling; numbers and
    plain string literals are written as `repr` of their value (`0x10` is `16`, `'a'` is
    `"a"`); docstrings are left out.
    """
    tokens = [token for token in _tokens(source) if token[0] not in _SKIPPED]
    form: list[str] = []
    body_starts = True  # where a docstring may stand: a module's start, a def's or class's body
    header, depth = False, 0
    index = 0
    while index < len(tokens):
        kind, text = tokens[index]
        if body_starts and kind not in ("NEWLINE", "INDENT"):
            body_starts = False
            end = index
            while end < len(tokens) and _is_docstring_part(*tokens[end]):
                end += 1
            after = tokens[end] if end < len(tokens) else ("NEWLINE", "")
            if end > index and (after == ("OP", ";") or after[0] == "NEWLINE"):
                # A docstring on its own line goes with its NEWLINE; one after `def f():` on the
                # same line keeps it, or the next line would join the def's body.
                alone = not form or form[-1] == "INDENT"
                index = end + (1 if after[1] == ";" or alone else 0)
                continue
        if kind == "NAME" and text in ("def", "class"):
            header, depth = True, 0
        elif kind == "OP" and header:
            depth += (text in _OPENING) - (text in _CLOSING)
            if text == ":" and depth == 0:
                header, body_starts = False, True
        form.append(kind if kind in _LAYOUT else f"{kind} {_literal(kind, text)}")
        index += 1
    return form


def _tokens(source: bytes) -> list[tuple[str, str]]:
    """`(kind, text)` of each token; an f-string (3.12 splits it into parts) is one STRING."""
    found = list(tokenize.tokenize(io.BytesIO(source).readline))
    lines = io.StringIO(source.decode(found[0].string)).readlines()
    tokens: list[tuple[str, str]] = []
    nesting, start = 0, (0, 0)
    for token in found:
        kind = tokenize.tok_name[token.type]
        if kind.endswith("STRING_START"):
            nesting, start = nesting + 1, start if nesting else token.start
        elif kind.endswith("STRING_END"):
            nesting -= 1
            if not nesting:
                tokens.append(("STRING", _text(lines, start, token.end)))
        elif not nesting:
            tokens.append((kind, token.string))
    return tokens


def _text(lines: list[str], start: tuple[int, int], end: tuple[int, int]) -> str:
    (first, column), (last, end_column) = start, end
    if first == last:
        return lines[first - 1][column:end_column]
    return (
        lines[first - 1][column:] + "".join(lines[first : last - 1]) + lines[last - 1][:end_column]
    )


def _prefix(literal: str) -> str:
    """`rb` of `rb"..."`: the letters before a string literal's quote."""
    return literal[: len(literal) - len(literal.lstrip("bBfFrRtTuU"))].lower()


def _is_docstring_part(kind: str, text: str) -> bool:
    """A plain string literal: with bytes or f-strings, the statement is no docstring."""
    return kind == "STRING" and not set(_prefix(text)) & set("bft")


def _literal(kind: str, text: str) -> str:
    if kind == "NUMBER" or (kind == "STRING" and not set(_prefix(text)) & set("ft")):
        return repr(ast.literal_eval(text))
    return text
