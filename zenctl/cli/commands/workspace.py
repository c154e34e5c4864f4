"""`zenctl workspace new|select|list|show|delete`: separate histories in one metadata store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from zenctl.cli.context import Invocation, invocation
from zenctl.cli.options import Json, print_json

if TYPE_CHECKING:
    from zenctl.state.store import StateStore

workspace_app = typer.Typer(
    help="Manage workspaces: separate runs and cache views, so dev experiments stay out of prod.",
    no_args_is_help=True,
)
Name = Annotated[str, typer.Argument(help="The workspace name.", show_default=False)]


def _context(call: Invocation) -> tuple[Path, StateStore | None, set[str]]:
    """The project root, its store (None before the first apply), and every known workspace."""
    from zenctl.workspaces import DEFAULT_WORKSPACE, created

    project = call.load(None, evaluates=False)
    store = call.open_state(project)
    known = {DEFAULT_WORKSPACE, *created(project.root)}
    if store is not None:
        known |= set(store.workspaces())
    return project.root, store, known


@workspace_app.command("list")
def list_(ctx: typer.Context, json_: Json = False) -> None:
    """List the workspaces; the current one is marked with `*` (--json: each one's recorded
    runs too, specs/workspace-list.schema.json).

    Example: `zenctl workspace list`
    """
    from zenctl.workspaces import current

    root, store, known = _context(invocation(ctx))
    selected = current(root)
    names = known | {selected}
    if json_:
        from zenctl.render.documents import workspaces_document

        runs = store.workspaces() if store is not None else {}
        print_json(workspaces_document(selected, runs, names))
        return
    for name in sorted(names):
        typer.echo(f"{'*' if name == selected else ' '} {name}")


@workspace_app.command()
def show(ctx: typer.Context) -> None:
    """Print the current workspace's name.

    Example: `zenctl workspace show`
    """
    from zenctl.workspaces import current

    typer.echo(current(invocation(ctx).project_root(None)))


@workspace_app.command()
def new(ctx: typer.Context, name: Name) -> None:
    """Create a workspace and select it.

    Example: `zenctl workspace new dev`
    """
    from zenctl.diagnostics import UserError
    from zenctl.workspaces import check_name, created, remember

    check_name(name)
    root, _, known = _context(invocation(ctx))
    if name in known:
        raise UserError(
            f'Workspace "{name}" already exists',
            f"Select it with `zenctl workspace select {name}`.",
        )
    remember(root, created(root) | {name})
    _select(root, name)
    typer.echo(f'Created and switched to workspace "{name}".')


@workspace_app.command()
def select(
    ctx: typer.Context,
    name: Name,
    or_create: Annotated[
        bool,
        typer.Option("--or-create", "-or-create", help="Create the workspace if it is missing."),
    ] = False,
) -> None:
    """Switch to another workspace.

    Example: `zenctl workspace select prod`
    """
    from zenctl.diagnostics import UserError
    from zenctl.workspaces import check_name, created, remember

    check_name(name)
    root, _, known = _context(invocation(ctx))
    if name not in known:
        if not or_create:
            raise UserError(
                f'Workspace "{name}" doesn\'t exist',
                f"The workspaces are: {', '.join(sorted(known))}. Create it with "
                f"`zenctl workspace new {name}`.",
            )
        remember(root, created(root) | {name})
    _select(root, name)
    typer.echo(f'Switched to workspace "{name}".')


def _select(root: Path, name: str) -> None:
    from zenctl.diagnostics import UserError
    from zenctl.workspaces import ENV_VAR, overridden, select

    if overridden():
        raise UserError(
            "The selected workspace is overridden",
            f"{ENV_VAR} is set, and it wins over the selection. Unset it to switch with "
            "`zenctl workspace select`.",
        )
    select(root, name)


@workspace_app.command()
def delete(
    ctx: typer.Context,
    name: Name,
    force: Annotated[
        bool,
        typer.Option("--force", "-force", help="Delete it even though it has recorded runs."),
    ] = False,
) -> None:
    """Delete a workspace and its recorded runs (artifacts stay until `zenctl gc`).

    Example: `zenctl workspace delete dev --force`
    """
    from zenctl.diagnostics import UserError
    from zenctl.workspaces import DEFAULT_WORKSPACE, check_name, created, current, remember

    check_name(name)
    root, store, known = _context(invocation(ctx))
    if name == DEFAULT_WORKSPACE:
        raise UserError("Can't delete the default workspace", "It always exists.")
    if name not in known:
        raise UserError(
            f'Workspace "{name}" doesn\'t exist',
            f"The workspaces are: {', '.join(sorted(known))}.",
        )
    if name == current(root):
        raise UserError(
            "Can't delete the current workspace",
            f"Switch to another first, e.g. `zenctl workspace select {DEFAULT_WORKSPACE}`.",
        )
    runs = store.workspaces().get(name, 0) if store is not None else 0
    if runs and not force:
        raise UserError(
            f'Workspace "{name}" has {runs} recorded run(s)',
            "Deleting it forgets their history and cache (artifacts stay). Pass --force to "
            "delete it anyway.",
        )
    if store is not None and runs:
        store.delete_workspace(name)
    remember(root, created(root) - {name})
    typer.echo(f'Deleted workspace "{name}"' + (f" and its {runs} run(s)." if runs else "."))
