"""zenctl declares what it imports: every third-party module under zenctl/ comes from a
distribution that pyproject.toml names. click, for one, is typer's business: typer 0.26+ no
longer installs it. An optional extra's module (torch, polars) is imported inside a function
only, where the value needing it is already one of its objects."""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parent.parent


def _top_level_imports(path: Path, module_level: bool = False) -> set[str]:
    """The top-level names of the modules `path` imports: anywhere, or at module level only."""
    found: set[str] = set()
    tree = ast.parse(path.read_text(), str(path))
    for node in tree.body if module_level else ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_every_third_party_module_zenctl_imports_is_declared() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {canonicalize_name(Requirement(text).name) for text in project["dependencies"]}
    optional = {
        canonicalize_name(Requirement(text).name)
        for extra in ("torch", "polars")
        for text in project["optional-dependencies"][extra]
    }
    distributions = packages_distributions()
    undeclared: dict[str, str] = {}
    for path in sorted((ROOT / "zenctl").rglob("*.py")):
        at_top = _top_level_imports(path, module_level=True)
        for module in _top_level_imports(path) - {"zenctl", *sys.stdlib_module_names}:
            owners = {canonicalize_name(name) for name in distributions.get(module, [module])}
            if not owners & (declared if module in at_top else declared | optional):
                undeclared.setdefault(module, str(path.relative_to(ROOT)))
    assert not undeclared, f"imported, not in pyproject.toml's dependencies: {undeclared}"
