"""`zenctl gc`: remove what no kept execution references, or list it with `--dry-run`."""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Annotated

import typer

from zenctl.cli.context import invocation
from zenctl.cli.options import Chdir, LockTimeout, VarFiles, Vars
from zenctl.diagnostics import UserError

if TYPE_CHECKING:
    from zenctl.plan.model import StepPlan
    from zenctl.state.records import Execution


def gc(
    ctx: typer.Context,
    chdir: Chdir = None,
    keep_last: Annotated[
        int,
        typer.Option(
            "--keep-last",
            "-keep-last",
            min=1,
            help="Succeeded executions kept per step: their artifacts and snapshots stay.",
        ),
    ] = 3,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", "-dry-run", help="List what would go; remove nothing.")
    ] = False,
    lock_timeout: LockTimeout = "0s",
    var: Vars = None,
    var_file: VarFiles = None,
) -> None:
    """Remove artifacts and source snapshots that no kept execution references, and that
    the configuration (with these variables) would not reuse in any workspace.

    Example: `zenctl gc --keep-last 1 --dry-run`
    """
    from zenctl.artifacts.gc import (
        GRACE_SECONDS,
        collect,
        directories,
        referenced,
        reused_by_config,
        sweep,
    )
    from zenctl.render.console import byte_size

    call = invocation(ctx)
    project = call.load(chdir, var, var_file)
    store = call.open_state(project)
    if store is None:  # without state everything looks unreferenced: never guess
        raise UserError(
            "No metadata store to collect against",
            "gc removes only what the recorded executions no longer reference, and this "
            "project has no metadata store yet. Check the metadata_store block.",
        )
    # the lock keeps this workspace's applies out while we sweep; the grace period protects
    # what applies in other workspaces have written but not recorded yet
    with (
        contextlib.nullcontext()
        if dry_run
        else call.lock(store, project.workspace, "gc", lock_timeout)
    ):
        reused = reused_by_config(
            project.config,
            project.variables,
            project.fingerprinter(store),
            store,
            {project.workspace, *store.workspaces()},
        )
        kept: list[Execution | StepPlan] = [*store.kept_executions(keep_last), *reused]
        found = collect(
            project.artifact_stores(),
            referenced(kept),
            time.time() - GRACE_SECONDS,
            directories(kept),
        )
        if not dry_run:
            sweep(found)
    console = call.stdout
    if found.garbage:
        verb = "Would remove" if dry_run else "Removed"
        console.print(f"{verb} {len(found.items)} item(s), {byte_size(found.size)}:")
    for item in found.items:
        what = item.digest[:10] if item.digest else item.key
        console.print(f"  {item.kind:<9} {what}  {byte_size(item.size)}", markup=False)
    console.print(
        f"{'Nothing to remove. ' if not found.garbage else ''}Kept {found.kept} item(s) "
        f"referenced by the last {keep_last} succeeded execution(s) of each step, its "
        "current state or what the configuration would reuse"
        + (
            f", and {found.recent} unreferenced one(s) younger than {GRACE_SECONDS // 60} "
            "minutes (an apply may still be recording them)"
            if found.recent
            else ""
        )
        + "."
    )
