"""`pipeline` blocks decoded into models: the pipeline's stack, its `source`, `step` and
`deployment` blocks, and the references between them and to the project's variables.
"""

from __future__ import annotations

import posixpath
from pathlib import PurePosixPath
from typing import Any

from zenctl.config.components import DEFAULT_STACK, component_settings
from zenctl.config.decoding import Attr, Decoder, SourceFile
from zenctl.config.model import (
    DEFAULT_OUTPUT,
    Deployment,
    Expression,
    Pipeline,
    Ref,
    Source,
    Stack,
    Step,
    Variable,
    deployment_serving,
    references,
)
from zenctl.config.references import (
    check_step_references,
    check_var,
    choose_stack,
    is_step_output,
    resolve_output,
)
from zenctl.config.resources import decode_resources
from zenctl.config.schemas import HINTS, DeploymentBody, PipelineBody, SourceBody, StepBody
from zenctl.diagnostics import UserError, suggest


def pipeline(
    decoder: Decoder,
    source: SourceFile,
    block: Any,
    stacks: dict[str, Stack],
    variables: dict[str, Variable],
) -> Pipeline | None:
    """`pipeline "NAME" { stack = ..., source/step/deployment blocks }`, its references
    checked against the declared stacks and variables."""
    name = decoder.single_label(source, block)
    if name is None:
        return None
    context = pipeline_context(name)
    where = source.range_of(block.raw)
    attrs = decoder.attributes(source, block)
    body = decoder.validate(PipelineBody, attrs, where, context)
    stack_var = None
    if body and body.stack and body.stack.kind == "var" and len(body.stack.parts) == 2:
        stack_var = body.stack.parts[1]  # chosen per run: checked once variables are known
        check_var(decoder, body.stack, variables, context, where)
        stack = None
    else:
        stack = choose_stack(decoder, body.stack if body else None, stacks, where, context)
    sources: dict[str, Source] = {}
    step_blocks: list[tuple[str, Any]] = []
    deployment_blocks: list[tuple[str, Any]] = []
    for child in block.blocks():
        kind = child.block_type
        if kind == "source":
            label = decoder.single_label(source, child)
            child_attrs = decoder.attributes(source, child)
            decoder.no_nested_blocks(source, child)
            child_where = source.range_of(child.raw)
            parsed = decoder.validate(SourceBody, child_attrs, child_where, context)
            if label and parsed:
                decoder.add_unique(sources, Source(label, parsed.path, child_where), "source")
            elif label:
                decoder.invalid.add(("source", label, context))
        elif kind in ("step", "deployment"):
            label = decoder.single_label(source, child)
            if label:
                (step_blocks if kind == "step" else deployment_blocks).append((label, child))
        else:
            decoder.unsupported_block(source, child, ("source", "step", "deployment"))
    steps: dict[str, Step] = {}
    for label, child in step_blocks:
        step = decode_step(decoder, source, child, label, context)
        if step is not None:
            decoder.add_unique(steps, step, "step")
        else:
            decoder.invalid.add(("step", label, context))
    deployments: dict[str, Deployment] = {}
    for label, child in deployment_blocks:
        deployment = _deployment(decoder, source, child, label, stack, steps, context)
        decoder.add_unique(deployments, deployment, "deployment")
    declared = Pipeline(
        name,
        stack.name if stack else DEFAULT_STACK,
        sources,
        steps,
        where,
        deployments,
        stack_var,
    )
    check_steps(decoder, declared, stack, variables)
    settings = [deployment.settings for deployment in deployments.values()]
    if stack:
        settings += [component.settings for component in stack.components.values()]
    for ref in references(settings):
        check_var(decoder, ref, variables, context)
    return declared


def pipeline_context(name: str) -> str:
    """What a diagnostic about a pipeline's contents says it is in."""
    return f'in pipeline "{name}"'


