"""Apply resource changes: create, update in place, replace, destroy; record each at once.

Each resource is recorded (or forgotten) in the metadata store right after the provider
acted on it, so an apply that stops half-way loses track of nothing it created.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from zenctl.diagnostics import UserError
from zenctl.plan.model import ResourceAction, ResourceChange
from zenctl.plan.resources import (
    DeclaredResource,
    build_resource,
    declared_resources,
    recorded_settings,
)
from zenctl.project import Project
from zenctl.providers.protocol import ArtifactStore, ResourceContext
from zenctl.state.store import ResourceRecord, StateStore

Say = Callable[[str, str], None]  # (address, message): progress for the user


@dataclass(frozen=True, slots=True)
class ResourceOutcome:
    address: str
    action: ResourceAction  # what was done; NOOP when nothing turned out to be needed
    error: str = ""


def apply_resources(
    project: Project,
    store: StateStore,
    changes: Iterable[ResourceChange],
    outputs: dict[str, dict[str, dict[str, Any]]],
    say: Say,
) -> list[ResourceOutcome]:
    """Carry out `changes`; `outputs` (step address -> outputs) resolves models now known."""
    pending = [change for change in changes if change.action is not ResourceAction.NOOP]
    if not pending:
        return []
    redact = project.fingerprinter(store).redact

    def model(pipeline: str, ref: str) -> str | None:
        _, step, _, output = ref.split(".")
        entry = outputs.get(f"pipeline.{pipeline}.step.{step}", {}).get(output)
        return str(entry["hash"]) if entry else None

    declared = {
        item.address: item
        for item in declared_resources(project.config, project.variables, model, redact)
    }
    records = store.resources(project.workspace)
    stores: dict[str, ArtifactStore] = {}
    outcomes = []
    for change in pending:
        try:
            done = _apply_one(project, store, change, declared, records, stores, say)
        except UserError as exc:
            detail = exc.diagnostic.detail
            outcomes.append(
                ResourceOutcome(change.address, change.action, f"{exc}. {detail}".strip())
            )
            say(change.address, f"failed: {exc}")
            continue
        except Exception as exc:  # a provider's failure: reported, the other resources go on
            outcomes.append(
                ResourceOutcome(change.address, change.action, f"{type(exc).__name__}: {exc}")
            )
            say(change.address, f"failed: {type(exc).__name__}: {exc}")
            continue
        outcomes.append(ResourceOutcome(change.address, done))
    return outcomes


def _apply_one(
    project: Project,
    store: StateStore,
    change: ResourceChange,
    declared: dict[str, DeclaredResource],
    records: dict[str, ResourceRecord],
    stores: dict[str, ArtifactStore],
    say: Say,
) -> ResourceAction:
    record = records.get(change.address)
    context = ResourceContext(project.root, project.workspace, change.address)
    if change.action is ResourceAction.DELETE:
        if record is not None:
            say(change.address, "Destroying...")
            old = build_resource(record.kind, record.type, recorded_settings(record), project.root)
            old.destroy(record.state, context)
            store.forget_resource(project.workspace, change.address)
            say(change.address, "Destruction complete")
        return ResourceAction.DELETE
    item = declared[change.address]
    if any(value is None for value in item.attributes.values()):
        raise UserError(
            "Not applied: its model was not produced",
            "The step that produces the model did not succeed in this apply.",
        )
    artifacts = _artifacts(project, store, item, stores)
    context = ResourceContext(project.root, project.workspace, change.address, artifacts)
    resource = build_resource(item.kind, item.type, item.settings, project.root)
    action = ResourceAction.CREATE
    if record is not None and not change.gone:
        changed, forces = resource.plan(record.attributes, item.attributes)
        if record.type != item.type or change.drifted or forces:
            action = ResourceAction.REPLACE
        elif changed:
            action = ResourceAction.UPDATE
        else:
            say(change.address, "Unchanged: the new model is the one already deployed")
            return ResourceAction.NOOP
    if action is ResourceAction.REPLACE and record is not None:
        say(change.address, "Destroying (replacement)...")
        old = build_resource(record.kind, record.type, recorded_settings(record), project.root)
        old.destroy(change.state or record.state, context)  # the refreshed state: what runs
        store.forget_resource(project.workspace, change.address)
    if action is ResourceAction.UPDATE and record is not None:
        say(change.address, "Modifying...")
        state = resource.update(record.state, item.revealed(), context)
    else:
        say(change.address, "Creating...")
        state = resource.create(item.revealed(), context)
    store.put_resource(
        project.workspace,
        ResourceRecord(change.address, item.kind, item.type, item.attributes, state),
    )
    where = f" ({state['url']})" if "url" in state else ""
    verb = "Modifications" if action is ResourceAction.UPDATE else "Creation"
    say(change.address, f"{verb} complete{where}")
    return action


def _artifacts(
    project: Project, store: StateStore, item: DeclaredResource, stores: dict[str, ArtifactStore]
) -> Callable[[str], tuple[str, bytes]]:
    """Read a model's bytes from the artifact store of the stack that produced it."""
    if item.stack not in stores:
        stores[item.stack] = project.artifact_store(item.stack)
    artifact_store = stores[item.stack]

    def read(digest: str) -> tuple[str, bytes]:
        row = store.artifact(digest)
        if row is None:
            raise UserError(f"Artifact {digest[:12]} is not recorded in the metadata store")
        return str(row["materializer"]), artifact_store.get(digest)

    return read
