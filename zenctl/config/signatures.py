"""Check each step's `run` target against the Python source it names, before anything runs.

The step function is called with its params and inputs as keyword arguments, so a missing
module or function, a param the function does not take, or a required argument that nothing
supplies would fail the step only once apply reaches it. The signature is read from the
module's AST (planning never imports user code), and only where it can be read for certain:
modules outside the project, functions taking `**kwargs`, decorated or conditionally defined
ones and names bound any other way (classes, assignments, `import x as f`) are not checked.
`from x import f` is followed through project-local modules.

Runs on every `validate` and `plan`: the Python files are not part of the config cache.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

from zenctl.config.model import Pipeline, Step
from zenctl.diagnostics import Diagnostic, SourceRange, closest, find_in, source_lines, suggest
from zenctl.modules import imported_from, module_file, package_of

Function = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class _Definition:
    """Where a module binds a name; `function` is None when its signature cannot be read."""

    file: Path | None
    function: Function | None = None


_UNREADABLE = _Definition(None)


class StepChecker:
    """Checks steps against their modules, parsing each Python file at most once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._trees: dict[Path, ast.Module | None] = {}
        self._files: dict[str, Path | None] = {}
        self._definitions: dict[str, _Definition | None] = {}
        self._configs: dict[str, list[str]] = {}
        self._signatures: dict[Function, str] = {}

    def check(self, pipeline: Pipeline, step: Step) -> list[Diagnostic]:
        module, _, name = step.run.partition(":")
        context = f'in pipeline "{pipeline.name}"'
        file = self._module_file(module)
        if file is None:
            if _installed(module):
                return []
            return [
                Diagnostic(
                    "error",
                    "Step module not found",
                    f'Step "{step.name}" runs {step.run}, but module "{module}" is neither a '
                    f"file under {self.root} nor an installed package. Create "
                    f"{module.replace('.', '/')}.py or fix `run`.",
                    self._at_run(step),
                    context,
                )
            ]
        if step.run not in self._definitions:
            self._definitions[step.run] = self._lookup(module, name, set())
        found = self._definitions[step.run]
        if found is None:
            known = self._functions(file)
            return [
                Diagnostic(
                    "error",
                    "Step function not found",
                    f'Step "{step.name}" runs {step.run}, but {self._show(file)} defines no '
                    f'function "{name}". Define it there or fix `run`.' + suggest(name, known),
                    self._at_run(step),
                    context,
                )
            ]
        if found.function is None or found.file is None or not isinstance(step.params, dict):
            return []  # params from an expression: their names are known at plan time only
        return self._check_arguments(step, found.function, found.file, context)

    # -- arguments ----------------------------------------------------------------------------

    def _signature(self, function: Function) -> str:
        """`name(a, b=1)`, for messages: unparsed once per function, which a thousand steps
        may share (`ast.unparse` was a sixth of a 1,000-step plan)."""
        if function not in self._signatures:
            self._signatures[function] = f"{function.name}({ast.unparse(function.args)})"
        return self._signatures[function]

    def _check_arguments(
        self, step: Step, function: Function, file: Path, context: str
    ) -> list[Diagnostic]:
        arguments = function.args
        params = step.params if isinstance(step.params, dict) else {}
        where = f"{self._show(file)} line {function.lineno}"
        signature = self._signature(function)
        positional = [*arguments.posonlyargs, *arguments.args]
        first_default = len(positional) - len(arguments.defaults)
        problems: list[Diagnostic] = []
        misspelt: set[str | None] = set()  # not reported missing again: one typo, one error
        # the step is called with keyword arguments only: a positional-only one never gets a value
        stuck = [a.arg for a in arguments.posonlyargs[:first_default]]
        if stuck:
            problems.append(
                Diagnostic(
                    "error",
                    "Step function takes positional-only arguments",
                    f"{signature} ({where}) requires {_names(stuck)} by position, but zenctl "
                    "passes params and inputs by name. Remove the `/` from its signature.",
                    self._at_run(step),
                    context,
                )
            )
        if arguments.kwarg is None:
            accepted = [a.arg for a in (*arguments.args, *arguments.kwonlyargs)]
            offered = [("param", key) for key in params]
            if step.on is None:  # a component's own step body may pass inputs otherwise (Beam)
                offered += [("input", key) for key in step.inputs]
            for kind, key in offered:
                if key not in accepted:
                    misspelt.add(closest(key, accepted))
                    problems.append(
                        Diagnostic(
                            "error",
                            f"Unsupported {kind}",
                            f'Step "{step.name}" passes the {kind} "{key}", but {signature} '
                            f"({where}) takes no argument of that name. Remove the {kind} or "
                            f"add the argument to the function." + suggest(key, accepted),
                            self._find(step.range, rf'(?<![\w.-])"?({re.escape(key)})"?\s*[=:]'),
                            context,
                        )
                    )
        without_default = max(0, first_default - len(arguments.posonlyargs))
        required = [a.arg for a in arguments.args[:without_default]]
        required += [
            a.arg
            for a, default in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
            if default is None
        ]
        supplied = {*params, *step.inputs, *misspelt}
        missing = [name for name in required if name not in supplied]
        if missing:
            it = "it" if len(missing) == 1 else "them"
            problems.append(
                Diagnostic(
                    "error",
                    "Missing argument for step function",
                    f"{signature} ({where}) requires {_names(missing)}, but no input or param "
                    f'of step "{step.name}" supplies {it}. Add {it} to the step\'s params or '
                    "inputs, or give the function a default.",
                    self._at_run(step),
                    context,
                )
            )
        return problems

    # -- modules ------------------------------------------------------------------------------

    def _lookup(self, module: str, name: str, seen: set[tuple[str, str]]) -> _Definition | None:
        """How `module` binds `name`: None when it certainly does not."""
        file = self._module_file(module)
        tree = self._tree(file) if file else None
        if file is None or tree is None or (module, name) in seen:
            return _UNREADABLE
        seen.add((module, name))
        package = package_of(self.root, file)
        bindings: list[_Definition] = []
        dynamic = False  # a module `__getattr__` or a star import from outside may supply it
        for statement, conditional in _top_level(tree.body, False):
            if isinstance(statement, Function | ast.ClassDef):
                if statement.name == "__getattr__":
                    dynamic = True
                if statement.name == name:
                    # a decorator or a condition may change or remove what the module exports
                    readable = not (statement.decorator_list or conditional)
                    function = statement if isinstance(statement, Function) else None
                    bindings.append(_Definition(file, function if readable else None))
            elif isinstance(statement, ast.ImportFrom):
                source = imported_from(statement, package)
                for alias in statement.names:
                    if alias.name == "*":
                        star = self._follow(source, name, seen)
                        if star is _UNREADABLE:
                            dynamic = True
                        elif star is not None:
                            bindings.append(star)
                    elif (alias.asname or alias.name) == name:
                        bindings.append(self._follow(source, alias.name, seen) or _UNREADABLE)
            elif _binds(statement, name):
                bindings.append(_Definition(file))
        if not bindings:
            return _UNREADABLE if dynamic else None
        return bindings[0] if len(bindings) == 1 else _Definition(file)

    def _follow(self, module: str, name: str, seen: set[tuple[str, str]]) -> _Definition | None:
        if not module or self._module_file(module) is None:
            return _UNREADABLE  # installed, or a failing import that Python will report
        return self._lookup(module, name, seen)

    def _module_file(self, module: str) -> Path | None:
        if module not in self._files:
            self._files[module] = module_file(self.root, module)
        return self._files[module]

    def _tree(self, file: Path) -> ast.Module | None:
        if file not in self._trees:
            try:
                self._trees[file] = ast.parse(file.read_bytes(), filename=str(file))
            except (OSError, SyntaxError, ValueError):
                # unreadable or not Python this interpreter parses: the step reports it when run
                self._trees[file] = None
        return self._trees[file]

    def _functions(self, file: Path) -> list[str]:
        tree = self._tree(file)
        body = tree.body if tree else []
        return [node.name for node in body if isinstance(node, Function)]

    def _show(self, file: Path) -> str:
        return file.relative_to(self.root).as_posix()

    def _at_run(self, step: Step) -> SourceRange:
        return self._find(step.range, re.escape(step.run))

    def _find(self, within: SourceRange, pattern: str) -> SourceRange:
        lines = self._configs.get(within.filename)
        if lines is None:
            try:
                text = Path(within.filename).read_text(errors="replace")
            except OSError:
                text = ""
            lines = self._configs[within.filename] = source_lines(text)
        return find_in(lines, within, re.compile(pattern))


