"""The code identity of a step: its module and every project-local module it imports.

Modules are found by static analysis (no user code is imported while planning), imports are
followed transitively, including imports inside functions, so an edit to a helper a step calls
changes the step's fingerprint (ZenML misses this: zenml-io/zenml#1011). Each file is hashed
as its normal form (zenctl/fingerprint/tokens.py), so comments, formatting and docstrings do
not bust the cache. Modules outside the project (installed libraries) are not part of the
fingerprint.
"""

from __future__ import annotations

import ast
import tokenize
from pathlib import Path

from zenctl.fingerprint.canonical import digest
from zenctl.fingerprint.files import StatCache, hash_bytes
from zenctl.fingerprint.tokens import normal_form
from zenctl.modules import imported_from, module_file, package_of
from zenctl.paths import project_dir


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
            self._module_files[module] = module_file(self.root, module)
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
        package = package_of(self.root, file)
        imports = sorted(set(_imported_modules(tree, package)))
        self.cache.put(file, stat, [file_hash, imports])
        return file_hash, imports


def code_cache_file(root: Path) -> Path:
    """The stat cache of code descriptions: written by plan, read again before a step runs."""
    return project_dir(root) / "cache" / "code.json"


def changed_files(index: CodeIndex, module: str, planned: dict[str, str]) -> list[str]:
    """The files of `module`'s closure whose hash is not `planned`'s, or that joined or left
    the closure (an import added or removed)."""
    now = index.closure(module)
    return sorted(path for path in {*planned, *now} if planned.get(path) != now.get(path))


def _imported_modules(tree: ast.AST, package: list[str]) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = imported_from(node, package)
            if base:
                names.append(base)
            # `from pkg import name` may import the submodule pkg.name
            names.extend(f"{base}.{alias.name}" if base else alias.name for alias in node.names)
    return names
