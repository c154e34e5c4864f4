"""Where a project's Python modules live: module names to files, and relative imports resolved.

Read by static analysis only (no user code is imported): the config stage checks that a step's
`run` names a function that exists, and the fingerprint stage follows a step's imports.
"""

from __future__ import annotations

import ast
from pathlib import Path


def module_file(root: Path, module: str) -> Path | None:
    """The file under `root` that defines `module` (a `.py` file or a package), if any."""
    base = root.joinpath(*module.split("."))
    candidates = (base.with_suffix(".py"), base / "__init__.py")
    return next((c for c in candidates if c.is_file()), None)


def package_of(root: Path, file: Path) -> list[str]:
    """The package a module file belongs to, as the anchor of its relative imports."""
    parts = list(file.relative_to(root).with_suffix("").parts)
    parts.pop()  # the module's own name, or `__init__` of a package named by its folder
    return parts


def imported_from(node: ast.ImportFrom, package: list[str]) -> str:
    """The absolute name of the module a `from ... import` statement reads."""
    if not node.level:
        return node.module or ""
    anchor = package[: len(package) - (node.level - 1)] if node.level > 1 else package
    return ".".join([*anchor, node.module] if node.module else anchor)
