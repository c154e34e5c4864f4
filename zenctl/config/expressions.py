"""HCL's expression language: its one evaluator.

It evaluates the tree of `zenctl.config.tree` with HCL's semantics (hclsyntax's spec and
go-cty's conversions, `zenctl.config.conversions`) for params, variable defaults, validation
conditions, stack settings, resource arguments and locals alike.

One module on purpose, over 400 lines: the evaluator is one dispatch over the tree's node
types, each case small, and the cases call one another (for expressions, directives, splats).
"""

from __future__ import annotations

import decimal
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from zenctl.config.conversions import (
    CONTEXT,
    ConversionError,
    a_type,
    as_float,
    equal,
    from_python,
    is_float,
    number_text,
    to_bool,
    to_number,
    to_python,
    to_string,
    unify,
)
from zenctl.config.tree import (
    ADDRESS_ROOTS,
    SPLAT_ITEM,
    Binary,
    Call,
    Conditional,
    ExpressionError,
    For,
    ForDirective,
    GetAttr,
    IfDirective,
    Index,
    Literal,
    Name,
    Node,
    ObjectCons,
    Splat,
    Template,
    TupleCons,
    Unary,
)
from zenctl.diagnostics import SourceRange, suggest

# -- evaluation ----------------------------------------------------------------------------


class Scope:
    """What names mean while evaluating: variables (Python values, as the step would get
    them), locals (evaluated on first use), `for` variables, and the project directory that
    file functions read from."""

    def __init__(
        self,
        variables: Mapping[str, Any] | None = None,
        locals: Mapping[str, Node] | None = None,
        root: Path | None = None,
    ) -> None:
        self.variables = variables or {}
        self.local_nodes = locals or {}
        self.root = root or Path.cwd()
        self.names: Mapping[str, Any] = {}  # what `for`, a splat or templatefile() binds
        self._converted: dict[str, Any] = {}
        self._locals: dict[str, Any] = {}
        self._evaluating: list[str] = []

    def variable(self, name: str, where: SourceRange | None) -> Any:
        if name not in self._converted:
            if name not in self.variables:
                raise ExpressionError(
                    "Reference to undeclared input variable",
                    f'An input variable with the name "{name}" has not been declared.',
                    where,
                )
            self._converted[name] = from_python(self.variables[name])
        return self._converted[name]

    def local(self, name: str, where: SourceRange | None) -> Any:
        if name in self._locals:
            return self._locals[name]
        node = self.local_nodes.get(name)
        if node is None:
            raise ExpressionError(
                "Reference to undeclared local value",
                f'A local value with the name "{name}" has not been declared.',
                where,
            )
        if name in self._evaluating:
            loop = " -> ".join(f"local.{n}" for n in [*self._evaluating, name])
            raise ExpressionError("Cycle in local values", f"{loop}.", where)
        self._evaluating.append(name)
        try:
            value = evaluate(node, self)
        finally:
            self._evaluating.pop()
        self._locals[name] = value
        return value

    def render_template(self, text: str, variables: dict[str, Any]) -> Any:
        """templatefile(): `text` parsed as a template, reading only `variables`."""
        from zenctl.config.lowering import parse_template_text

        # a fresh scope: a template file reads the variables it is given, nothing else
        return evaluate(parse_template_text(text), _Bound(Scope(root=self.root), variables))


class _Bound(Scope):
    """A scope with names bound by `for`, a splat or templatefile()'s variables."""

    def __init__(self, outer: Scope, names: Mapping[str, Any]) -> None:
        self.outer = outer
        self.names = {**outer.names, **names}  # inner names hide outer ones
        self.root = outer.root

    def variable(self, name: str, where: SourceRange | None) -> Any:
        return self.outer.variable(name, where)

    def local(self, name: str, where: SourceRange | None) -> Any:
        return self.outer.local(name, where)


def evaluate(node: Node, scope: Scope) -> Any:
    """The expression value of `node` (Decimal numbers); ExpressionError, located, when it
    cannot be computed."""
    with decimal.localcontext(CONTEXT):
        try:
            return _EVALUATORS[type(node)](node, scope)
        except ExpressionError as exc:
            raise exc.at(node.range) from None


def evaluate_to_python(node: Node, scope: Scope) -> Any:
    """The value a step receives: numbers as int or float (see `zenctl.config.conversions`)."""
    value = evaluate(node, scope)
    try:
        return to_python(value)
    except ConversionError as exc:
        raise ExpressionError("Invalid number", f"{exc}.", node.range) from None


def _literal(node: Literal, scope: Scope) -> Any:
    return node.value


