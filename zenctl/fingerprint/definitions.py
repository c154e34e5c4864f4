"""What a Python file defines at its top level, and what each of those statements refers to.

A step's code hash covers only the top-level statements its function reaches
(zenctl/fingerprint/code.py walks them); this module reads one file into the index that walk
needs, as plain JSON so that the code cache (`.zenctl/cache/code.json`) keeps it per file and
a warm plan parses nothing. Each statement is hashed as the normal form of its source lines
(zenctl/fingerprint/tokens.py): comments, formatting and docstrings do not count.

What cannot be read statically is recorded as a reason for hashing the whole module instead:
code that runs on import for its effect (a bare call, an assignment to an attribute or an
item, `from x import *`), and, per statement, `globals()`, `exec` and their kind.
"""

from __future__ import annotations

import ast
import tokenize
from collections.abc import Iterator
from io import BytesIO
from typing import TypedDict

from zenctl.fingerprint.canonical import digest
from zenctl.fingerprint.files import hash_bytes
from zenctl.fingerprint.tokens import normal_form
from zenctl.modules import imported_from

# Reached code that uses one of these can read any name of its module: the module is hashed whole.
_DYNAMIC_NAMES = ("globals", "locals", "vars", "exec", "eval", "__import__", "import_module")
_DYNAMIC_CHAINS = ("importlib.import_module", "sys.modules")
_FUNCTION = (ast.FunctionDef, ast.AsyncFunctionDef)
_COMPOUND_BODIES = ("body", "orelse", "finalbody", "handlers")

# A binding made by an import: (module, attribute), attribute "" for `import x`, "*" for a
# star import.
Target = list[str]


class Statement(TypedDict):
    hash: str  # of the statement's normal form
    label: str  # how `plan --explain` names it: its first bound name, else `line N`
    defs: list[str]  # the functions and classes it defines
    classes: list[str]  # the classes it defines
    refs: list[
        list[str]
    ]  # names it reads, a dotted use as its chain: `utils.clean` -> [utils, clean]
    imports: list[str]  # modules it imports, functions' bodies included
    binds: dict[str, list[Target]]  # names its imports bind (in its functions too)
    dynamic: str  # why its module must be hashed whole once it is reached, or ""
    by_name: list[str]  # modules it imports by a constant name: `import_module("steps.x")`
    import_time: list[str]  # names called, or handed to a call, while the module is imported


class Definitions(TypedDict):
    hash: str  # the whole file: of its statements' hashes in order, docstrings left out
    statements: list[Statement]
    names: dict[str, list[int]]  # module-level name -> the statements that bind it
    imports: list[str]  # modules imported when this one is (not those inside functions)
    whole: str  # why the module is hashed whole whatever reaches it, or ""


def unparsable(source: bytes) -> Definitions:
    """A file Python cannot parse: hashed as its bytes, whole. The step fails with Python's
    own message when it runs."""
    return Definitions(
        hash=hash_bytes(source), statements=[], names={}, imports=[], whole="does not parse"
    )


def read_definitions(source: bytes, package: list[str]) -> Definitions:
    """The index of one file; `package` anchors its relative imports. Raises SyntaxError,
    ValueError or tokenize.TokenError for a file Python cannot parse."""
    tree = ast.parse(source)
    encoding = tokenize.detect_encoding(BytesIO(source).readline)[0]
    lines = source.decode(encoding).splitlines(keepends=True)
    statements: list[Statement] = []
    names: dict[str, list[int]] = {}
    imports: list[str] = []
    whole = ""
    kept: list[str] = []  # the hashes of the statements that do something: not a docstring
    for index, node in enumerate(tree.body):
        statement = _statement(node, lines, package)
        statements.append(statement)
        if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            kept.append(statement["hash"])
        if _is_main_guard(node):  # runs as a script only, never on import
            continue
        for name in _bound_names(node):
            names.setdefault(name, []).append(index)
        for part in _import_time_statements(node):
            if isinstance(part, ast.Import | ast.ImportFrom):
                imports.extend(_imported_modules(part, package))
            whole = whole or _side_effect(part)
    return Definitions(
        hash=digest(kept),
        statements=statements,
        names=names,
        imports=sorted(set(imports)),
        whole=whole,
    )


