"""The code identity of a step: the definitions its function reaches, in every module it runs.

A step's function is followed through what it refers to (functions, classes and constants of
its module, names imported from the project's other modules, transitively; defaults,
decorators, class bodies and bases are part of a definition), so an edit to an unrelated
function in the same file keeps the step cached while an edit to a helper it calls, or to a
constant it reads, re-runs it (Flyte's CacheFunctionBody, done transitively). Every
project-local module that runs when the step's module is imported counts too, with no
definitions when none is reached: deleting it changes the step.

Where the reach cannot be known, the module is hashed whole, and `plan --explain` says why
(zenctl/fingerprint/definitions.py finds the reasons): code run on import for its effect,
`globals()` or `exec` in reached code, a module used as a value (`getattr(utils, name)`).
A top-level statement that calls the project's own code while the module is imported (a
decorator that registers, `CONFIG = load_config()`) is always reached: what it does may
change what the step reads.

Modules are found by static analysis (no user code is imported while planning), under the
project root and then the step module's own folder, where a step runs with both on `sys.path`
(zenctl/apply/task.py): `from utils import x` in `src/train.py` finds `src/utils.py`.
Modules outside the project (installed libraries) are not part of the fingerprint.
"""

from __future__ import annotations

import tokenize
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from zenctl.fingerprint.canonical import digest
from zenctl.fingerprint.definitions import Definitions, read_definitions, unparsable
from zenctl.fingerprint.files import StatCache
from zenctl.modules import module_file, package_of
from zenctl.paths import project_dir

Folders = tuple[Path, ...]


@dataclass(frozen=True)
class Reach:
    """What a step's code hash covers, per file relative to the project root."""

    files: dict[str, str]  # the `code` component: {file: hash of what is reached in it}
    whole: dict[str, str] = field(default_factory=dict)  # {file: why it is hashed whole}
    labels: dict[str, list[str]] = field(default_factory=dict)  # {file: reached definitions}

    def explain(self) -> list[str]:
        """One line per file, for `plan --explain`."""
        lines = []
        for path in self.files:
            if path in self.whole:
                lines.append(f"{path} hashed whole: {self.whole[path]}")
            else:
                lines.append(f"{path}: {', '.join(self.labels[path]) or 'imported, nothing used'}")
        return lines


