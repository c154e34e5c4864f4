"""zenctl declares what it imports: every third-party module under zenctl/ comes from a
distribution that pyproject.toml names. click, for one, is typer's business: typer 0.26+ no
longer installs it."""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parent.parent


def _top_level_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_every_third_party_module_zenctl_imports_is_declared() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {canonicalize_name(Requirement(text).name) for text in project["dependencies"]}
    distributions = packages_distributions()
    undeclared: dict[str, str] = {}
    for path in sorted((ROOT / "zenctl").rglob("*.py")):
        for module in _top_level_imports(path) - {"zenctl", *sys.stdlib_module_names}:
            owners = {canonicalize_name(name) for name in distributions.get(module, [module])}
            if not owners & declared:
                undeclared.setdefault(module, str(path.relative_to(ROOT)))
    assert not undeclared, f"imported, not in pyproject.toml's dependencies: {undeclared}"