def _statement(node: ast.stmt, lines: list[str], package: list[str]) -> Statement:
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ()))])
    segment = "".join(lines[first - 1 : node.end_lineno]).encode()
    bound = list(_bound_names(node))
    refs: dict[str, list[str]] = {}
    for chain in _references(node):
        refs.setdefault(".".join(chain), chain)
    binds: dict[str, list[Target]] = {}
    imported: list[str] = []
    for part in ast.walk(node):
        if isinstance(part, ast.Import | ast.ImportFrom):
            imported.extend(_imported_modules(part, package))
            for name, target in _import_bindings(part, package):
                binds.setdefault(name, []).append(target)
    label = bound[0] if bound else f"line {node.lineno}"
    return Statement(
        hash=digest(normal_form(segment)),
        label=label,
        defs=_defined(node, (*_FUNCTION, ast.ClassDef)),
        classes=_defined(node, (ast.ClassDef,)),
        refs=[refs[key] for key in sorted(refs)],
        imports=sorted(set(imported)),
        binds=binds,
        dynamic=next((f"{what} in {label}" for what in _dynamic_uses(refs)), ""),
        import_time=sorted(set(_import_time_calls(node))),
        by_name=sorted(set(_imported_by_name(node))),
    )


def _imported_by_name(node: ast.stmt) -> Iterator[str]:
    """The modules `importlib.import_module("a.b")` or `__import__("a.b")` name as a constant:
    whatever of them is used is unknown, so each is hashed whole."""
    for part in ast.walk(node):
        if isinstance(part, ast.Call) and part.args:
            first = part.args[0]
            if (
                _chain(part.func)[-1:] in (["import_module"], ["__import__"])
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and not first.value.startswith(".")  # relative to a package given apart
            ):
                yield first.value


_Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def _defined(node: ast.stmt, kinds: tuple[type[_Definition], ...]) -> list[str]:
    """The names of the functions or classes (`kinds`) a statement defines at top level."""
    found = [node] if isinstance(node, (*_FUNCTION, ast.ClassDef)) else _walk_outside_bodies(node)
    return [part.name for part in found if isinstance(part, kinds)]


def _references(node: ast.AST) -> Iterator[list[str]]:
    """Every name the statement reads or writes, a dotted use as its whole chain; `global`
    names too. Locals are included: looking them up at module level only adds. A work list,
    not recursion: generated code nests expressions deeper than Python's recursion limit."""
    pending = [node]
    while pending:
        node = pending.pop()
        chain = _chain(node) if isinstance(node, ast.Attribute | ast.Name) else []
        if chain:
            yield chain
            continue
        if isinstance(node, ast.Global | ast.Nonlocal):
            yield from ([name] for name in node.names)
        pending.extend(ast.iter_child_nodes(node))


def _chain(node: ast.expr) -> list[str]:
    """`a.b.c` as [a, b, c]; [] when the chain does not start at a name (`f().x`)."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return [node.id, *reversed(parts)] if isinstance(node, ast.Name) else []


def _dynamic_uses(refs: dict[str, list[str]]) -> Iterator[str]:
    for key, chain in sorted(refs.items()):
        if chain[0] in _DYNAMIC_NAMES:
            yield f"{chain[0]}()"
        elif any(key == c or key.startswith(c + ".") for c in _DYNAMIC_CHAINS):
            yield key


def _bound_names(node: ast.stmt) -> Iterator[str]:
    """The module-level names a top-level statement binds: what it defines, assigns or
    imports, at any depth outside function and class bodies, and the names its functions
    declare `global`."""
    if isinstance(node, (*_FUNCTION, ast.ClassDef)):
        yield node.name
        for part in ast.walk(node):
            if isinstance(part, ast.Global):
                yield from part.names
        return
    for part in _walk_outside_bodies(node):
        if isinstance(part, ast.Name) and not isinstance(part.ctx, ast.Load):
            yield part.id
        elif isinstance(part, ast.Import | ast.ImportFrom):
            for alias in part.names:
                yield (alias.asname or alias.name).split(".")[0]
        elif isinstance(part, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and part.name:
            yield part.name
        elif isinstance(part, ast.MatchMapping) and part.rest:
            yield part.rest
        elif isinstance(part, (*_FUNCTION, ast.ClassDef)) and part is not node:
            yield from _bound_names(part)


def _walk_outside_bodies(node: ast.AST) -> Iterator[ast.AST]:
    """`ast.walk`, not entering the bodies of functions, lambdas and classes."""
    yield node
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (*_FUNCTION, ast.ClassDef, ast.Lambda)):
            yield child
        else:
            yield from _walk_outside_bodies(child)


def _import_time_statements(node: ast.stmt) -> Iterator[ast.stmt]:
    """The statements Python executes when it imports the module: top-level ones, those of
    compound statements at top level and of class bodies, not those of function bodies."""
    yield node
    if isinstance(node, _FUNCTION):
        return
    for field in (*_COMPOUND_BODIES, "cases"):
        for child in getattr(node, field, ()):
            if isinstance(child, ast.ExceptHandler | ast.match_case):
                for statement in child.body:
                    yield from _import_time_statements(statement)
            elif isinstance(child, ast.stmt):
                yield from _import_time_statements(child)


def _import_time_calls(node: ast.stmt) -> Iterator[str]:
    """Names called while the module is imported (decorators included), names handed to such
    calls, and the bases and metaclass of classes (`__init_subclass__` runs on import): the
    project's own code run then may change what other code reads."""
    for statement in _import_time_statements(node):
        if isinstance(statement, (*_FUNCTION, ast.ClassDef)):
            for decorator in statement.decorator_list:
                yield from _chain(decorator)[:1]
        if isinstance(statement, ast.ClassDef):
            for base in [*statement.bases, *(k.value for k in statement.keywords)]:
                yield from _chain(base)[:1]
        for expression in _import_time_expressions(statement):
            # a lambda's body too: handed to a call (`sorted(rows, key=lambda r: score(r))`),
            # it may run on import
            for part in ast.walk(expression):
                if isinstance(part, ast.Call):
                    yield from _chain(part.func)[:1]
                    for argument in [*part.args, *(k.value for k in part.keywords)]:
                        yield from _chain(argument)[:1]


