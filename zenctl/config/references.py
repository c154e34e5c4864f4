"""References between declarations, resolved and checked: a pipeline's stack, a step's inputs
and a deployment's model (a step output), `var.NAME` in values, locals and validation
conditions, and the chains of `moved` blocks.

A reference to something declared with an error of its own is not reported again.
"""

from __future__ import annotations

from collections.abc import Iterable

from zenctl.config.decoding import Decoder, declared_at
from zenctl.config.model import Moved, Pipeline, Ref, Stack, Step, Variable, references
from zenctl.config.schemas import HINTS
from zenctl.config.tree import ExpressionError, traversals
from zenctl.diagnostics import SourceRange, suggest


def undeclared(
    decoder: Decoder, kind: str, name: str, known: Iterable[str], where: SourceRange, context: str
) -> None:
    if {(kind, name, context), (kind, name, "")} & decoder.invalid:
        return  # declared, with an error of its own already reported
    decoder.error(
        f"Reference to undeclared {kind}",
        f'No {kind} named "{name}" is declared {context or "here"}.' + suggest(name, known),
        where,
        context,
    )


def choose_stack(
    decoder: Decoder, ref: Ref | None, stacks: dict[str, Stack], where: SourceRange, context: str
) -> Stack | None:
    """The stack a pipeline runs on: the one its `stack` names, or the project's only one."""
    if ref is None:
        if len(stacks) == 1:
            return next(iter(stacks.values()))
        decoder.error(
            "Missing stack",
            f"The project declares {len(stacks)} stacks ({', '.join(sorted(stacks))}); "
            "say which one this pipeline runs on: stack = stack.NAME.",
            where,
            context,
        )
        return None
    if ref.kind != "stack" or len(ref.parts) != 2:
        decoder.error("Invalid stack reference", HINTS["stack"], ref.range or where, context)
        return None
    stack = stacks.get(ref.parts[1])
    if stack is None:
        undeclared(decoder, "stack", ref.parts[1], stacks, ref.range or where, context)
    return stack


def is_step_output(ref: Ref) -> bool:
    """Whether `ref` is written as a step output: step.NAME.outputs.OUTPUT."""
    return ref.kind == "step" and len(ref.parts) == 4 and ref.parts[2] == "outputs"


def resolve_output(
    decoder: Decoder, ref: Ref, steps: dict[str, Step], where: SourceRange, context: str
) -> bool:
    """Whether the step output `ref` (see `is_step_output`) is declared; reported if not."""
    upstream = steps.get(ref.parts[1])
    if upstream is None:
        undeclared(decoder, "step", ref.parts[1], steps, where, context)
        return False
    if ref.parts[3] not in upstream.outputs:
        decoder.error(
            "Reference to undeclared output",
            f'Step "{upstream.name}" has no output "{ref.parts[3]}"; its outputs are '
            f"{', '.join(upstream.outputs)}." + suggest(ref.parts[3], upstream.outputs),
            where,
            context,
        )
        return False
    return True


def check_step_references(
    decoder: Decoder,
    pipeline: Pipeline,
    step: Step,
    variables: dict[str, Variable],
    context: str,
) -> None:
    """A step's inputs name declared sources and step outputs; its params and resources
    declared variables."""
    for ref in step.inputs.values():
        where = ref.range or step.range
        if ref.kind == "source" and len(ref.parts) == 2:
            if ref.parts[1] not in pipeline.sources:
                undeclared(decoder, "source", ref.parts[1], pipeline.sources, where, context)
        elif is_step_output(ref):
            resolve_output(decoder, ref, pipeline.steps, where, context)
        else:
            decoder.error("Invalid input reference", HINTS["inputs"], where, context)
    for ref in references([step.params, step.resources]):
        check_var(decoder, ref, variables, context, step.range)


def check_var(
    decoder: Decoder,
    ref: Ref,
    variables: dict[str, Variable],
    context: str,
    fallback: SourceRange | None = None,
) -> None:
    """`ref`, in params or settings, is `var.NAME` of a declared variable."""
    where = ref.range or fallback
    if ref.kind != "var" or len(ref.parts) != 2:
        decoder.error(
            "Invalid reference",
            f"`{ref}` cannot be used here: params and settings may reference var.NAME only.",
            where,
            context,
        )
    elif ref.parts[1] not in variables:
        decoder.error(
            "Reference to undeclared input variable",
            f'An input variable with the name "{ref.parts[1]}" has not been declared. '
            f'Declare it with a variable "{ref.parts[1]}" block.'
            + suggest(ref.parts[1], variables),
            where,
            context,
        )


def check_locals(decoder: Decoder, variables: dict[str, Variable]) -> None:
    """Each local evaluates (when it is a constant) and reads declared variables, whether
    or not a step uses it yet."""
    for local in decoder.values.locals.values():
        try:
            value = decoder.values.value(local.node)
        except ExpressionError as exc:
            decoder.expression_error(exc, local.range)
            continue
        for ref in references(value):
            check_var(decoder, ref, variables, "", local.range)


def check_validations(decoder: Decoder, variables: dict[str, Variable]) -> None:
    """The variables a validation condition reads are declared."""
    for variable in variables.values():
        for validation in variable.validations:
            for where, path in traversals(validation.condition):
                if path[0] == "var" and len(path) > 1 and path[1] not in variables:
                    decoder.error(
                        "Reference to undeclared input variable",
                        f"The condition reads var.{path[1]}, which is not declared."
                        + suggest(path[1], variables),
                        where.range or validation.range,
                    )


def check_moved(decoder: Decoder, moved: list[Moved], pipelines: dict[str, Pipeline]) -> None:
    """As Terraform checks them: `from` is no longer declared, each address is moved away
    once, and the chain from each ends at a declared step."""
    declared = {
        pipeline.address(step) for pipeline in pipelines.values() for step in pipeline.steps
    }
    first: dict[str, Moved] = {}
    for move in moved:
        if move.from_ in first:
            decoder.error(
                "Ambiguous move",
                f"{move.from_} is already moved at {declared_at(first[move.from_].range)}; a "
                "step can move to one address only.",
                move.range,
            )
        elif move.from_ in declared:
            decoder.error(
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
                decoder.error(
                    "Cyclic moves",
                    f"These moved blocks form a loop: {' -> '.join([*loop, loop[0]])}. "
                    "Each chain of moves must end at a declared step.",
                    move.range,
                )
        elif target not in declared:
            decoder.error(
                "Moved to an undeclared step",
                f"{move.from_} is moved to {target}, which is not declared. Declare the "
                "step there, or fix the address." + suggest(target, declared),
                move.range,
            )
