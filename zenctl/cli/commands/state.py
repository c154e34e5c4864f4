"""`zenctl state ...` and `zenctl force-unlock`: inspect, edit, move and upgrade the store.

Commands that write history (`apply`, `state rm`, `state import`) hold the state lock
(zenctl/state/lock.py); the ones that read take none, as `plan` takes none.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from zenctl.cli.context import Invocation, invocation
from zenctl.cli.options import AutoApprove, Chdir, Json, LockTimeout, print_json
from zenctl.diagnostics import UserError

if TYPE_CHECKING:
    from zenctl.application.project import Project
    from zenctl.state.records import Execution
    from zenctl.state.store import StateStore

state_app = typer.Typer(
    help="Inspect, edit, move and upgrade the metadata store.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help", "-help"]},
)


def _store(call: Invocation, chdir: Path | None) -> tuple[Project, StateStore]:
    project = call.load(chdir, evaluates=False)
    store = call.open_state(project)
    if store is None:
        raise UserError("Nothing recorded yet", "The metadata store is empty: run `zenctl apply`.")
    return project, store


def _in_state(store: StateStore, workspace: str) -> dict[str, Execution]:
    """Address -> the execution that stands for the step in state (its latest success)."""
    settled = store.snapshot(workspace).settled
    return {a: e for a, e in sorted(settled.items()) if e.status == "succeeded"}


@state_app.command("list")
def list_(ctx: typer.Context, chdir: Chdir = None, json_: Json = False) -> None:
    """List the steps recorded in state, one address a line (--json:
    specs/state-list.schema.json).

    Example: `zenctl state list`, `zenctl state list --json`
    """
    project, store = _store(invocation(ctx), chdir)
    in_state = _in_state(store, project.workspace)
    if json_:
        from zenctl.render.history_json import state_list_document

        print_json(state_list_document(in_state, project.workspace))
        return
    for address in in_state:
        typer.echo(address)


@state_app.command()
def show(
    ctx: typer.Context,
    address: Annotated[str, typer.Argument(help="A step address.")],
    chdir: Chdir = None,
    json_: Json = False,
) -> None:
    """Show the execution that stands for a step in state: fingerprint, params, artifacts
    (--json: specs/show.schema.json, as `zenctl show ADDRESS --json` without a later attempt).

    Example: `zenctl state show pipeline.iris.step.train`
    """
    from zenctl.render.history import show_execution
    from zenctl.state.history import StepView, execution_view

    call = invocation(ctx)
    project, store = _store(call, chdir)
    execution = _in_state(store, project.workspace).get(address)
    if execution is None:
        raise _not_in_state(address)
    view = execution_view(store, execution, address)
    if json_:
        from zenctl.render.history_json import step_document

        print_json(step_document(StepView(view, None), project.workspace))
        return
    show_execution(call.stdout, view)


def _not_in_state(address: str) -> Exception:
    return UserError(
        f"{address} is not in state",
        "`zenctl state list` lists the steps in state; `zenctl show ADDRESS` shows a step's "
        "history, failed attempts included.",
    )


@state_app.command()
def rm(
    ctx: typer.Context,
    addresses: Annotated[list[str], typer.Argument(help="Step addresses to forget.")],
    chdir: Chdir = None,
    auto_approve: AutoApprove = False,
    lock_timeout: LockTimeout = "0s",
) -> None:
    """Forget steps' recorded results: the next apply runs them again. History is kept.

    Example: `zenctl state rm pipeline.iris.step.train --auto-approve`
    """
    from zenctl.application.project import lineage_info

    call = invocation(ctx)
    project, store = _store(call, chdir)
    console = call.stdout
    with call.lock(store, project.workspace, "state rm", lock_timeout):
        in_state = _in_state(store, project.workspace)
        for address in addresses:
            if address not in in_state:
                raise _not_in_state(address)
        console.print("zenctl will forget these steps' recorded results:")
        for address in addresses:
            console.print(f"  - {address}")
        console.print(
            "Their history, artifacts and lineage stay (`zenctl show`); the next apply runs them."
        )
        if not auto_approve:
            call.confirm("state rm")
        run_id = store.begin_run(project.workspace, lineage_info(project.root))
        store.mark(run_id, project.workspace, addresses, "forgotten", "zenctl state rm")
        store.finish_run(run_id, "state rm", {"removed": len(addresses)})
    console.print(f"Removed {len(addresses)} step(s) from state (run {run_id[:8]}).")


@state_app.command("export")
def export(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Where to write the JSON document; - for stdout.")],
    chdir: Chdir = None,
) -> None:
    """Write the project's whole history (runs, executions, artifacts, lineage, resources)
    as JSON.

    Example: `zenctl state export backup.json`
    """
    import json

    from zenctl.paths import write_output

    _, store = _store(invocation(ctx), chdir)
    text = json.dumps(store.export_document(), indent=1, sort_keys=True) + "\n"
    if str(file) == "-":
        sys.stdout.write(text)
        return
    write_output(file, text, "state")  # a reader never sees half a backup; the owner's only
    typer.echo(f"Exported the state to {file}.")


@state_app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A document made by `zenctl state export`.")],
    chdir: Chdir = None,
    force: Annotated[
        bool,
        typer.Option("--force", "-force", help="Replace a store that already holds history."),
    ] = False,
    lock_timeout: LockTimeout = "0s",
) -> None:
    """Load a project's history exported from another store (e.g. SQLite to PostgreSQL).

    Example: `zenctl state import backup.json`
    """
    from zenctl.state.transfer import read_document

    call = invocation(ctx)
    document = read_document(file)
    project = call.load(chdir, evaluates=False)
    store = call.create_state(project)
    with call.lock(store, project.workspace, "state import", lock_timeout):
        if store.holds_history() and not force:
            raise UserError(
                "The metadata store already holds history",
                f"Importing into {store.db.url} would replace it. Export it first if you need "
                "it (`zenctl state export backup.json`), then import with --force.",
            )
        counts = store.import_document(document)
    typer.echo(
        f"Imported {counts['runs']} runs, {counts['executions']} executions, "
        f"{counts['artifacts']} artifacts, {counts['lineage_edges']} lineage edges "
        f"and {counts['resources']} resources into {store.db.url}."
    )


@state_app.command()
def upgrade(ctx: typer.Context, chdir: Chdir = None) -> None:
    """Migrate the metadata store to the schema this zenctl uses. Back it up first.

    Example: `zenctl state upgrade`
    """
    from zenctl.state import schema
    from zenctl.state.opening import open_database, open_store

    project = invocation(ctx).load(chdir, evaluates=False)
    component = project.metadata_store()
    settings = project.store_settings(component)
    db = open_database(project.root, component, settings)
    before = schema.schema_version(db)
    if before is not None and before > schema.SCHEMA_HEAD:
        raise schema.newer_schema(db, before)
    if before == schema.SCHEMA_HEAD:
        typer.echo(f"{db.url} is at the current schema ({before}): nothing to do.")
        return
    schema.upgrade(db)
    db.close()
    store = open_store(project.root, component, settings, create=True)
    if store is not None:
        store.close()
    typer.echo(f"Upgraded {db.url} from schema {before or 'none'} to {schema.SCHEMA_HEAD}.")


@state_app.command("rotate-key")
def rotate_key(
    ctx: typer.Context,
    chdir: Chdir = None,
    auto_approve: AutoApprove = False,
    lock_timeout: LockTimeout = "0s",
) -> None:
    """Give the store a new random key for the hashes of sensitive values.

    Do it when a store predates schema 0005 (its key came from the lineage, printed in every
    plan JSON) or a state export leaked. Steps with sensitive params run again on the next
    apply: their recorded hashes were made with the old key.

    Example: `zenctl state rotate-key`
    """
    from zenctl.plan.diff import holds_secret

    call = invocation(ctx)
    project, store = _store(call, chdir)
    console = call.stdout
    with call.lock(store, project.workspace, "state rotate-key", lock_timeout):
        affected = [
            address
            for address, execution in _in_state(store, project.workspace).items()
            if holds_secret(execution.components.get("params"))
        ]
        console.print("zenctl will give the metadata store a new key for secrets' hashes.")
        if affected:
            console.print("These steps take sensitive params and will run again:")
            for address in affected:
                console.print(f"  - {address}")
        console.print("Plans saved before now will be refused as stale.")
        if not auto_approve:
            call.confirm("state rotate-key")
        store.rotate_secret_key()
    console.print("Rotated the secrets key.")


def force_unlock(
    ctx: typer.Context,
    lock_id: Annotated[str, typer.Argument(help="The lock ID an error message named.")],
    chdir: Chdir = None,
    force: Annotated[bool, typer.Option("--force", "-force", help="Don't ask to confirm.")] = False,
) -> None:
    """Release a state lock whose holder is gone. Never while its apply is still running.

    Example: `zenctl force-unlock 2f1c6a3e-...`
    """
    from zenctl.state.lock import current_locks
    from zenctl.state.lock import force_unlock as release

    call = invocation(ctx)
    _, store = _store(call, chdir)
    held = {lock.id: lock for lock in current_locks(store.db)}
    if lock_id in held and not force:
        import time

        call.stdout.print(f"zenctl will release this lock:\n{held[lock_id].describe(time.time())}")
        call.confirm("force-unlock", "--force")
    released = release(store.db, lock_id)
    call.stdout.print(f"Released the {released.operation} lock {released.id}.")
