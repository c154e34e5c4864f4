"""`zenctl init`: `.zenctl/`, the metadata store, a `.gitignore` keeping `.zenctl/` out of git,
and a starter configuration when none."""

from __future__ import annotations

from pathlib import Path

import typer

import zenctl
from zenctl.cli.context import invocation
from zenctl.cli.options import Chdir
from zenctl.paths import PROJECT_DIR

# The .gitignore lines that already keep `.zenctl/` out (any of them, anchored or not).
_IGNORING = {PROJECT_DIR, f"{PROJECT_DIR}/", f"/{PROJECT_DIR}", f"/{PROJECT_DIR}/"}


def init(ctx: typer.Context, chdir: Chdir = None) -> None:
    """Create `.zenctl/`, the metadata store, a `.gitignore` that ignores `.zenctl/`, and a
    starter `main.zc.hcl` when there is none; the project folder too, as `git init` does.

    Example: `zenctl init --chdir my-project`
    """
    from zenctl.config.loader import config_files

    call = invocation(ctx)
    done = []
    wanted = chdir or call.chdir
    if wanted is not None and not wanted.exists():
        wanted.mkdir(parents=True)
        done.append(f"Created the folder {wanted}")
    root = call.project_root(chdir)
    if not config_files(root):
        starter = Path(zenctl.__file__).parent / "starter"
        for name, target in (("main.zc.hcl", "main.zc.hcl"), ("steps.py.txt", "starter_steps.py")):
            path = root / target
            if not path.exists():
                path.write_text((starter / name).read_text())
                done.append(f"Created {target}")
    store = call.create_state(call.load(root, evaluates=False))
    store.close()
    ignored = _ignore_project_dir(root / ".gitignore")
    if ignored:
        done.append(ignored)
    console = call.stdout
    for line in done:
        console.print(line)
    console.print(f"[green]Initialized zenctl in {root}.[/] Next: `zenctl plan`.")


def _ignore_project_dir(gitignore: Path) -> str | None:
    """Keep `.zenctl/` (the store, artifacts, caches: they change with every apply) out of git:
    add it to .gitignore unless a line there ignores it already. What was done, or None."""
    if not gitignore.exists():
        gitignore.write_text(f"{PROJECT_DIR}/\n")
        return "Created .gitignore"
    text = gitignore.read_text()
    if _IGNORING & {line.strip() for line in text.splitlines()}:
        return None
    separator = "" if not text or text.endswith("\n") else "\n"
    gitignore.write_text(f"{text}{separator}{PROJECT_DIR}/\n")
    return f"Added {PROJECT_DIR}/ to .gitignore"
