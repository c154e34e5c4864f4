"""`zenctl init`: `.zenctl/`, the metadata store, and a starter configuration when none."""

from __future__ import annotations

from pathlib import Path

import typer

import zenctl
from zenctl.cli.context import invocation
from zenctl.cli.options import Chdir


def init(ctx: typer.Context, chdir: Chdir = None) -> None:
    """Create `.zenctl/`, the metadata store, and a starter `main.zc.hcl` when there is none.

    Example: `zenctl init --chdir my-project`
    """
    from zenctl.config.loader import config_files

    call = invocation(ctx)
    root = call.project_root(chdir)
    created = []
    if not config_files(root):
        starter = Path(zenctl.__file__).parent / "starter"
        for name, target in (("main.zc.hcl", "main.zc.hcl"), ("steps.py.txt", "starter_steps.py")):
            path = root / target
            if not path.exists():
                path.write_text((starter / name).read_text())
                created.append(target)
    store = call.create_state(call.load(root, evaluates=False))
    store.close()
    console = call.stdout
    for name in created:
        console.print(f"Created {name}")
    console.print(f"[green]Initialized zenctl in {root}.[/] Next: `zenctl plan`.")