def _name(node: Name, scope: Scope) -> Any:
    if node.name in scope.names:
        return scope.names[node.name]
    if node.name in ("var", "local"):
        raise ExpressionError(
            "Invalid reference",
            f'The "{node.name}" object cannot be used whole: write {node.name}.NAME.',
        )
    if node.name in ADDRESS_ROOTS:
        raise ExpressionError(
            "Invalid reference",
            f"A {node.name} reference names something, not a value: it cannot be used in an "
            "expression."
            + (" Pass a step's output to a step through inputs." if node.name == "step" else ""),
        )
    raise ExpressionError(
        "Unknown variable",
        f'There is no variable named "{node.name}". Expressions read var.NAME, local.NAME '
        "and the names a for expression binds.",
    )


def _get_attr(node: GetAttr, scope: Scope) -> Any:
    if isinstance(node.source, Name) and node.source.name not in scope.names:
        if node.source.name == "var":
            return scope.variable(node.name, node.range)
        if node.source.name == "local":
            return scope.local(node.name, node.range)
    return get_attribute(evaluate(node.source, scope), node.name)


def get_attribute(value: Any, name: str) -> Any:
    if value is None:
        raise ExpressionError(
            "Attempt to get attribute from null value",
            f'This value is null, so it does not have any attributes (reading "{name}").',
        )
    if isinstance(value, dict):
        if name not in value:
            raise ExpressionError(
                "Unsupported attribute",
                f'This object does not have an attribute named "{name}".' + suggest(name, value),
            )
        return value[name]
    if isinstance(value, list):
        raise ExpressionError(
            "Unsupported attribute",
            f'A list has no attributes (reading "{name}"). To read an attribute of one element '
            f"write list[INDEX].{name}, or of every element list[*].{name}.",
        )
    raise ExpressionError(
        "Unsupported attribute", f'{a_type(value).capitalize()} has no attribute "{name}".'
    )


def _index(node: Index, scope: Scope) -> Any:
    return index_value(evaluate(node.source, scope), evaluate(node.key, scope))


def index_value(collection: Any, key: Any) -> Any:
    if collection is None:
        raise ExpressionError(
            "Attempt to index null value", "This value is null, so it has no elements."
        )
    if key is None:
        raise ExpressionError("Invalid index", "Can't use a null value as an index.")
    if isinstance(collection, list):
        try:
            number = to_number(key)
        except ConversionError:
            raise ExpressionError(
                "Invalid index", f"A list is indexed by a number, not {a_type(key)}."
            ) from None
        if number != number.to_integral_value():
            raise ExpressionError("Invalid index", "The index must be a whole number.")
        if not 0 <= number < len(collection):
            raise ExpressionError(
                "Invalid index",
                f"The index {number_text(number)} is out of range: the list has "
                f"{len(collection)} element(s), indexed from 0.",
            )
        return collection[int(number)]
    if isinstance(collection, dict):
        try:
            name = to_string(key)
        except ConversionError:
            raise ExpressionError(
                "Invalid index", f"A map is indexed by a string, not {a_type(key)}."
            ) from None
        if name not in collection:
            raise ExpressionError(
                "Invalid index",
                f'The given key does not identify an element in this map: there is no "{name}".'
                + suggest(name, collection),
            )
        return collection[name]
    raise ExpressionError(
        "Invalid index", f"{a_type(collection).capitalize()} has no elements to index."
    )


def _splat(node: Splat, scope: Scope) -> Any:
    source = evaluate(node.source, scope)
    if source is None:
        return []
    items = source if isinstance(source, list) else [source]
    return [evaluate(node.each, _Bound(scope, {SPLAT_ITEM: item})) for item in items]


def _call(node: Call, scope: Scope) -> Any:
    if node.name == "try":
        return _try(node, scope)
    if node.name == "can":
        try:
            _one_argument(node, "expression")
            evaluate(node.args[0], scope)
        except ExpressionError:
            return False
        return True
    from zenctl.config.functions import FunctionError, call

    args = [evaluate(arg, scope) for arg in node.args]
    if node.expand_last:
        last = args.pop() if args else None
        if not isinstance(last, list):
            raise ExpressionError(
                "Invalid expanding argument value",
                f"The expanding argument (indicated by ...) must be a list, not {a_type(last)}.",
                node.args[-1].range if node.args else node.range,
            )
        args.extend(last)
    try:
        return call(node.name, args, scope)
    except FunctionError as exc:
        if exc.param is not None:
            raise ExpressionError(
                "Invalid function argument",
                f'Invalid value for "{exc.param}" parameter: {exc}.',
            ) from None
        raise ExpressionError("Error in function call", str(exc)) from None


def _one_argument(node: Call, what: str) -> None:
    if len(node.args) != 1 or node.expand_last:
        raise ExpressionError(
            "Error in function call",
            f'Function "{node.name}" expects 1 argument ({what}), got {len(node.args)}.',
        )


