"""Plan resources as Terraform does: refresh each one, then diff desired against recorded.

A resource is a deployment block (its model is a step output) or a stack component of a
kind a provider adds. Refreshing asks the provider for the real state (`read`); what moved
since the last apply is drift, shown apart from the changes the configuration asks for.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zenctl.config.model import COMPONENT_KINDS, Config, deployment_serving
from zenctl.config.variables import evaluate, reveal
from zenctl.diagnostics import UserError
from zenctl.plan.model import (
    Change,
    Digest,
    Placeholder,
    Recorded,
    ResourceAction,
    ResourceChange,
    Value,
)
from zenctl.plan.targeting import covers_resource
from zenctl.providers.protocol import Attributes, Resource, ResourceContext
from zenctl.state.records import ResourceRecord

_HASH = re.compile(r"[0-9a-f]{64}")
# (pipeline name, "step.NAME.outputs.OUTPUT") -> the artifact hash, None while unknown
ModelLookup = Callable[[str, str], "str | None"]


def model_lookup(outputs: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> ModelLookup:
    """The lookup of deployments' models among `outputs` (step address -> its outputs, as
    recorded): the hash of the output a model reference names, None while it is unknown."""

    def model(pipeline: str, ref: str) -> str | None:
        _, step, _, output = ref.split(".")
        entry = outputs.get(f"pipeline.{pipeline}.step.{step}", {}).get(output)
        return str(entry["hash"]) if entry else None

    return model


@dataclass(frozen=True, slots=True)
class DeclaredResource:
    address: str
    kind: str
    type: str
    settings: dict[str, Any]  # evaluated, secrets still wrapped: what the provider is built from
    attributes: dict[str, Any]  # desired, as recorded and shown (secrets as keyed hashes)
    stack: str  # whose artifact store holds its model

    def revealed(self) -> Attributes:
        """The desired attributes with secrets in clear: for the provider only."""
        model = {"model": self.attributes["model"]} if "model" in self.attributes else {}
        return {**reveal(self.settings), **model}


def declared_resources(
    config: Config,
    variables: Mapping[str, Any],
    model: ModelLookup,
    redact: Callable[[Any], Any],
) -> list[DeclaredResource]:
    declared: list[DeclaredResource] = []
    used = sorted({pipeline.stack for pipeline in config.pipelines.values()})
    for name in used:
        for component in config.stacks[name].components.values():
            if component.kind in COMPONENT_KINDS:
                continue
            settings = evaluate(component.settings, variables)
            declared.append(
                DeclaredResource(
                    f"stack.{name}.{component.kind}",
                    component.kind,
                    component.type,
                    settings,
                    redact(settings),
                    name,
                )
            )
    for pipeline in sorted(config.pipelines.values(), key=lambda p: p.name):
        for deployment in sorted(pipeline.deployments.values(), key=lambda d: d.name):
            stack = config.stacks[pipeline.stack]
            serving, inherited = deployment_serving(stack, deployment.serving, deployment.name)
            settings = evaluate({**inherited, **deployment.settings}, variables)
            declared.append(
                DeclaredResource(
                    f"pipeline.{pipeline.name}.deployment.{deployment.name}",
                    "serving",
                    serving,
                    settings,
                    {"model": model(pipeline.name, str(deployment.model)), **redact(settings)},
                    pipeline.stack,
                )
            )
    return declared


def build_resource(kind: str, type_: str, settings: dict[str, Any], root: Path) -> Resource:
    from zenctl.providers.registry import build_component, validated

    built = build_component(kind, type_, validated(kind, type_, reveal(settings)), root)
    if not isinstance(built, Resource):
        raise UserError(
            f'{kind} "{type_}" is not a resource',
            f'The provider of {kind} "{type_}" does not implement zenctl.providers.protocol.'
            "Resource, so zenctl cannot create, read or destroy it. Upgrade the provider.",
        )
    return built


def recorded_settings(record: ResourceRecord) -> dict[str, Any]:
    """What to rebuild a recorded resource's provider object from (to destroy it)."""
    return {key: value for key, value in record.attributes.items() if key != "model"}


def reader(record: ResourceRecord, item: DeclaredResource | None, root: Path) -> Resource:
    """What reads a recorded resource back: built from its declared settings (secrets in
    clear) while it is declared, from the recorded ones once it is not."""
    if item is not None:
        return build_resource(item.kind, item.type, item.settings, root)
    return build_resource(record.kind, record.type, recorded_settings(record), root)


