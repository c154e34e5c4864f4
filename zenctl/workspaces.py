"""Workspaces: separate histories (runs and cache view) in one metadata store.

The selected workspace is kept in `.zenctl/environment` (as Terraform keeps it in
`.terraform/environment`); `ZENCTL_WORKSPACE` overrides it, like `TF_WORKSPACE`. Workspaces
created but not yet applied to are listed in `.zenctl/workspaces.json`; the ones with runs
are found in the store itself, so a shared store shows them on every machine.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

from zenctl.diagnostics import UserError
from zenctl.paths import ensure_private_dir, project_dir, write_atomic

DEFAULT_WORKSPACE = "default"
ENV_VAR = "ZENCTL_WORKSPACE"
MAX_LENGTH = 64  # the store's workspace columns are 64 characters wide
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def check_name(name: str, given_by: str = "The workspace name") -> str:
    """The name, or a UserError saying why it cannot be one (names may become paths)."""
    if not name:
        problem = "is empty"
    elif len(name) > MAX_LENGTH:
        problem = f"is {len(name)} characters long; the limit is {MAX_LENGTH}"
    elif not _NAME.fullmatch(name):
        problem = (
            f"{name!r} may only hold letters, digits, '-', '_' and '.', and must start with a "
            "letter or digit (no '/', '..' or spaces)"
        )
    else:
        return name
    raise UserError("Invalid workspace name", f"{given_by} {problem}.")


def _selection_file(root: Path) -> Path:
    return project_dir(root) / "environment"


def _created_file(root: Path) -> Path:
    return project_dir(root) / "workspaces.json"


def current(root: Path, environ: Mapping[str, str] | None = None) -> str:
    """The workspace commands work in: ZENCTL_WORKSPACE, else the selected one."""
    environ = os.environ if environ is None else environ
    if ENV_VAR in environ:
        return check_name(environ[ENV_VAR], f"The {ENV_VAR} environment variable")
    try:
        selected = _selection_file(root).read_text().strip()
    except OSError:
        return DEFAULT_WORKSPACE
    return check_name(selected, f"The workspace selected in {_selection_file(root)}")


def overridden() -> bool:
    return ENV_VAR in os.environ


def created(root: Path) -> set[str]:
    try:
        names = json.loads(_created_file(root).read_text())
    except (OSError, ValueError):
        return set()
    return {name for name in names if isinstance(name, str)}


def _write(path: Path, text: str) -> None:
    ensure_private_dir(path.parent)
    write_atomic(path, text)


def remember(root: Path, names: set[str]) -> None:
    _write(_created_file(root), json.dumps(sorted(names - {DEFAULT_WORKSPACE})) + "\n")


def select(root: Path, name: str) -> None:
    _write(_selection_file(root), name + "\n")
