"""The shape of zenctl/, read from the modules' own imports (docs/architecture.md): the stages
import downwards only, no module reaches itself back through a cycle, and a long module says
why it is one."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "zenctl"

# Each top-level module or package of zenctl/ and its place in the stage order: a module may
# import from a lower rank only. Rank 0 holds the leaves every stage shares.
RANKS = {
    "zenctl": 0,
    "diagnostics": 0,
    "paths": 0,
    "durations": 0,
    "sizes": 0,
    "processes": 0,
    "modules": 0,
    "workspaces": 0,
    "config": 1,
    "graph": 2,
    "fingerprint": 2,
    "providers": 2,
    "fmt": 2,
    "state": 3,
    "plan": 4,
    "artifacts": 5,
    "apply": 6,
    "render": 7,
    "sdk": 7,
    "testing": 7,
    "application": 8,
    "cli": 9,
    "api": 9,  # the Python API: a front door over application, as cli is; neither imports the other
    "__main__": 10,
}
# zenctl/__init__.py names the Python API (for type checkers) and imports zenctl/api.py on
# first use of one of its names, never at `import zenctl`: the one import upwards, which
# tests/test_python_api.py checks stays lazy.
FACADE = ("zenctl", "zenctl.api")
LONG = 400
LONG_REASON = "One module on purpose"


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:  # Alembic's scripts: loaded by Alembic, by path
            continue
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> Iterator[tuple[int, str]]:
    """(line, module) of every zenctl import in `path`, at any depth (a function's too); a
    submodule named in `from package import submodule` counts as that submodule."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            named = [f"{node.module}.{alias.name}" for alias in node.names]
            targets = [name for name in named if name in modules] or [node.module]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            continue
        for target in targets:
            if target == "zenctl" or target.startswith("zenctl."):
                yield node.lineno, target


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "zenctl"


def test_every_module_has_a_place_in_the_stage_order() -> None:
    units = {_unit(module) for module in _modules()}
    assert units <= set(RANKS), f"give {sorted(units - set(RANKS))} a rank in RANKS"


def test_the_stages_import_downwards_only() -> None:
    modules = _modules()
    upward = []
    for module, path in modules.items():
        source = _unit(module)
        for line, target in _imports(path, modules):
            destination = _unit(target)
            if destination == source or (module, target) == FACADE:
                continue
            rank, own = RANKS[destination], RANKS[source]
            if rank > own or (rank == own and own != 0):
                relative = path.relative_to(PACKAGE.parent)
                upward.append(f"{relative}:{line} {source} ({own}) imports {target} ({rank})")
    assert upward == [], "imports against the stage order:\n" + "\n".join(upward)


def test_no_module_imports_itself_back() -> None:
    modules = _modules()
    graph = {
        module: {
            target
            for _, target in _imports(path, modules)
            if target in modules and (module, target) != FACADE
        }
        - {module}
        for module, path in modules.items()
    }
    cycles = _cycles(graph)
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_a_long_module_says_why_it_is_one() -> None:
    unexplained = []
    for path in _modules().values():
        text = path.read_text()
        if text.count("\n") > LONG and LONG_REASON not in (
            ast.get_docstring(ast.parse(text)) or ""
        ):
            unexplained.append(f"{path.relative_to(PACKAGE.parent)} ({text.count(chr(10))} lines)")
    assert unexplained == [], (
        f"modules over {LONG} lines without a reason at their top ('{LONG_REASON}, ...'): "
        + ", ".join(unexplained)
    )