def check_steps(root: Path, pipelines: list[Pipeline]) -> list[Diagnostic]:
    """Every problem of every step's `run` target, in declaration order."""
    checker = StepChecker(root)
    return [
        problem
        for pipeline in pipelines
        for step in pipeline.steps.values()
        for problem in checker.check(pipeline, step)
    ]


def _top_level(body: list[ast.stmt], conditional: bool) -> list[tuple[ast.stmt, bool]]:
    """A module's statements with those nested in `if`, `try` and `with` blocks, each marked
    whether it runs only on some condition."""
    found: list[tuple[ast.stmt, bool]] = []
    for statement in body:
        if isinstance(statement, ast.If | ast.Try | ast.TryStar | ast.With):
            nested = [*getattr(statement, "body", []), *getattr(statement, "orelse", [])]
            nested += getattr(statement, "finalbody", [])
            for handler in getattr(statement, "handlers", []):
                nested += handler.body
            found += _top_level(nested, conditional or not isinstance(statement, ast.With))
        else:
            found.append((statement, conditional))
    return found


def _binds(statement: ast.stmt, name: str) -> bool:
    """Whether a statement other than a definition binds `name` (`f = ...`, `import f`)."""
    if isinstance(statement, ast.Import):
        return any((a.asname or a.name.split(".")[0]) == name for a in statement.names)
    return any(
        isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Store)
        for node in ast.walk(statement)
    )


def _installed(module: str) -> bool:
    """Whether `module` comes from an installed distribution (only its top package is checked:
    finding a submodule would import its parents, and planning never imports user code)."""
    return importlib.util.find_spec(module.split(".")[0]) is not None


def _names(names: list[str]) -> str:
    return ", ".join(f'"{name}"' for name in names)
