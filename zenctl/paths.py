"""Where zenctl keeps its files, inside a project and per user, created private to the owner."""

from __future__ import annotations

import contextlib
import os
import pickle
from pathlib import Path
from typing import TypeVar

_T = TypeVar("_T")

PROJECT_DIR = ".zenctl"
CACHE_DIR_VARIABLE = "ZENCTL_CACHE_DIR"
TEMPORARY = ".tmp-"  # a file being written; a killed writer may leave one, nothing reads it


def project_dir(root: Path) -> Path:
    return root / PROJECT_DIR


def project_folder(path: Path, given_by: str = "--chdir") -> Path:
    """The project folder `path` names, absolute; `given_by` is what the user checks when it
    is not a folder (the command line's --chdir, the Python API's path=)."""
    root = path.resolve()
    if not root.is_dir():
        from zenctl.diagnostics import UserError  # dataclasses, re, typing: only when needed

        raise UserError("Project folder not found", f"{root} is not a folder. Check {given_by}.")
    return root


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


def read_pickle(path: Path, kind: type[_T]) -> _T | None:
    """zenctl's own pickled cache at `path` (in an owner-only folder, so trusted), or None
    when it is missing, unreadable, written by another version, or not a `kind`: the
    caller rebuilds it."""
    try:
        with path.open("rb") as handle:
            found = pickle.load(handle)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
        return None
    return found if isinstance(found, kind) else None


def write_atomic(path: Path, data: str | bytes, mode: int = 0o600) -> None:
    """Write `data` (text as UTF-8) to `path` through a temporary file beside it, renamed over
    it: a reader, or a crash, never sees half a file. The default `mode` keeps the file the
    owner's; 0o666 makes an ordinary one (the umask applies to both, as open() does). Not
    fsynced: a crash of the machine (not of zenctl) may lose the newest version, which every
    caller can write again, and a sync would cost more than a warm plan takes."""
    temporary = path.with_name(f"{TEMPORARY}{path.name}.{os.urandom(4).hex()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data.encode() if isinstance(data, str) else data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def write_output(path: Path, data: str | bytes, what: str, mode: int = 0o600) -> None:
    """`write_atomic` for a file the user named (a saved plan, a report, a state backup): a
    path that cannot hold it (a folder, a folder that does not exist, no permission) is their
    error to fix, named, not zenctl's crash."""
    from zenctl.diagnostics import UserError

    if path.is_dir():
        fix = f"{path} is a folder: give a file name in it"
    else:
        try:
            write_atomic(path, data, mode)
            return
        except OSError as exc:
            fix = f"{exc.strerror or exc}: create its folder, or give a path you may write to"
    raise UserError(f"Cannot write the {what} to {path}", f"{fix}.")


def local_file(uri: str) -> Path | None:
    """The file a `file://` URI names (a step's log in a local artifact store); None for a
    remote one (`gs://...`)."""
    from urllib.parse import urlparse
    from urllib.request import url2pathname

    parsed = urlparse(uri)
    return Path(url2pathname(parsed.path)) if parsed.scheme == "file" else None