def check_steps(
    decoder: Decoder, declared: Pipeline, stack: Stack | None, variables: dict[str, Variable]
) -> None:
    """What each step asks of the others and of the project: the sources, step outputs and
    variables it references, the stack component it runs on."""
    context = pipeline_context(declared.name)
    for step in declared.steps.values():
        check_step_references(decoder, declared, step, variables, context)
        if step.on and stack and step.on not in stack.components:
            decoder.error(
                "Component not in stack",
                f'Step "{step.name}" runs on "{step.on}", but stack "{stack.name}" declares '
                f'no {step.on} component. Add a {step.on} block to the stack or remove "on".',
                step.range,
                context,
            )


def check_deployments(decoder: Decoder, declared: Pipeline) -> None:
    """Each deployment's model is still an output of a declared step."""
    context = pipeline_context(declared.name)
    for deployment in declared.deployments.values():
        model = deployment.model
        resolve_output(decoder, model, declared.steps, model.range or deployment.range, context)


def decode_step(
    decoder: Decoder, source: SourceFile, block: Any, name: str, context: str
) -> Step | None:
    """One `step "NAME" { ... }` block, checked on its own (`check_steps` checks what it
    reads from the rest of the pipeline); None, reported, when it has an error."""
    attrs = decoder.attributes(source, block)
    where = source.range_of(block.raw)
    resources: dict[str, Any] | None = {}
    for child in block.blocks():
        if child.block_type != "resources":
            decoder.unsupported_block(source, child, ("resources",))
        elif resources == {}:
            resources = decode_resources(decoder, source, child, context)
        else:
            decoder.error(
                "Duplicate resources block",
                f'Step "{name}" may have one resources block: merge them.',
                source.range_of(child.raw),
                context,
            )
    params = attrs.get("params")
    if params is not None and not isinstance(params.value, dict | Expression | Ref):
        decoder.error(
            "Incorrect attribute value type",
            'Inappropriate value for "params": a map is required, { lr = 0.1, ... }, or '
            "an expression that gives one (local.settings, var.params).",
            params.range,
            context,
        )
        return None
    body = decoder.validate(StepBody, attrs, where, context)
    if body is None or resources is None or decoder.failed(where):
        return None
    clash = sorted(set(body.inputs) & set(body.params if isinstance(body.params, dict) else ()))
    if clash:
        decoder.error(
            "Input and param share a name",
            f'Step "{name}" passes {", ".join(clash)} both as an input and as a param; '
            "the function receives both as keyword arguments, so rename one.",
            attrs["params"].range,
            context,
        )
    if not body.outputs:
        decoder.error(
            "No outputs",
            f'Step "{name}" declares no output, but a step produces at least one. Leave '
            f'outputs out for the single output "{DEFAULT_OUTPUT}", or name them.',
            attrs["outputs"].range,
            context,
        )
        return None
    for setting, what, gives in (
        ("paths", "Path", "gives a path to"),
        ("materializers", "Materializer", "names a materializer for"),
    ):
        undeclared = sorted(set(getattr(body, setting)) - set(body.outputs))
        if undeclared:
            decoder.error(
                f"{what} for an undeclared output",
                f'Step "{name}" {gives} {", ".join(undeclared)}, which it does not output. '
                f"Its outputs are {', '.join(body.outputs)}: name one of them in {setting}.",
                attrs[setting].range,
                context,
            )
    _check_materializers(decoder, body, name, attrs, context)
    _check_paths(decoder, body, name, attrs, context)
    if len(set(body.outputs)) != len(body.outputs):
        decoder.error(
            "Duplicate output",
            "Each output name may appear once.",
            attrs["outputs"].range,
            context,
        )
    for metric in body.metrics:
        if metric not in body.outputs:
            decoder.error(
                "Metrics output not declared",
                f'Step "{name}" names "{metric}" in metrics, but declares no such output '
                f"(its outputs: {', '.join(body.outputs)}).{suggest(metric, body.outputs)} "
                "metrics names outputs whose values are recorded as metrics.",
                attrs["metrics"].range,
                context,
            )
    metrics = tuple(dict.fromkeys(body.metrics))
    return Step(
        name,
        body.run,
        body.inputs,
        body.params,
        tuple(body.outputs),
        body.on,
        where,
        tuple(body.deps),
        attrs["deps"].range if "deps" in attrs else None,
        dict(body.paths),
        metrics,
        resources,
        dict(body.materializers),
    )


