"""Parse and validate `*.zc.hcl` files: the cold path, run only when the config cache misses.

Every problem becomes a `Diagnostic` with its source range; the whole set is raised at the
end so that one run shows all of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, InstanceOf, StringConstraints, ValidationError

from zenctl.config.catalog import ComponentCatalog
from zenctl.config.expressions import ExpressionError, Node, traversals
from zenctl.config.lowering import Lowering, Marks, hide_strip_markers
from zenctl.config.model import (
    COMPONENT_KINDS,
    DEFAULT_OUTPUT,
    REQUIRED_COMPONENTS,
    STEP_EXECUTORS,
    Component,
    Config,
    Deployment,
    Expression,
    Moved,
    Pipeline,
    ProviderRequirement,
    Ref,
    Source,
    Stack,
    Step,
    Validation,
    Variable,
    deployment_serving,
    is_constant,
    is_core,
    references,
)
from zenctl.config.source_checks import value_problems
from zenctl.config.syntax import node_range, syntax_diagnostic
from zenctl.config.types import TypeMismatch, convert_value, normalize_type
from zenctl.config.values import AlreadyReported, LocalValue, Values, bare_word
from zenctl.diagnostics import (
    Diagnostic,
    DiagnosticsError,
    Position,
    SourceRange,
    UserError,
    find_in,
)
from zenctl.diagnostics import suggest as _suggest

IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_-]{0,63}"
Name = Annotated[str, StringConstraints(pattern=f"^{IDENTIFIER}$")]
RunTarget = Annotated[
    str,
    StringConstraints(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"
    ),
]
_NAME_RULE = (
    "start with a letter or underscore, then letters, digits, underscores or dashes (at most 64)"
)
DEFAULT_STACK = "default"
M = TypeVar("M", bound=BaseModel)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, arbitrary_types_allowed=True)


class VariableBody(_Body):
    type: str = "any"
    default: Any = None
    description: str = ""
    sensitive: bool = False


class SourceBody(_Body):
    path: Annotated[str, StringConstraints(min_length=1)]


class StepBody(_Body):
    run: RunTarget
    inputs: dict[Name, InstanceOf[Ref]] = {}
    params: (
        dict[Name, Any] | InstanceOf[Expression] | InstanceOf[Ref]
    ) = {}  # a map, or what gives one
    outputs: list[Name] = [DEFAULT_OUTPUT]
    on: Literal["processing", "training", "serving"] | None = None


class PipelineBody(_Body):
    stack: InstanceOf[Ref] | None = None


class DeploymentBody(_Body):
    model: InstanceOf[Ref]
    serving: Name | None = None


_HINTS = {
    "run": 'Write it as "package.module:function", importable from the project directory.',
    "inputs": "Inputs are references: source.NAME or step.NAME.outputs.OUTPUT.",
    "stack": "Reference a declared stack, stack = stack.NAME, or a variable naming one.",
    "on": f"Choose one of {', '.join(STEP_EXECUTORS)}.",
    "outputs": 'List the output names, e.g. outputs = ["train", "test"].',
    "model": "Reference a step output: model = step.train.outputs.output.",
}


def default_stack(catalog: ComponentCatalog) -> Stack:
    """The embedded stack a project gets when it declares none, as the installed providers
    declare it (the local provider's: nothing to run or configure)."""
    origin = SourceRange("(built-in)", Position(1, 1), Position(1, 1))
    components = {
        kind: Component(kind, type_, settings, origin, checked=not is_core(kind, type_))
        for kind, (type_, settings) in catalog.default_stack().items()
    }
    return Stack(DEFAULT_STACK, components, None)


@dataclass
class _Attr:
    value: Any
    range: SourceRange
    node: Node | None = None  # as written; None for a bare word (`type = number`)


class _FileParser:
    """One file's text, for parsing and for pointing at the exact text of a reference."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.filename = str(path)
        self.lines = text.splitlines()
        self.text = text
        self.marks: Marks = {}

    def lowering(self) -> Lowering:
        return Lowering(self.filename, marks=self.marks)

    def range_of(self, node: Any) -> SourceRange:
        return node_range(self.filename, node)

    def text_of(self, where: SourceRange | None) -> str:
        """The source text of a range, as written (one line: whitespace runs collapsed)."""
        if where is None:
            return ""
        lines = self.lines[where.start.line - 1 : where.end.line]
        if not lines:
            return ""
        if len(lines) == 1:
            text = lines[0][where.start.column - 1 : where.end.column - 1]
        else:
            lines[-1] = lines[-1][: where.end.column - 1]
            lines[0] = lines[0][where.start.column - 1 :]
            text = "\n".join(lines)
        return " ".join(text.split())

    def locator(self, within: SourceRange) -> Any:
        def locate(needle: str) -> SourceRange:
            return find_in(self.lines, within, re.compile(re.escape(needle)))

        return locate


class ConfigParser:
    """Builds a `Config` from file contents, collecting diagnostics instead of stopping."""

    def __init__(self, root: Path, catalog: ComponentCatalog) -> None:
        self.root = root
        self.catalog = catalog
        self.diagnostics: list[Diagnostic] = []
        # (kind, name, context) of blocks declared with errors: references to them are not
        # reported again as undeclared
        self._invalid: set[tuple[str, str, str]] = set()
        # the attributes of each block (by where it starts) whose value had an error
        self._failed: dict[tuple[str, int, int], set[str]] = {}
        # locals with an error of their own: their readers do not report them again
        self._broken_locals: set[str] = set()

    def error(
        self, summary: str, detail: str, where: SourceRange | None, context: str = ""
    ) -> None:
        self.diagnostics.append(Diagnostic("error", summary, detail, where, context))

    def _expression_error(self, exc: ExpressionError, where: SourceRange | None) -> None:
        """An expression's error at its own place, else `where`; none when it only repeats
        one already reported (a broken local, at each reader)."""
        if not isinstance(exc, AlreadyReported):
            self.error(exc.summary, exc.detail, exc.range or where)

    def parse(self, contents: Iterable[tuple[Path, str]]) -> Config:
        from hcl2.api import query

        variables: dict[str, Variable] = {}
        stacks: dict[str, Stack] = {}
        required: dict[str, ProviderRequirement] = {}
        pipeline_blocks: list[tuple[_FileParser, Any]] = []
        moved: list[Moved] = []
        files: list[str] = []
        documents: list[tuple[_FileParser, Any]] = []
        for path, text in contents:
            files.append(path.name)
            source = _FileParser(path, text)
            cleaned, source.marks = hide_strip_markers(text)
            try:
                documents.append((source, query(cleaned)))  # type: ignore[no-untyped-call]
            except Exception as exc:  # lark raises many types; all carry line/column
                self.diagnostics.append(syntax_diagnostic(source.filename, exc, text))
        self.values = Values(str(self.root), self._locals(documents), self._broken_locals)
        for source, document in documents:
            for attribute in document.attributes():
                self.error(
                    "Unsupported argument",
                    f'An argument named "{attribute.name}" is not expected at the top level; '
                    "declare values with a variable block, or a local in a locals block.",
                    source.range_of(attribute.raw),
                )
            for block in document.blocks():
                kind = block.block_type
                if kind == "variable":
                    self._add_unique(variables, self._variable(source, block), "variable")
                elif kind == "stack":
                    stack = self._stack(source, block)
                    if stack is None and len(block.name_labels) == 1:
                        self._invalid.add(("stack", str(block.name_labels[0]), ""))
                    self._add_unique(stacks, stack, "stack")
                elif kind == "pipeline":
                    pipeline_blocks.append((source, block))
                elif kind == "zenctl":
                    self._settings_block(source, block, required)
                elif kind == "moved":
                    moved.extend(self._moved(source, block))
                elif kind != "locals":
                    self._unsupported_block(
                        source,
                        block,
                        ("variable", "locals", "stack", "pipeline", "zenctl", "moved"),
                    )
        self._check_locals(variables)
        self._check_validations(variables)
        if not stacks:
            stacks[DEFAULT_STACK] = default_stack(self.catalog)
        pipelines: dict[str, Pipeline] = {}
        for source, block in pipeline_blocks:
            pipeline = self._pipeline(source, block, stacks, variables)
            if pipeline is not None:
                self._add_unique(pipelines, pipeline, "pipeline")
        self._check_moved(moved, pipelines)
        from zenctl.graph import build_graph

        self.diagnostics.extend(self.catalog.check_required(required.values()))
        for pipeline in pipelines.values():
            try:
                build_graph(pipeline)  # a cycle is reported with the other errors
            except DiagnosticsError as exc:
                self.diagnostics += exc.diagnostics
        if self.diagnostics:
            raise DiagnosticsError(list(dict.fromkeys(self.diagnostics)))
        return Config(
            str(self.root), variables, stacks, pipelines, tuple(files), required, tuple(moved)
        )

    # -- blocks -----------------------------------------------------------------------------

    def _variable(self, source: _FileParser, block: Any) -> Variable | None:
        name = self._single_label(source, block)
        attrs = self._attributes(source, block, bare={"type"})
        validations = self._validations(source, block)
        if name is None:
            return None
        raw_type = attrs.get("type")
        type_text = "any"
        if raw_type is not None:
            normalized = normalize_type(str(raw_type.value))
            if normalized is None:
                self.error(
                    "Invalid type specification",
                    f"`{raw_type.value}` is not a type. Use string, number, bool, any, "
                    "list(TYPE), set(TYPE), map(TYPE) or object({NAME = TYPE, ...}).",
                    raw_type.range,
                )
                return None
            type_text = normalized
            attrs["type"] = _Attr(normalized, raw_type.range)
        body = self._validate(VariableBody, attrs, source.range_of(block.raw), f'variable "{name}"')
        if body is None:
            return None
        node = attrs["default"].node if "default" in attrs else None
        if node is not None and not is_constant(body.default):
            try:  # refused with the reason: what it reads
                self.values.value(node, references=False)
            except ExpressionError as exc:
                self._expression_error(exc, attrs["default"].range)
            return None
        default = body.default
        if "default" in attrs:
            try:
                default = convert_value(body.default, type_text)
            except TypeMismatch as exc:
                self.error(
                    "Invalid default value for variable",
                    f'The default of variable "{name}" does not match its type {type_text}: {exc}.',
                    attrs["default"].range,
                )
                return None
        return Variable(
            name,
            type_text,
            default,
            "default" in attrs,
            body.description,
            body.sensitive,
            source.range_of(block.raw),
            validations,
        )

    def _settings_block(
        self, source: _FileParser, block: Any, required: dict[str, ProviderRequirement]
    ) -> None:
        """`zenctl { required_providers { local = ">= 0.1" } }`."""
        for attribute in block.attributes():
            self.error(
                "Unsupported argument",
                f'The zenctl block holds a required_providers block only; "{attribute.name}" '
                "is not expected here.",
                source.range_of(attribute.raw),
            )
        for child in block.blocks():
            if child.block_type != "required_providers" or child.name_labels:
                self._unsupported_block(source, child, ("required_providers",))
                continue
            self._no_nested_blocks(source, child)
            for name, attr in self._attributes(source, child).items():
                if not isinstance(attr.value, str):
                    self.error(
                        "Invalid version constraint",
                        f'Write the constraint of "{name}" as a string, e.g. {name} = ">= 0.1".',
                        attr.range,
                    )
                    continue
                self._add_unique(
                    required, ProviderRequirement(name, attr.value, attr.range), "provider"
                )

    def _moved(self, source: _FileParser, block: Any) -> list[Moved]:
        """`moved { from = pipeline.P.step.OLD  to = pipeline.P.step.NEW }`, both well-formed."""
        import re

        where = source.range_of(block.raw)
        if block.name_labels:
            self.error(
                "Unexpected labels",
                "A moved block takes no name: moved { from = ..., to = ... }.",
                where,
            )
        self._no_nested_blocks(source, block)
        attrs = self._attributes(source, block)
        addresses: dict[str, str] = {}
        for name in sorted(set(attrs) - {"from", "to"}):
            self.error(
                "Unsupported argument",
                f'An argument named "{name}" is not expected in a moved block; it takes from '
                "and to.",
                attrs[name].range,
            )
        for name in ("from", "to"):
            attr = attrs.get(name)
            if attr is None:
                self.error(
                    "Missing required argument",
                    f'A moved block needs "{name}": moved {{ from = pipeline.P.step.OLD  '
                    "to = pipeline.P.step.NEW }.",
                    where,
                )
                continue
            value = attr.value
            if not (
                isinstance(value, Ref)
                and len(value.parts) == 4
                and value.parts[0] == "pipeline"
                and value.parts[2] == "step"
                and all(re.fullmatch(IDENTIFIER, part) for part in value.parts)
            ):
                self.error(
                    "Invalid step address",
                    f'The "{name}" of a moved block must be a step address, written without '
                    "quotes: pipeline.NAME.step.NAME.",
                    attr.range,
                )
                continue
            addresses[name] = str(value)
        if len(addresses) < 2:
            return []
        return [Moved(addresses["from"], addresses["to"], where)]

    def _check_moved(self, moved: list[Moved], pipelines: dict[str, Pipeline]) -> None:
        """As Terraform checks them: `from` is no longer declared, each address is moved away
        once, and the chain from each ends at a declared step."""
        declared = {
            pipeline.address(step) for pipeline in pipelines.values() for step in pipeline.steps
        }
        first: dict[str, Moved] = {}
        for move in moved:
            if move.from_ in first:
                self.error(
                    "Ambiguous move",
                    f"{move.from_} is already moved at {_at(first[move.from_].range)}; a step "
                    "can move to one address only.",
                    move.range,
                )
            elif move.from_ in declared:
                self.error(
                    "Moved object still exists",
                    f"{move.from_} is moved to {move.to}, but it is still declared. Remove the "
                    "moved block, or rename the step block to the new name.",
                    move.range,
                )
            else:
                first[move.from_] = move
        for move in first.values():
            target, seen = move.to, [move.from_]
            while target in first and target not in seen:
                seen.append(target)
                target = first[target].to
            if target in seen:
                loop = seen[seen.index(target) :]
                if move.from_ == min(loop):  # one error per loop, at one of its blocks
                    self.error(
                        "Cyclic moves",
                        f"These moved blocks form a loop: {' -> '.join([*loop, loop[0]])}. "
                        "Each chain of moves must end at a declared step.",
                        move.range,
                    )
            elif target not in declared:
                self.error(
                    "Moved to an undeclared step",
                    f"{move.from_} is moved to {target}, which is not declared. Declare the "
                    "step there, or fix the address." + _suggest(target, declared),
                    move.range,
                )

    def _component_settings(
        self, kind: str, type_: str, attrs: dict[str, _Attr], where: SourceRange, context: str
    ) -> tuple[bool, dict[str, Any] | None]:
        """Check settings against the provider's schema: (offered by a provider at all, the
        settings validated with defaults filled in when that could be done now).

        Values that reference variables are checked once their value is known (at apply).
        """
        if is_core(kind, type_):
            return True, None
        try:
            schema = self.catalog.schema(kind, type_)
        except UserError as exc:
            self.error(exc.diagnostic.summary, exc.diagnostic.detail, where, context)
            return False, None
        later = {key for key, attr in attrs.items() if not is_constant(attr.value)}
        body = self._validate(schema, attrs, where, context, skip=later)
        return True, body.model_dump() if body is not None and not later else None

    def _validations(self, source: _FileParser, block: Any) -> tuple[Validation, ...]:
        found: list[Validation] = []
        for child in block.blocks():
            if child.block_type != "validation":
                self._unsupported_block(source, child, ("validation",))
                continue
            where = source.range_of(child.raw)
            attrs = self._attributes(source, child)
            self._no_nested_blocks(source, child)
            unknown = sorted(set(attrs) - {"condition", "error_message"})
            for key in unknown:
                self.error(
                    "Unsupported argument",
                    f'A validation block takes condition and error_message, not "{key}".',
                    attrs[key].range,
                )
            condition, message = attrs.get("condition"), attrs.get("error_message")
            if self._failed[_block_key(where)] & {"condition", "error_message"}:
                continue  # an error of its own is reported
            if condition is None or message is None:
                self.error(
                    "Missing required argument",
                    "A validation block needs both condition and error_message.",
                    where,
                )
                continue
            if not isinstance(message.value, str) or not message.value:
                self.error(
                    "Invalid error_message",
                    "error_message must be a non-empty literal string.",
                    message.range,
                )
                continue
            assert condition.node is not None
            try:
                reads = self.values.reads(condition.node)
            except ExpressionError as exc:
                self._expression_error(exc, condition.range)
                continue
            found.append(
                Validation(
                    condition.node,
                    message.value,
                    condition.range,
                    tuple(sorted(reads.locals.items())),
                )
            )
        return tuple(found)

    def _check_validations(self, variables: dict[str, Variable]) -> None:
        for variable in variables.values():
            for validation in variable.validations:
                for where, path in traversals(validation.condition):
                    if path[0] == "var" and len(path) > 1 and path[1] not in variables:
                        self.error(
                            "Reference to undeclared input variable",
                            f"The condition reads var.{path[1]}, which is not declared."
                            + _suggest(path[1], variables),
                            where.range or validation.range,
                        )

    def _locals(self, documents: list[tuple[_FileParser, Any]]) -> dict[str, LocalValue]:
        """Every `locals { NAME = EXPR }` of the project: they are read from any file."""
        found: dict[str, LocalValue] = {}
        for source, document in documents:
            for block in document.blocks():
                if block.block_type != "locals":
                    continue
                if block.name_labels:
                    self.error(
                        "Unexpected labels",
                        "A locals block takes no name: locals { NAME = EXPRESSION }.",
                        source.range_of(block.raw),
                    )
                self._no_nested_blocks(source, block)
                attrs = self._attributes(source, block, evaluate=False)
                failed = self._failed[_block_key(source.range_of(block.raw))]
                self._broken_locals |= failed
                for name, attr in attrs.items():
                    if name in found:
                        self.error(
                            "Duplicate local value",
                            f'A local value named "{name}" was already defined at '
                            f"{_at(found[name].range)}. Local value names must be unique "
                            "within the project.",
                            attr.range,
                        )
                    elif attr.node is not None:
                        found[name] = LocalValue(name, attr.node, attr.range)
        return found

    def _check_locals(self, variables: dict[str, Variable]) -> None:
        """Each local evaluates (when it is a constant) and reads declared variables, whether
        or not a step uses it yet."""
        for local in self.values.locals.values():
            try:
                value = self.values.value(local.node)
            except ExpressionError as exc:
                self._expression_error(exc, local.range)
                continue
            for ref in references(value):
                self._check_var(ref, variables, "", local.range)

    def _stack(self, source: _FileParser, block: Any) -> Stack | None:
        name = self._single_label(source, block)
        for attribute in block.attributes():
            self.error(
                "Unsupported argument",
                f'A stack holds component blocks only; "{attribute.name}" is not expected here.',
                source.range_of(attribute.raw),
            )
        components: dict[str, Component] = {}
        kinds = sorted(set(COMPONENT_KINDS) | self.catalog.kinds())
        for child in block.blocks():
            kind = child.block_type
            if kind not in kinds:
                self._unsupported_block(source, child, kinds)
                continue
            if len(child.name_labels) != 1:
                self.error(
                    "Missing component type",
                    f'Label the component with its provider type, e.g. {kind} "local" {{ }}.',
                    source.range_of(child.raw),
                )
                continue
            where = source.range_of(child.raw)
            if kind in components:
                self.error(
                    f"Duplicate {kind}",
                    f"A stack has at most one {kind}; the first is at "
                    f"{_at(components[kind].range)}.",
                    where,
                )
                continue
            attrs = self._attributes(source, child)
            self._no_nested_blocks(source, child)
            context = f'in stack "{name}"' if name else ""
            _, filled = self._component_settings(kind, child.name_labels[0], attrs, where, context)
            settings = {key: attr.value for key, attr in attrs.items()}
            components[kind] = Component(
                kind, child.name_labels[0], filled or settings, where, filled is not None
            )
        if name is None:
            return None
        where = source.range_of(block.raw)
        missing = [kind for kind in REQUIRED_COMPONENTS if kind not in components]
        if missing:
            self.error(
                "Incomplete stack",
                f'Stack "{name}" needs {" and ".join(missing)} block(s); the embedded default '
                'is orchestrator "local", artifact_store "local", metadata_store "sqlite".',
                where,
            )
            return None
        return Stack(name, components, where)

    def _pipeline(
        self,
        source: _FileParser,
        block: Any,
        stacks: dict[str, Stack],
        variables: dict[str, Variable],
    ) -> Pipeline | None:
        name = self._single_label(source, block)
        if name is None:
            return None
        context = f'in pipeline "{name}"'
        where = source.range_of(block.raw)
        attrs = self._attributes(source, block)
        body = self._validate(PipelineBody, attrs, where, context)
        stack_var = None
        if body and body.stack and body.stack.kind == "var" and len(body.stack.parts) == 2:
            stack_var = body.stack.parts[1]  # chosen per run: checked once variables are known
            self._check_var(body.stack, variables, context, where)
            stack = None
        else:
            stack = self._choose_stack(body.stack if body else None, stacks, where, context)
        sources: dict[str, Source] = {}
        step_blocks: list[tuple[str, Any]] = []
        deployment_blocks: list[tuple[str, Any]] = []
        for child in block.blocks():
            kind = child.block_type
            if kind == "source":
                label = self._single_label(source, child)
                child_attrs = self._attributes(source, child)
                self._no_nested_blocks(source, child)
                parsed = self._validate(
                    SourceBody, child_attrs, source.range_of(child.raw), context
                )
                if label and parsed:
                    self._add_unique(
                        sources, Source(label, parsed.path, source.range_of(child.raw)), "source"
                    )
                elif label:
                    self._invalid.add(("source", label, context))
            elif kind in ("step", "deployment"):
                label = self._single_label(source, child)
                if label:
                    (step_blocks if kind == "step" else deployment_blocks).append((label, child))
            else:
                self._unsupported_block(source, child, ("source", "step", "deployment"))
        steps: dict[str, Step] = {}
        for label, child in step_blocks:
            step = self._step(source, child, label, context)
            if step is not None:
                self._add_unique(steps, step, "step")
            else:
                self._invalid.add(("step", label, context))
        deployments: dict[str, Deployment] = {}
        for label, child in deployment_blocks:
            deployment = self._deployment(source, child, label, stack, steps, context)
            if deployment is not None:
                self._add_unique(deployments, deployment, "deployment")
        pipeline = Pipeline(
            name,
            stack.name if stack else DEFAULT_STACK,
            sources,
            steps,
            where,
            deployments,
            stack_var,
        )
        for step in steps.values():
            self._check_step_references(pipeline, step, variables, context)
            if step.on and stack and step.on not in stack.components:
                self.error(
                    "Component not in stack",
                    f'Step "{step.name}" runs on "{step.on}", but stack "{stack.name}" declares '
                    f'no {step.on} component. Add a {step.on} block to the stack or remove "on".',
                    step.range,
                    context,
                )
        settings = [deployment.settings for deployment in deployments.values()]
        if stack:
            settings += [component.settings for component in stack.components.values()]
        for ref in references(settings):
            self._check_var(ref, variables, context)
        return pipeline

    def _step(self, source: _FileParser, block: Any, name: str, context: str) -> Step | None:
        attrs = self._attributes(source, block)
        self._no_nested_blocks(source, block)
        where = source.range_of(block.raw)
        params = attrs.get("params")
        if params is not None and not isinstance(params.value, dict | Expression | Ref):
            self.error(
                "Incorrect attribute value type",
                'Inappropriate value for "params": a map is required, { lr = 0.1, ... }, or '
                "an expression that gives one (local.settings, var.params).",
                params.range,
                context,
            )
            return None
        body = self._validate(StepBody, attrs, where, context)
        if body is None or self._failed[_block_key(where)]:
            return None
        clash = sorted(set(body.inputs) & set(body.params if isinstance(body.params, dict) else ()))
        if clash:
            self.error(
                "Input and param share a name",
                f'Step "{name}" passes {", ".join(clash)} both as an input and as a param; '
                "the function receives both as keyword arguments, so rename one.",
                attrs["params"].range,
                context,
            )
        if not body.outputs:
            self.error(
                "No outputs",
                f'Step "{name}" declares no output, but a step produces at least one. Leave '
                f'outputs out for the single output "{DEFAULT_OUTPUT}", or name them.',
                attrs["outputs"].range,
                context,
            )
            return None
        if len(set(body.outputs)) != len(body.outputs):
            self.error(
                "Duplicate output",
                "Each output name may appear once.",
                attrs["outputs"].range,
                context,
            )
        return Step(name, body.run, body.inputs, body.params, tuple(body.outputs), body.on, where)

    def _deployment(
        self,
        source: _FileParser,
        block: Any,
        name: str,
        stack: Stack | None,
        steps: dict[str, Step],
        context: str,
    ) -> Deployment | None:
        attrs = self._attributes(source, block)
        self._no_nested_blocks(source, block)
        where = source.range_of(block.raw)
        own: dict[str, _Attr] = {k: attrs.pop(k) for k in ("model", "serving") if k in attrs}
        body = self._validate(DeploymentBody, own, where, context)
        if body is None:
            return None
        model = body.model
        if model.kind != "step" or len(model.parts) != 4 or model.parts[2] != "outputs":
            self.error("Invalid model reference", _HINTS["model"], model.range or where, context)
            return None
        upstream = steps.get(model.parts[1])
        if upstream is None:
            self._undeclared("step", model.parts[1], steps, model.range or where, context)
            return None
        if model.parts[3] not in upstream.outputs:
            self.error(
                "Reference to undeclared output",
                f'Step "{upstream.name}" has no output "{model.parts[3]}"; its outputs are '
                f"{', '.join(upstream.outputs)}." + _suggest(model.parts[3], upstream.outputs),
                model.range or where,
                context,
            )
            return None
        settings = {key: attr.value for key, attr in attrs.items()}
        if stack is None:  # chosen by a variable: checked against it once its value is known
            if (
                body.serving
                and not self._component_settings("serving", body.serving, attrs, where, context)[0]
            ):
                return None
            return Deployment(name, model, body.serving, settings, where)
        try:
            serving, inherited = deployment_serving(stack, body.serving, name)
        except UserError as exc:
            self.error(exc.diagnostic.summary, exc.diagnostic.detail, where, context)
            return None
        merged = {key: _Attr(value, where) for key, value in inherited.items()} | attrs
        if not self._component_settings("serving", serving, merged, where, context)[0]:
            return None
        return Deployment(name, model, body.serving, settings, where)

    # -- references ---------------------------------------------------------------------------

    def _choose_stack(
        self, ref: Ref | None, stacks: dict[str, Stack], where: SourceRange, context: str
    ) -> Stack | None:
        if ref is None:
            if len(stacks) == 1:
                return next(iter(stacks.values()))
            self.error(
                "Missing stack",
                f"The project declares {len(stacks)} stacks ({', '.join(sorted(stacks))}); "
                "say which one this pipeline runs on: stack = stack.NAME.",
                where,
                context,
            )
            return None
        if ref.kind != "stack" or len(ref.parts) != 2:
            self.error("Invalid stack reference", _HINTS["stack"], ref.range or where, context)
            return None
        stack = stacks.get(ref.parts[1])
        if stack is None:
            self._undeclared("stack", ref.parts[1], stacks, ref.range or where, context)
        return stack

    def _check_step_references(
        self, pipeline: Pipeline, step: Step, variables: dict[str, Variable], context: str
    ) -> None:
        for ref in step.inputs.values():
            where = ref.range or step.range
            if ref.kind == "source" and len(ref.parts) == 2:
                if ref.parts[1] not in pipeline.sources:
                    self._undeclared("source", ref.parts[1], pipeline.sources, where, context)
            elif ref.kind == "step" and len(ref.parts) == 4 and ref.parts[2] == "outputs":
                upstream = pipeline.steps.get(ref.parts[1])
                if upstream is None:
                    self._undeclared("step", ref.parts[1], pipeline.steps, where, context)
                elif ref.parts[3] not in upstream.outputs:
                    self.error(
                        "Reference to undeclared output",
                        f'Step "{upstream.name}" has no output "{ref.parts[3]}"; its outputs are '
                        f"{', '.join(upstream.outputs)}."
                        + _suggest(ref.parts[3], upstream.outputs),
                        where,
                        context,
                    )
            else:
                self.error("Invalid input reference", _HINTS["inputs"], where, context)
        for ref in references(step.params):
            self._check_var(ref, variables, context, step.range)

    def _check_var(
        self,
        ref: Ref,
        variables: dict[str, Variable],
        context: str,
        fallback: SourceRange | None = None,
    ) -> None:
        where = ref.range or fallback
        if ref.kind != "var" or len(ref.parts) != 2:
            self.error(
                "Invalid reference",
                f"`{ref}` cannot be used here: params and settings may reference var.NAME only.",
                where,
                context,
            )
        elif ref.parts[1] not in variables:
            self.error(
                "Reference to undeclared input variable",
                f'An input variable with the name "{ref.parts[1]}" has not been declared. '
                f'Declare it with a variable "{ref.parts[1]}" block.'
                + _suggest(ref.parts[1], variables),
                where,
                context,
            )

    def _undeclared(
        self, kind: str, name: str, known: Iterable[str], where: SourceRange, context: str
    ) -> None:
        if {(kind, name, context), (kind, name, "")} & self._invalid:
            return  # declared, with an error of its own already reported
        self.error(
            f"Reference to undeclared {kind}",
            f'No {kind} named "{name}" is declared {context or "here"}.' + _suggest(name, known),
            where,
            context,
        )

    # -- helpers --------------------------------------------------------------------------------

    def _attributes(
        self,
        source: _FileParser,
        block: Any,
        bare: set[str] | None = None,
        evaluate: bool = True,
    ) -> dict[str, _Attr]:
        """A block's arguments, each lowered and (unless `evaluate` is False: the locals,
        before the values they give are known) turned into its config value."""
        attrs: dict[str, _Attr] = {}
        failed = self._failed.setdefault(_block_key(source.range_of(block.raw)), set())
        for attribute in block.attributes():
            where = source.range_of(attribute.raw)
            if attribute.name in attrs:
                self.error(
                    "Attribute redefined",
                    f'The argument "{attribute.name}" was already set at '
                    f"{_at(attrs[attribute.name].range)}.",
                    where,
                )
                continue
            raw = attribute.value
            if bare and attribute.name in bare and (word := bare_word(raw)) is not None:
                attrs[attribute.name] = _Attr(word, where)
                continue
            failed.add(attribute.name)  # until its value is known to be good
            problems = value_problems(source.filename, attribute.raw)
            if problems:
                self.diagnostics += problems
                continue
            try:
                node = source.lowering().lower(attribute.value_node.raw)
                value = self.values.value(node, source.text_of) if evaluate else None
            except ExpressionError as exc:
                self._expression_error(exc, where)
                continue
            if _has_nul(value):  # no path, name or setting may carry one (C truncates there)
                self.error(
                    "Invalid character",
                    f'The value of "{attribute.name}" contains a NUL character (\\u0000); '
                    "remove it.",
                    where,
                )
                continue
            failed.discard(attribute.name)
            attrs[attribute.name] = _Attr(value, where, node)
        return attrs

    def _validate(
        self,
        model: type[M],
        attrs: dict[str, _Attr],
        where: SourceRange,
        context: str,
        skip: set[str] | None = None,
    ) -> M | None:
        """The validated body; with `skip`, those attributes' errors are not reported."""
        try:
            return model.model_validate({key: attr.value for key, attr in attrs.items()})
        except ValidationError as exc:
            fields = list(model.model_fields)
            for error in exc.errors():
                name = str(error["loc"][0]) if error["loc"] else ""
                if skip and name in skip:
                    continue
                at = attrs[name].range if name in attrs else where
                if error["type"] == "extra_forbidden":
                    self.error(
                        "Unsupported argument",
                        f'An argument named "{name}" is not expected here.'
                        + _suggest(name, fields),
                        at,
                        context,
                    )
                elif error["type"] == "missing":
                    if name in self._failed.get(_block_key(where), ()):
                        continue  # present, with an error of its own
                    self.error(
                        "Missing required argument",
                        f'The argument "{name}" is required, but no definition was found.'
                        + (f" {_HINTS[name]}" if name in _HINTS else ""),
                        at,
                        context,
                    )
                elif error["type"] == "string_pattern_mismatch" and name != "run":
                    self.error(
                        "Invalid name",
                        f'"{error["input"]}" is not a valid name ({_loc(error["loc"])}): '
                        f"{_NAME_RULE}." + (f" {_HINTS[name]}" if name in _HINTS else ""),
                        at,
                        context,
                    )
                elif error["type"] == "is_instance_of":  # a Ref or an Expression expected
                    given = error["input"]
                    written = f'the string "{given}"' if isinstance(given, str) else "a value"
                    self.error(
                        "Invalid reference",
                        f'"{_loc(error["loc"])}" takes a reference, written without quotes, '
                        f"not {written}." + (f" {_HINTS[name]}" if name in _HINTS else ""),
                        at,
                        context,
                    )
                else:
                    path = _loc(error["loc"])
                    # a validator's ValueError: its own words, without pydantic's prefix
                    said = error["ctx"]["error"] if error["type"] == "value_error" else error["msg"]
                    self.error(
                        "Incorrect attribute value type",
                        f'Inappropriate value for "{path}": {said}.'
                        + (f" {_HINTS[name]}" if name in _HINTS else ""),
                        at,
                        context,
                    )
            return None

    def _single_label(self, source: _FileParser, block: Any) -> str | None:
        labels = block.name_labels
        where = source.range_of(block.raw)
        if len(labels) != 1:
            self.error(
                "Wrong number of labels",
                f"A {block.block_type} block takes exactly one name: "
                f'{block.block_type} "NAME" {{ }}.',
                where,
            )
            return None
        # names become file names and addresses: `..`, `/`, NUL or a newline must not pass
        if not re.fullmatch(IDENTIFIER, labels[0]):
            self.error(
                "Invalid name",
                f'"{labels[0]}" is not a valid {block.block_type} name: {_NAME_RULE}.',
                source.locator(where)(f'"{labels[0]}"'),
            )
            return None
        return str(labels[0])

    def _no_nested_blocks(self, source: _FileParser, block: Any) -> None:
        for child in block.blocks():
            self._unsupported_block(source, child, ())

    def _unsupported_block(self, source: _FileParser, block: Any, allowed: Iterable[str]) -> None:
        allowed = list(allowed)
        expected = f" Expected {', '.join(allowed)}." if allowed else ""
        self.error(
            "Unsupported block type",
            f'Blocks of type "{block.block_type}" are not expected here.{expected}'
            + _suggest(block.block_type, allowed),
            source.range_of(block.raw),
        )

    def _add_unique(self, into: dict[str, Any], item: Any, kind: str) -> None:
        if item is None:
            return
        if item.name in into:
            first = into[item.name].range
            self.error(
                f"Duplicate {kind}",
                f'A {kind} named "{item.name}" was already declared at {_at(first)}. '
                f"{kind.capitalize()} names must be unique.",
                item.range,
            )
            return
        into[item.name] = item


def _block_key(where: SourceRange) -> tuple[str, int, int]:
    return where.filename, where.start.line, where.start.column


def _loc(loc: Iterable[Any]) -> str:
    return ".".join(str(part) for part in loc)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\0" in value
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    return False


def _at(where: SourceRange | None) -> str:
    return f"{where.filename}:{where.start.line}" if where else "(built-in)"
