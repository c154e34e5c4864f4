"""`zenctl state ...` and `zenctl force-unlock`: inspect, edit, move and upgrade the store.

Commands that write history (`apply`, `state rm`, `state import`) hold the state lock
(zenctl/state/lock.py); the ones that read take none, as `plan` takes none.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from zenctl.cli.app import Chdir, _confirm, _fail_with, _open_state, _root

state_app = typer.Typer(
    help="Inspect, edit, move and upgrade the metadata store.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help", "-help"]},
)

LockTimeout = Annotated[
    str,
    typer.Option(
        "--lock-timeout",
        "-lock-timeout",
        help="How long to wait for the state lock held by another zenctl, e.g. 30s or 5m.",
    ),
]
AutoApprove = Annotated[
    bool, typer.Option("--auto-approve", "-auto-approve", help="Skip the confirmation.")
]


@contextmanager
def hold_lock(store: Any, workspace: str, operation: str, timeout: str) -> Iterator[None]:
    """Hold the workspace's state lock, telling the user when a dead holder's is taken over."""
    from zenctl.durations import parse_duration
    from zenctl.render.console import stderr
    from zenctl.state.lock import LockInfo, state_lock

    def taken_over(holder: LockInfo, reason: str) -> None:
        stderr().print(
            f"[yellow]Warning:[/] took over a stale state lock ({reason}): {holder.id}, "
            f"{holder.operation} by {holder.username}@{holder.host} pid {holder.pid}. Steps it "
            "left running are recorded as interrupted by the next apply."
        )

    seconds = parse_duration(timeout, "--lock-timeout")
    with state_lock(store.db, workspace, operation, seconds, taken_over) as lock:
        store.lock = lock
        try:
            yield
        finally:
            store.lock = None


def _store(chdir: Path | None, create: bool = False) -> tuple[Any, Any]:
    from zenctl.project import Project

    project = Project.load(_root(chdir))
    store = _open_state(project, create=create)
    if store is None:
        _fail_with("Nothing recorded yet", "The metadata store is empty: run `zenctl apply`.")
    return project, store


def _in_state(store: Any, workspace: str) -> dict[str, Any]:
    """Address -> the execution that stands for the step in state (its latest success)."""
    settled = store.snapshot(workspace).settled
    return {a: e for a, e in sorted(settled.items()) if e.status == "succeeded"}


@state_app.command("list")
def list_(chdir: Chdir = None) -> None:
    """List the steps recorded in state, one address a line.

    Example: `zenctl state list`
    """
    project, store = _store(chdir)
    for address in _in_state(store, project.workspace):
        typer.echo(address)


@state_app.command()
def show(
    address: Annotated[str, typer.Argument(help="A step address.")], chdir: Chdir = None
) -> None:
    """Show the execution that stands for a step in state: fingerprint, params, artifacts.

    Example: `zenctl state show pipeline.iris.step.train`
    """
    from zenctl.render.console import stdout
    from zenctl.render.history import show_execution
    from zenctl.state.history import execution_view

    project, store = _store(chdir)
    execution = _in_state(store, project.workspace).get(address)
    if execution is None:
        raise _not_in_state(address)
    show_execution(stdout(), execution_view(store, execution, address))


def _not_in_state(address: str) -> Exception:
    from zenctl.diagnostics import UserError

    return UserError(
        f"{address} is not in state",
        "`zenctl state list` lists the steps in state; `zenctl show ADDRESS` shows a step's "
        "history, failed attempts included.",
    )


@state_app.command()
def rm(
    addresses: Annotated[list[str], typer.Argument(help="Step addresses to forget.")],
    chdir: Chdir = None,
    auto_approve: AutoApprove = False,
    lock_timeout: LockTimeout = "0s",
) -> None:
    """Forget steps' recorded results: the next apply runs them again. History is kept.

    Example: `zenctl state rm pipeline.iris.step.train --auto-approve`
    """
    from zenctl.project import lineage_info
    from zenctl.render.console import stdout

    project, store = _store(chdir)
    console = stdout()
    with hold_lock(store, project.workspace, "state rm", lock_timeout):
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
            _confirm("state rm")
        run_id = store.begin_run(project.workspace, lineage_info(project.root))
        store.mark(run_id, project.workspace, addresses, "forgotten", "zenctl state rm")
        store.finish_run(run_id, "state rm", {"removed": len(addresses)})
    console.print(f"Removed {len(addresses)} step(s) from state (run {run_id[:8]}).")


@state_app.command("export")
def export(
    file: Annotated[Path, typer.Argument(help="Where to write the JSON document; - for stdout.")],
    chdir: Chdir = None,
) -> None:
    """Write the project's whole history (runs, executions, artifacts, lineage, resources)
    as JSON.

    Example: `zenctl state export backup.json`
    """
    import json

    from zenctl.paths import write_atomic

    _, store = _store(chdir)
    text = json.dumps(store.export_document(), indent=1, sort_keys=True) + "\n"
    if str(file) == "-":
        sys.stdout.write(text)
        return
    write_atomic(file, text)  # a reader never sees half a backup; the owner's only
    typer.echo(f"Exported the state to {file}.")


@state_app.command("import")
def import_(
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
    from zenctl.project import Project
    from zenctl.state.transfer import read_document

    document = read_document(file)
    project = Project.load(_root(chdir))
    store = _open_state(project, create=True)
    with hold_lock(store, project.workspace, "state import", lock_timeout):
        if store.holds_history() and not force:
            _fail_with(
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
def upgrade(chdir: Chdir = None) -> None:
    """Migrate the metadata store to the schema this zenctl uses. Back it up first.

    Example: `zenctl state upgrade`
    """
    from zenctl.project import Project
    from zenctl.state import schema
    from zenctl.state.opening import open_database, open_store

    project = Project.load(_root(chdir))
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
    chdir: Chdir = None, auto_approve: AutoApprove = False, lock_timeout: LockTimeout = "0s"
) -> None:
    """Give the store a new random key for the hashes of sensitive values.

    Do it when a store predates schema 0005 (its key came from the lineage, printed in every
    plan JSON) or a state export leaked. Steps with sensitive params run again on the next
    apply: their recorded hashes were made with the old key.

    Example: `zenctl state rotate-key`
    """
    from zenctl.plan.diff import holds_secret
    from zenctl.render.console import stdout

    project, store = _store(chdir)
    console = stdout()
    with hold_lock(store, project.workspace, "state rotate-key", lock_timeout):
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
            _confirm("state rotate-key")
        store.rotate_secret_key()
    console.print("Rotated the secrets key.")


def force_unlock(
    lock_id: Annotated[str, typer.Argument(help="The lock ID an error message named.")],
    chdir: Chdir = None,
    force: Annotated[bool, typer.Option("--force", "-force", help="Don't ask to confirm.")] = False,
) -> None:
    """Release a state lock whose holder is gone. Never while its apply is still running.

    Example: `zenctl force-unlock 2f1c6a3e-...`
    """
    from zenctl.render.console import stdout
    from zenctl.state.lock import current_locks
    from zenctl.state.lock import force_unlock as release

    _, store = _store(chdir)
    held = {lock.id: lock for lock in current_locks(store.db)}
    if lock_id in held and not force:
        import time

        stdout().print(f"zenctl will release this lock:\n{held[lock_id].describe(time.time())}")
        _confirm("force-unlock", "--force")
    released = release(store.db, lock_id)
    stdout().print(f"Released the {released.operation} lock {released.id}.")