MATERIALIZER_NAME_MAX = 32


def _check_materializers(
    decoder: Decoder, body: StepBody, name: str, attrs: dict[str, Attr], context: str
) -> None:
    """Each output's materializer is built in, installed, or a "module:Class" import path
    (imported when the step stores the output)."""
    known = decoder.catalog.materializers() if body.materializers else []
    for output, chosen in body.materializers.items():
        if len(chosen) > MATERIALIZER_NAME_MAX:  # recorded with each artifact: state's column
            decoder.error(
                "Materializer name too long",
                f'Step "{name}" names materializer "{chosen}" for output "{output}": over '
                f"{MATERIALIZER_NAME_MAX} characters, the most an artifact records. Register it "
                "under a shorter entry-point name (docs/artifacts.md#materializers).",
                attrs["materializers"].range,
                context,
            )
        elif ":" not in chosen and chosen not in known:
            decoder.error(
                "Unknown materializer",
                f'Step "{name}" stores output "{output}" with materializer "{chosen}", which '
                f"is neither built in nor installed.{suggest(chosen, known)} Name one of "
                f'{", ".join(known)}, a "module:Class" import path, or install the package '
                "that registers it (docs/artifacts.md#materializers).",
                attrs["materializers"].range,
                context,
            )


# zenctl's own folder and git's: `checkout` writing there would clobber state or history
_RESERVED = (".zenctl", ".git")


def _check_paths(
    decoder: Decoder, body: StepBody, name: str, attrs: dict[str, Attr], context: str
) -> None:
    """Each output's path is a relative path inside the project, out of `.zenctl/` and
    `.git/`: `checkout` writes there."""
    for output, path in body.paths.items():
        parts = PurePosixPath(posixpath.normpath(path)).parts or (".",)  # "." has none
        outside = path.startswith(("/", "\\")) or parts[0] in ("..", "", ".") or ":" in parts[0]
        if outside or parts[0] in _RESERVED:
            where = f"inside {parts[0]}/" if parts[0] in _RESERVED else "outside the project"
            decoder.error(
                "Path outside the project",
                f'Step "{name}" gives output "{output}" the path "{path}", which is {where}. '
                'Give a path relative to the project folder, such as "models/model.pkl".',
                attrs["paths"].range,
                context,
            )


def _deployment(
    decoder: Decoder,
    source: SourceFile,
    block: Any,
    name: str,
    stack: Stack | None,
    steps: dict[str, Step],
    context: str,
) -> Deployment | None:
    attrs = decoder.attributes(source, block)
    decoder.no_nested_blocks(source, block)
    where = source.range_of(block.raw)
    own: dict[str, Attr] = {k: attrs.pop(k) for k in ("model", "serving") if k in attrs}
    body = decoder.validate(DeploymentBody, own, where, context)
    if body is None:
        return None
    model = body.model
    if not is_step_output(model):
        decoder.error("Invalid model reference", HINTS["model"], model.range or where, context)
        return None
    if not resolve_output(decoder, model, steps, model.range or where, context):
        return None
    settings = {key: attr.value for key, attr in attrs.items()}
    if stack is None:  # chosen by a variable: checked against it once its value is known
        if (
            body.serving
            and not component_settings(decoder, "serving", body.serving, attrs, where, context)[0]
        ):
            return None
        return Deployment(name, model, body.serving, settings, where)
    try:
        serving, inherited = deployment_serving(stack, body.serving, name)
    except UserError as exc:
        decoder.error(exc.diagnostic.summary, exc.diagnostic.detail, where, context)
        return None
    merged = {key: Attr(value, where) for key, value in inherited.items()} | attrs
    if not component_settings(decoder, "serving", serving, merged, where, context)[0]:
        return None
    return Deployment(name, model, body.serving, settings, where)