def plan_resources(
    declared: list[DeclaredResource],
    records: dict[str, ResourceRecord],
    root: Path,
    workspace: str,
    refresh: bool,
    targets: tuple[str, ...] = (),
    excluded: Collection[str] = (),
) -> tuple[ResourceChange, ...]:
    """Each resource's change; with `targets` or `excluded`, only those the partial plan
    covers are refreshed and planned."""
    changes: list[ResourceChange] = []
    wanted = {item.address: item for item in declared}
    for address in sorted(set(wanted) | set(records)):
        if not covers_resource(address, targets, excluded):
            continue
        item, record = wanted.get(address), records.get(address)
        if item is None:
            assert record is not None
            changes.append(_destroy(record, root, workspace, refresh))
        else:
            changes.append(_desired(item, record, root, workspace, refresh))
    return tuple(changes)


def refresh_state(
    resource: Resource, record: ResourceRecord, root: Path, workspace: str, refresh: bool
) -> tuple[dict[str, Any] | None, tuple[Change, ...]]:
    """The real state (None: gone) and how it moved since it was recorded; apply reads it
    again before acting, to refuse a resource that moved since the plan."""
    if not refresh:
        return record.state, ()
    try:
        real = resource.read(record.state, ResourceContext(root, workspace, record.address))
    except Exception as exc:  # the provider could not look: say so rather than guess
        raise UserError(
            f"Refreshing {record.address} failed",
            f'{record.kind} "{record.type}" raised {type(exc).__name__}: {exc}. Fix the cause; '
            "meanwhile `zenctl plan --refresh=false` plans with the state recorded by the last "
            "apply.",
        ) from None
    if real is None:
        return None, ()
    return real, attribute_changes(record.state, real)


def _destroy(record: ResourceRecord, root: Path, workspace: str, refresh: bool) -> ResourceChange:
    resource = build_resource(record.kind, record.type, recorded_settings(record), root)
    real, drift = refresh_state(resource, record, root, workspace, refresh)
    return ResourceChange(
        record.address,
        record.kind,
        record.type,
        ResourceAction.DELETE,
        tuple(Change("-", key, before=_value(value)) for key, value in record.attributes.items()),
        (),
        drift,
        real is None,
        record.attributes,
        None,
        real,
    )


def _desired(
    item: DeclaredResource,
    record: ResourceRecord | None,
    root: Path,
    workspace: str,
    refresh: bool,
) -> ResourceChange:
    resource = build_resource(item.kind, item.type, item.settings, root)
    unknown = tuple(key for key, value in item.attributes.items() if value is None)
    common: dict[str, Any] = {
        "address": item.address,
        "kind": item.kind,
        "type": item.type,
        "after": item.attributes,
        "unknown": unknown,
    }
    if record is None:
        return ResourceChange(
            action=ResourceAction.CREATE,
            changes=_added(item.attributes),
            forces=(),
            drift=(),
            gone=False,
            before=None,
            state=None,
            **common,
        )
    real, drift = refresh_state(resource, record, root, workspace, refresh)
    common |= {"before": record.attributes, "state": real, "drift": drift, "gone": real is None}
    if real is None:  # deleted outside zenctl: make it again
        return ResourceChange(
            action=ResourceAction.CREATE, changes=_added(item.attributes), forces=(), **common
        )
    changed, forces = resource.plan(record.attributes, item.attributes)
    if record.type != item.type:
        forces = ["serving" if item.kind == "serving" else "type", *forces]
    lines = attribute_changes(record.attributes, item.attributes)
    if record.type != item.type:
        lines = (Change("~", forces[0], Recorded(record.type), Recorded(item.type)), *lines)
    if drift or forces:
        action = ResourceAction.REPLACE
    else:
        action = ResourceAction.UPDATE if changed else ResourceAction.NOOP
    return ResourceChange(action=action, changes=lines, forces=tuple(forces), **common)


def _added(attributes: dict[str, Any]) -> tuple[Change, ...]:
    return tuple(Change("+", key, after=_value(value)) for key, value in sorted(attributes.items()))


def _value(value: Any) -> Value:
    """An attribute's value: None is a model still unknown, a hash a model's artifact."""
    if value is None:
        return Placeholder.UNKNOWN
    if isinstance(value, str) and _HASH.fullmatch(value):
        return Digest(value)
    return Recorded(value)


def attribute_changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[Change, ...]:
    lines: list[Change] = []
    for key in sorted(set(before) | set(after)):
        if key not in after:
            lines.append(Change("-", key, before=_value(before[key])))
        elif key not in before:
            lines.append(Change("+", key, after=_value(after[key])))
        elif before[key] != after[key]:
            lines.append(Change("~", key, _value(before[key]), _value(after[key])))
    return tuple(lines)
