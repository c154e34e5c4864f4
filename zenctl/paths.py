"""Where zenctl keeps its files, inside a project and per user, created private to the owner."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_DIR = ".zenctl"
CACHE_DIR_VARIABLE = "ZENCTL_CACHE_DIR"


def project_dir(root: Path) -> Path:
    return root / PROJECT_DIR


def ensure_private_dir(path: Path) -> Path:
    """Create `path`, and each missing parent, readable by the owner only."""
    missing = [path, *(parent for parent in path.parents)]
    for folder in reversed([p for p in missing if not p.exists()]):
        folder.mkdir(mode=0o700, exist_ok=True)
    return path


def resolve_in_project(root: Path, value: str) -> Path:
    """A setting's path, relative to the project folder unless absolute."""
    path = Path(os.path.expanduser(value))
    return path if path.is_absolute() else root / path


def user_cache_dir() -> Path:
    """zenctl's per-user cache (discovered providers, downloaded artifacts): $ZENCTL_CACHE_DIR,
    else $XDG_CACHE_HOME/zenctl, else ~/.cache/zenctl. Empty variables count as unset, as the
    XDG specification says."""
    chosen = os.environ.get(CACHE_DIR_VARIABLE)
    if chosen:
        return Path(os.path.expanduser(chosen))
    home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(home) / "zenctl"
