"""Where zenctl keeps its files inside a project, created private to the owner."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_DIR = ".zenctl"


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
