"""Apply resource changes: create, update in place, replace, destroy; record each at once.

Apply carries out the action the plan decided (never decides again): a resource whose
record, real state or desired attributes are no longer what the plan saw is refused, named,
with what moved. Each resource is recorded (or forgotten) in the metadata store right after
the provider acted on it, so an apply that stops half-way loses track of nothing it created.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from zenctl.apply.masking import Masker
from zenctl.artifacts.integrity import read_verified
from zenctl.config.model import Config
from zenctl.diagnostics import UserError
from zenctl.fingerprint.canonical import canonical_json
from zenctl.fingerprint.step import Fingerprinter
from zenctl.plan.diff import change_body
from zenctl.plan.model import ResourceAction, ResourceChange
from zenctl.plan.resources import (
    DeclaredResource,
    attribute_changes,
    build_resource,
    declared_resources,
    model_lookup,
    reader,
    recorded_settings,
    refresh_state,
)
from zenctl.providers.protocol import ArtifactStore, ResourceContext
from zenctl.state.records import ResourceRecord
from zenctl.state.store import StateStore

Say = Callable[[str, str], None]  # (address, message): progress for the user


class Project(Protocol):
    """What applying resources reads of the project (zenctl.application.project.Project),
    named here so that this stage does not import the layer above it."""

    @property
    def root(self) -> Path: ...
    @property
    def config(self) -> Config: ...
    @property
    def variables(self) -> dict[str, Any]: ...
    @property
    def workspace(self) -> str: ...
    def fingerprinter(self, store: StateStore | None) -> Fingerprinter: ...
    def artifact_store(self, stack: str) -> ArtifactStore: ...


@dataclass(frozen=True, slots=True)
class ResourceOutcome:
    address: str
    action: ResourceAction  # the planned action: what was done, or refused
    error: str = ""


def apply_resources(
    project: Project,
    store: StateStore,
    changes: Iterable[ResourceChange],
    outputs: dict[str, dict[str, dict[str, Any]]],
    say: Say,
    refreshed: bool,
    masker: Masker,
) -> list[ResourceOutcome]:
    """Carry out `changes`; `outputs` (step address -> outputs) resolves models now known;
    `refreshed`: the plan read the real state, so apply reads it again to compare. A
    provider's error may quote a secret setting: `masker` masks it, as in step errors."""
    pending = [change for change in changes if change.action is not ResourceAction.NOOP]
    if not pending:
        return []
    redact = project.fingerprinter(store).redact

    model = model_lookup(outputs)
    declared = {
        item.address: item
        for item in declared_resources(project.config, project.variables, model, redact)
    }
    records = store.resources(project.workspace)
    stores: dict[str, ArtifactStore] = {}
    outcomes = []
    for change in pending:
        try:
            _check_as_planned(project, change, declared.get(change.address), records, refreshed)
            done = _apply_one(project, store, change, declared, records, stores, say)
        except UserError as exc:
            detail = exc.diagnostic.detail
            error = masker.mask_text(f"{exc}. {detail}".strip())
            outcomes.append(ResourceOutcome(change.address, change.action, error))
            say(change.address, f"failed: {masker.mask_text(str(exc))}")
            continue
        except Exception as exc:  # a provider's failure: reported, the other resources go on
            error = masker.mask_text(f"{type(exc).__name__}: {exc}")
            outcomes.append(ResourceOutcome(change.address, change.action, error))
            say(change.address, f"failed: {error}")
            continue
        outcomes.append(ResourceOutcome(change.address, done))
    return outcomes


def _check_as_planned(
    project: Project,
    change: ResourceChange,
    item: DeclaredResource | None,
    records: dict[str, ResourceRecord],
    refreshed: bool,
) -> None:
    """Refuse a resource that is no longer what the plan saw: its record, its real state, or
    (evaluated again, secrets as keyed hashes) its desired attributes and type."""
    record = records.get(change.address)
    if (record.attributes if record else None) != change.before:
        raise _moved("its record in the state is no longer the one the plan read")
    if change.action is not ResourceAction.DELETE:
        if item is None:
            raise _moved("it is no longer declared")
        _check_desired(change, item)
    if record is not None:  # read as the plan read it: with the declared settings, if any
        resource = reader(record, item, project.root)
        real, _ = refresh_state(resource, record, project.root, project.workspace, refreshed)
        if real != change.state:
            raise _moved(_how_it_moved(change.state, real))


def _check_desired(change: ResourceChange, item: DeclaredResource) -> None:
    if item.type != change.type:
        raise _moved(f'its type is now "{item.type}", the plan had "{change.type}"')
    planned = change.after or {}
    for key in sorted(set(planned) | set(item.attributes)):
        if key in change.unknown:
            continue  # a model a step produced in this apply: known only now
        was, now = canonical_json(planned.get(key)), canonical_json(item.attributes.get(key))
        if was != now:
            raise _moved(f"its {key} is now {now}, the plan had {was}")


def _how_it_moved(seen: dict[str, Any] | None, real: dict[str, Any] | None) -> str:
    if real is None:
        return "it no longer exists"
    if seen is None:
        return "it exists again, though the plan found it gone"
    moved = "; ".join(change_body(change) for change in attribute_changes(seen, real))
    return f"its real state moved ({moved})"


def _moved(what: str) -> UserError:
    return UserError(
        "Not applied: it changed since the plan",
        f"{what[:1].upper()}{what[1:]}. Nothing was done to it; run `zenctl plan` to see it "
        "as it is now, then apply.",
    )


def _apply_one(
    project: Project,
    store: StateStore,
    change: ResourceChange,
    declared: dict[str, DeclaredResource],
    records: dict[str, ResourceRecord],
    stores: dict[str, ArtifactStore],
    say: Say,
) -> ResourceAction:
    """Carry out the planned action, already checked to still fit reality: the record is
    there unless the action creates the resource anew."""
    record = records.get(change.address)
    context = ResourceContext(project.root, project.workspace, change.address)
    if change.action is ResourceAction.DELETE:
        assert record is not None
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
    if change.action is ResourceAction.REPLACE:
        assert record is not None
        say(change.address, "Destroying (replacement)...")
        old = build_resource(record.kind, record.type, recorded_settings(record), project.root)
        old.destroy(change.state or record.state, context)  # the refreshed state: what runs
        store.forget_resource(project.workspace, change.address)
    if change.action is ResourceAction.UPDATE:
        assert record is not None
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
    verb = "Modifications" if change.action is ResourceAction.UPDATE else "Creation"
    say(change.address, f"{verb} complete{where}")
    return change.action


def _artifacts(
    project: Project, store: StateStore, item: DeclaredResource, stores: dict[str, ArtifactStore]
) -> Callable[[str], tuple[str, bytes]]:
    """Read a model's bytes from the artifact store of the stack that produced it, verified
    (through the artifact cache for a remote store), as a step reads its inputs."""
    if item.stack not in stores:
        stores[item.stack] = project.artifact_store(item.stack)
    artifact_store = stores[item.stack]

    def read(digest: str) -> tuple[str, bytes]:
        artifact = store.artifact(digest)
        if artifact is None:
            raise UserError(f"Artifact {digest[:12]} is not recorded in the metadata store")
        return artifact.materializer, read_verified(artifact_store, digest)

    return read