def _try(node: Call, scope: Scope) -> Any:
    if not node.args:
        raise ExpressionError(
            "Error in function call",
            'Function "try" expects at least one argument: the expressions to try in turn.',
        )
    failures: list[str] = []
    for arg in node.args:
        try:
            return evaluate(arg, scope)
        except ExpressionError as exc:
            failures.append(str(exc))
    raise ExpressionError(
        "Error in function call",
        'Call to function "try" failed: no expression succeeded:\n- ' + "\n- ".join(failures),
    )


def _unary(node: Unary, scope: Scope) -> Any:
    value = evaluate(node.operand, scope)
    if node.op == "!":
        return not _operand(to_bool, value, "operand", "a bool")
    return -_operand(to_number, value, "operand", "a number")


def _operand(convert: Callable[[Any], Any], value: Any, side: str, kind: str) -> Any:
    if value is None:
        raise ExpressionError(
            "Invalid operand", f"Unsuitable value for {side}: {kind} is required, got null."
        )
    try:
        return convert(value)
    except ConversionError:
        raise ExpressionError(
            "Invalid operand",
            f"Unsuitable value for {side}: {kind} is required, got {a_type(value)}.",
        ) from None


_ARITHMETIC: dict[str, Callable[[Decimal, Decimal], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "%": lambda a, b: a % b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _binary(node: Binary, scope: Scope) -> Any:
    op = node.op
    if op in ("&&", "||"):
        return _logic(op, node.left, node.right, scope)
    left = evaluate(node.left, scope)
    right = evaluate(node.right, scope)
    if op == "==":
        return equal(left, right)
    if op == "!=":
        return not equal(left, right)
    a = _operand(to_number, left, "left operand", "a number")
    b = _operand(to_number, right, "right operand", "a number")
    if op in ("/", "%") and b == 0:
        raise ExpressionError(
            "Division by zero",
            f"The right operand of {op} is zero. (HCL would give "
            + ("infinity" if op == "/" else "the left operand")
            + ", which no step can be given usefully; zenctl refuses it.)",
        )
    try:
        result = _ARITHMETIC[op](a, b)
    except decimal.DecimalException:
        raise ExpressionError("Invalid operation", "The result is too large to compute.") from None
    if isinstance(result, Decimal) and (is_float(a) or is_float(b)):
        return as_float(result)  # a float operand makes a float, whole or not (`3.0 / 1.5`)
    return result


def _logic(op: str, left_node: Node, right_node: Node, scope: Scope) -> bool:
    """HCL's `&&` and `||`: both sides are evaluated; a side of the wrong type is an error
    either way, but a side that fails to evaluate does not matter when the other decides
    (`false && l[0]`, `l[0] || true`)."""
    deciding = op == "||"  # the value that decides alone
    sides: list[bool | ExpressionError] = []
    for node, side in ((left_node, "left operand"), (right_node, "right operand")):
        try:
            value = evaluate(node, scope)
        except ExpressionError as failure:
            if _gives_number(node):  # HCL: a number, even unknown, is never a bool
                raise
            sides.append(failure)
            continue
        sides.append(_operand(to_bool, value, side, "a bool"))
    if deciding in sides:
        return deciding
    for outcome in sides:
        if isinstance(outcome, ExpressionError):
            raise outcome
    return not deciding


def _gives_number(node: Node) -> bool:
    """Whether `node` is arithmetic, whose result is a number whatever its operands are."""
    arithmetic = isinstance(node, Binary) and node.op in ("+", "-", "*", "/", "%")
    return arithmetic or (isinstance(node, Unary) and node.op == "-")


def _conditional(node: Conditional, scope: Scope) -> Any:
    condition = evaluate(node.condition, scope)
    if condition is None:
        raise ExpressionError("Null condition", "The condition value is null; it must be a bool.")
    try:
        chosen = to_bool(condition)
    except ConversionError:
        raise ExpressionError(
            "Incorrect condition type",
            f"The condition expression must be a bool, not {a_type(condition)}.",
            node.condition.range,
        ) from None
    first, second = (node.then, node.otherwise) if chosen else (node.otherwise, node.then)
    value = evaluate(first, scope)
    try:
        other = evaluate(second, scope)  # only its type matters, as in HCL
    except ExpressionError:
        return value  # HCL would unify with the type it failed to give: zenctl cannot know it
    then, otherwise = (value, other) if chosen else (other, value)
    try:
        unified = unify([then, otherwise])
    except ConversionError:
        raise ExpressionError(
            "Inconsistent conditional result types",
            f"The true result is {a_type(then)} and the false result {a_type(otherwise)}; they "
            "must have one type (a string, number or bool converts to a string).",
        ) from None
    return unified[0] if chosen else unified[1]


def _tuple(node: TupleCons, scope: Scope) -> Any:
    return [evaluate(item, scope) for item in node.items]


def _object(node: ObjectCons, scope: Scope) -> Any:
    result: dict[str, Any] = {}
    for key_node, value_node in node.items:
        key = evaluate(key_node, scope)
        result[_key(key, key_node)] = evaluate(value_node, scope)
    return result


def _key(key: Any, node: Node) -> str:
    if key is None:
        raise ExpressionError("Null value as key", "Can't use a null value as a key.", node.range)
    try:
        return to_string(key)
    except ConversionError:
        raise ExpressionError(
            "Incorrect key type", f"A key must be a string, not {a_type(key)}.", node.range
        ) from None


def _pairs(node: For | ForDirective, scope: Scope) -> list[tuple[Any, Any]]:
    collection = evaluate(node.collection, scope)
    if isinstance(collection, list):
        return [(Decimal(index), item) for index, item in enumerate(collection)]
    if isinstance(collection, dict):
        return sorted(collection.items())
    what = "a null value" if collection is None else a_type(collection)
    raise ExpressionError(
        "Iteration over non-iterable value",
        f"A for expression can only iterate over a list or a map, not {what}.",
        node.collection.range,
    )


def _each(node: For | ForDirective, scope: Scope) -> Iterator[Scope]:
    for key, item in _pairs(node, scope):
        names = {node.value_name: item}
        if node.key_name:
            names[node.key_name] = key
        yield _Bound(scope, names)


def _for(node: For, scope: Scope) -> Any:
    values: list[Any] = []
    keys: list[str] = []
    for inner in _each(node, scope):
        if node.condition is not None:
            kept = evaluate(node.condition, inner)
            try:
                if not to_bool(kept):
                    continue
            except ConversionError:
                raise ExpressionError(
                    "Invalid 'for' condition",
                    f"The if clause must give a bool, not {a_type(kept)}.",
                    node.condition.range,
                ) from None
        if node.key is not None:
            keys.append(_key(evaluate(node.key, inner), node.key))
        values.append(evaluate(node.value, inner))
    if node.key is None:
        return values
    result: dict[str, Any] = {}
    for key, value in zip(keys, values, strict=True):
        if node.grouping:
            result.setdefault(key, []).append(value)
        elif key in result:
            raise ExpressionError(
                "Duplicate object key",
                f'Two different items produced the key "{key}" in this for expression. If '
                "duplicates are expected, use the ellipsis (...) after the value expression to "
                "group them by key.",
                node.key.range,
            )
        else:
            result[key] = value
    return result


def _template(node: Template, scope: Scope) -> Any:
    return unicodedata.normalize("NFC", "".join(_part(part, scope) for part in node.parts))


def _part(part: Node, scope: Scope) -> str:
    value = evaluate(part, scope)
    if isinstance(value, str):
        return value
    if value is None:
        raise ExpressionError(
            "Invalid template interpolation value",
            "The expression result is null. Cannot include a null value in a string template.",
            part.range,
        )
    try:
        return to_string(value)
    except ConversionError:
        raise ExpressionError(
            "Invalid template interpolation value",
            f"Cannot include the given value in a string template: it is {a_type(value)}; only "
            "a string, a number or a bool can be.",
            part.range,
        ) from None


def _if_directive(node: IfDirective, scope: Scope) -> Any:
    condition = evaluate(node.condition, scope)
    try:
        chosen = to_bool(condition) if condition is not None else None
    except ConversionError:
        chosen = None
    if chosen is None:
        raise ExpressionError(
            "Invalid template if condition",
            f"The condition must be a bool, not {a_type(condition)}.",
            node.condition.range,
        )
    return evaluate(node.then if chosen else node.otherwise, scope)


def _for_directive(node: ForDirective, scope: Scope) -> Any:
    return "".join(evaluate(node.body, inner) for inner in _each(node, scope))


_EVALUATORS: dict[type[Node], Callable[[Any, Scope], Any]] = {
    Literal: _literal,
    Name: _name,
    GetAttr: _get_attr,
    Index: _index,
    Splat: _splat,
    Call: _call,
    Unary: _unary,
    Binary: _binary,
    Conditional: _conditional,
    TupleCons: _tuple,
    ObjectCons: _object,
    For: _for,
    Template: _template,
    IfDirective: _if_directive,
    ForDirective: _for_directive,
}


def evaluate_text(
    source: str,
    variables: Mapping[str, Any] | None = None,
    locals: Mapping[str, str] | None = None,
    root: Path | None = None,
) -> Any:
    """The Python value of one expression written as in a .hcl file (`x = SOURCE`), with
    these variables and locals (each local's expression text): the conformance suite's and
    the REPL's way in, through the loader's own parsing and lowering."""
    from zenctl.config.lowering import parse_expression

    local_nodes = {name: parse_expression(text) for name, text in (locals or {}).items()}
    return evaluate_to_python(parse_expression(source), Scope(variables, local_nodes, root))