class CodeIndex:
    """Resolves module names under a project root and memoises each file's definitions (in
    the stat cache, across runs) and each step's reach (for this index's life)."""

    def __init__(self, root: Path, cache: StatCache) -> None:
        self.root = root
        self.cache = cache
        self._reaches: dict[str, Reach] = {}
        self._located: dict[tuple[str, Folders], tuple[list[Path], Path | None]] = {}
        self._definitions: dict[Path, Definitions] = {}
        self._effects: dict[tuple[Path, Folders], list[int]] = {}
        self._packages: dict[tuple[str, Folders], bool] = {}

    def closure(self, run: str) -> dict[str, str]:
        """The `code` component of the step whose function `run` ("module:function") names."""
        return self.reach(run).files

    def reach(self, run: str) -> Reach:
        if run not in self._reaches:
            module, _, function = run.partition(":")
            _, file = self.locate(module, (self.root,))
            folders = (
                (self.root,)
                if file is None or file.parent == self.root
                else (self.root, file.parent)
            )
            self._reaches[run] = _Walk(self, folders).step(module, function)
        return self._reaches[run]

    def locate(self, module: str, folders: Folders) -> tuple[list[Path], Path | None]:
        """The `__init__.py` of each package enclosing `module` (all run on import) and its
        file, under the first folder that has it."""
        key = (module, folders)
        if key not in self._located:
            parts = module.split(".")
            base = next((f for f in folders if module_file(f, module)), folders[0])
            inits = [
                init
                for depth in range(1, len(parts))
                if (init := base.joinpath(*parts[:depth], "__init__.py")).is_file()
            ]
            self._located[key] = (inits, module_file(base, module))
        return self._located[key]

    def is_package(self, module: str, folders: Folders) -> bool:
        """Whether `module` may have submodules: a project package, with an `__init__.py` or
        without (a namespace package). Spares a library's attributes their `stat` calls."""
        key = (module, folders)
        if key not in self._packages:
            file = self.locate(module, folders)[1]
            parts = module.split(".")
            self._packages[key] = (
                file.name == "__init__.py"
                if file
                else any(folder.joinpath(*parts).is_dir() for folder in folders)
            )
        return self._packages[key]

    def import_effects(self, file: Path, folders: Folders) -> list[int]:
        """The statements of `file` reached whenever the module is imported: those that run
        the project's own code on import, and its classes: an input artifact may be an
        instance of one (pickled by reference, not code), whose methods the step calls
        without naming the class."""
        key = (file, folders)
        if key not in self._effects:
            found = self.definitions(file)
            self._effects[key] = [
                index
                for index, statement in enumerate(found["statements"])
                if statement["classes"]
                or any(self._is_projects(found, name, folders) for name in statement["import_time"])
            ]
        return self._effects[key]

    def _is_projects(self, found: Definitions, name: str, folders: Folders) -> bool:
        """Whether `name` is one of the project's functions or classes, or comes from one of
        its modules."""
        for index in found["names"].get(name, []):
            statement = found["statements"][index]
            if name in statement["defs"]:
                return True
            for module, attr in statement["binds"].get(name, []):
                candidates = [module, f"{module}.{attr}"] if attr else [module]
                if any(self.locate(m, folders)[1] for m in candidates):
                    return True
        return False

    def definitions(self, file: Path) -> Definitions:
        if file not in self._definitions:
            self._definitions[file] = self._read(file)
        return self._definitions[file]

    def _read(self, file: Path) -> Definitions:
        stat = file.stat()
        known = self.cache.get(file, stat)
        if isinstance(known, dict):  # a list is an older zenctl's [hash, imports]
            return known  # type: ignore[return-value]
        source = file.read_bytes()
        try:
            found = read_definitions(source, package_of(self.root, file))
        except (SyntaxError, ValueError, tokenize.TokenError, RecursionError):
            # RecursionError: nested deeper than Python's parser goes (generated code)
            return unparsable(source)
        self.cache.put(file, stat, found)
        return found