def _import_time_expressions(statement: ast.stmt) -> list[ast.expr]:
    """The expressions of one statement evaluated on import: a function's decorators and
    defaults, not its body; a class's decorators, bases and keywords (its body's statements
    come one by one from `_import_time_statements`); any other statement's own expressions."""
    if isinstance(statement, _FUNCTION):
        arguments = statement.args
        defaults = [d for d in arguments.kw_defaults if d is not None]
        return [*statement.decorator_list, *arguments.defaults, *defaults]
    if isinstance(statement, ast.ClassDef):
        keywords = [k.value for k in statement.keywords]
        return [*statement.decorator_list, *statement.bases, *keywords]
    found: list[ast.expr] = []
    for child in ast.iter_child_nodes(statement):
        if isinstance(child, ast.expr):
            found.append(child)
        elif not isinstance(child, ast.stmt | ast.ExceptHandler | ast.match_case):
            # withitem, comprehension, arguments...: their expressions
            found.extend(c for c in ast.walk(child) if isinstance(c, ast.expr))
    return found


def _side_effect(node: ast.stmt) -> str:
    """Why an import-time statement makes its module unanalysable, or "": a bare expression
    (a call run for its effect: `sys.path.insert`, `random.seed`), an assignment to an
    attribute or an item (monkeypatching, a registry filled), a star import."""
    if isinstance(node, ast.Expr) and not isinstance(node.value, ast.Constant):
        return f"module-level code `{_brief(node.value)}` (line {node.lineno})"
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign | ast.Delete):
        targets = node.targets
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        targets = [node.target]
    for target in targets:
        for part in ast.walk(target):
            if isinstance(part, ast.Attribute | ast.Subscript) and isinstance(
                part.ctx, ast.Store | ast.Del
            ):
                return f"module-level assignment to `{_brief(part)}` (line {node.lineno})"
    if isinstance(node, ast.ImportFrom) and any(alias.name == "*" for alias in node.names):
        return f"`from {'.' * node.level}{node.module or ''} import *` (line {node.lineno})"
    refs: dict[str, list[str]] = {}
    for expression in _import_time_expressions(node):
        for chain in _references(expression):
            refs.setdefault(".".join(chain), chain)
    # `exec` or `globals()` on import may define any name, where no statement is seen to
    dynamic = next(_dynamic_uses(refs), "")
    return f"{dynamic} at module level (line {node.lineno})" if dynamic else ""


def _brief(node: ast.AST) -> str:
    text = ast.unparse(node).replace("\n", " ")
    return text if len(text) <= 40 else text[:37] + "..."


def _is_main_guard(node: ast.stmt) -> bool:
    """`if __name__ == "__main__":`"""
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    test = node.test
    sides = [test.left, *test.comparators]
    return (
        len(sides) == 2
        and isinstance(test.ops[0], ast.Eq)
        and any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)
        and any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides)
    )


def _imported_modules(node: ast.Import | ast.ImportFrom, package: list[str]) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = imported_from(node, package)
    # `from pkg import name` may import the submodule pkg.name
    names = [f"{base}.{alias.name}" if base else alias.name for alias in node.names]
    return [base, *names] if base else names


def _import_bindings(
    node: ast.Import | ast.ImportFrom, package: list[str]
) -> Iterator[tuple[str, Target]]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                yield alias.asname, [alias.name, ""]
            else:  # `import a.b` binds `a`, and imports a.b
                yield alias.name.split(".")[0], [alias.name.split(".")[0], ""]
        return
    base = imported_from(node, package)
    for alias in node.names:
        if alias.name == "*":
            yield "*", [base, "*"]
        elif base:
            yield alias.asname or alias.name, [base, alias.name]
        else:  # `from . import x` at the top of the project: x is a module
            yield alias.asname or alias.name, [alias.name, ""]