class _Walk:
    """One step's reach: a work list of definitions to visit, so that a long chain of helpers
    does not recurse."""

    def __init__(self, index: CodeIndex, folders: Folders) -> None:
        self.index = index
        self.folders = folders
        self.loaded: dict[Path, Definitions] = {}
        self.reached: dict[Path, set[int]] = {}
        self.whole: dict[Path, str] = {}
        self.resolved: set[tuple[Path, tuple[str, ...]]] = set()
        self.todo: list[Callable[[], object]] = []

    def step(self, module: str, function: str) -> Reach:
        file = self.execute(module)
        if file is not None:
            self.todo.append(partial(self.resolve, file, [function], {}, function, True))
        while self.todo:
            self.todo.pop()()
        root = self.index.root
        paths = {file: file.relative_to(root).as_posix() for file in self.loaded}
        files: dict[str, str] = {}
        labels: dict[str, list[str]] = {}
        for file in sorted(self.loaded, key=paths.__getitem__):
            found = self.loaded[file]
            reached = [found["statements"][i] for i in sorted(self.reached[file])]
            partial_hash = digest([s["hash"] for s in reached])
            files[paths[file]] = found["hash"] if file in self.whole else partial_hash
            labels[paths[file]] = [s["label"] for s in reached]
        whole = {paths[file]: why for file, why in sorted(self.whole.items())}
        return Reach(files, whole, labels)

    def execute(self, module: str) -> Path | None:
        """Load a module and the packages around it, as importing it does; its file, if it
        is the project's."""
        inits, file = self.index.locate(module, self.folders)
        for loaded in [*inits, file] if file else inits:
            self._load(loaded)
        return file

    def _load(self, file: Path) -> None:
        if file in self.loaded:
            return
        found = self.loaded[file] = self.index.definitions(file)
        self.reached[file] = set()
        self.todo.extend(partial(self.execute, name) for name in found["imports"])
        if found["whole"]:
            self.make_whole(file, found["whole"])
        for index in self.index.import_effects(file, self.folders):
            self.reach(file, index)

    def make_whole(self, file: Path, why: str) -> None:
        if file not in self.whole:
            self.whole[file] = why
            for index in range(len(self.loaded[file]["statements"])):
                self.reach(file, index)

    def reach(self, file: Path, index: int) -> None:
        if index in self.reached[file]:
            return
        self.reached[file].add(index)
        statement = self.loaded[file]["statements"][index]
        self.todo.extend(partial(self.execute, name) for name in statement["imports"])
        if statement["dynamic"]:
            self.make_whole(file, statement["dynamic"])
        for module in statement["by_name"]:
            named = self.execute(module)
            if named is not None:
                self.make_whole(named, f"imported by name in {statement['label']}")
        for module, _ in statement["binds"].get("*", []):
            star = self.execute(module)
            if star is not None:
                self.make_whole(star, f"`from {module} import *` in {self._path(file)}")
        binds = statement["binds"]
        label = statement["label"]
        for chain in statement["refs"]:
            self.todo.append(partial(self.resolve, file, chain, binds, label, False))

    def resolve(
        self,
        file: Path,
        chain: list[str],
        binds: dict[str, list[list[str]]],
        where: str,
        strict: bool,
    ) -> None:
        """Reach what `chain` (a name, or a dotted use of one) names in `file`'s module:
        the statements binding its first name there, and through imports what they import.
        `binds` are the imports of the statement that uses it (inside a function too).
        `strict`: the name must be there (a module's attribute, the step's function); when
        it is not, it may be made at run time, and the module is hashed whole."""
        if not binds:  # a module-level name: the same wherever it is used from
            key = (file, tuple(chain))
            if key in self.resolved:
                return
            self.resolved.add(key)
        found = self.loaded[file]
        name, rest = chain[0], chain[1:]
        targets = list(binds.get(name, []))
        for index in found["names"].get(name, []):
            self.reach(file, index)
            targets += found["statements"][index]["binds"].get(name, [])
        if strict and name not in found["names"] and not targets:
            self.make_whole(file, f"`{name}` is not defined there statically (used in {where})")
        for module, attr in targets:
            if attr == "":
                self.todo.append(partial(self.module_value, module, rest, where))
            elif attr != "*":
                self.todo.append(partial(self.attribute, module, attr, rest, where))

    def module_value(self, module: str, rest: list[str], where: str) -> None:
        """A use of a module: `utils.clean` reaches `clean` in utils, a bare `utils` (handed
        to `getattr`, `vars`...) all of utils."""
        file = self.execute(module)
        if rest:
            self.attribute(module, rest[0], rest[1:], where)
        elif file is not None:
            self.make_whole(file, f"the module is used as a value in {where}")

    def attribute(self, module: str, attr: str, rest: list[str], where: str) -> None:
        """`module.attr` (or `from module import attr`): a submodule, a name its module
        binds, or both."""
        submodule = (
            self.index.is_package(module, self.folders)
            and self.index.locate(f"{module}.{attr}", self.folders)[1] is not None
        )
        if submodule:
            self.module_value(f"{module}.{attr}", rest, where)
        file = self.execute(module)
        if file is not None and (not submodule or attr in self.loaded[file]["names"]):
            self.resolve(file, [attr, *rest], {}, where, True)

    def _path(self, file: Path) -> str:
        return file.relative_to(self.index.root).as_posix()


def code_cache_file(root: Path) -> Path:
    """The stat cache of code descriptions: written by plan, read again before a step runs."""
    return project_dir(root) / "cache" / "code.json"


def changed_files(index: CodeIndex, run: str, planned: dict[str, str]) -> list[str]:
    """The files whose hash of what `run` reaches is not `planned`'s, or that joined or left
    the step's modules (an import added or removed)."""
    now = index.closure(run)
    return sorted(path for path in {*planned, *now} if planned.get(path) != now.get(path))
