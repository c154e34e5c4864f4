"""Installing the peer tools (DVC, ZenML) into private venvs under ``bench/.venvs``.

Peers live in their own venvs so that their dependencies can never change what zenctl imports,
and so that a missing or broken peer costs one table cell, not the benchmark.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from measure import Command, CommandFailed, run_command

DVC_SPEC = "dvc==3.67.*"
ZENML_SPEC = "zenml[local]==0.98.*"
INSTALL_TIMEOUT = 1800.0


@dataclass(frozen=True)
class Peer:
    """A peer tool's venv and the console script whose presence means "installed"."""

    name: str
    venv: Path
    script: str
    spec: str

    @property
    def bin_dir(self) -> Path:
        """The venv's bin folder: holds the peer's console script and its ``python``."""
        return self.venv / "bin"

    @property
    def installed(self) -> bool:
        """True when the console script exists; we never pip-install over a working venv."""
        return (self.bin_dir / self.script).exists()


def dvc_peer(venvs: Path) -> Peer:
    """DVC, pinned to the 3.67 series the published figures were taken with."""
    return Peer("DVC", venvs / "dvc", "dvc", DVC_SPEC)


def zenml_peer(venvs: Path) -> Peer:
    """ZenML with its local extras (SQLite store), pinned to 0.98."""
    return Peer("ZenML", venvs / "zenml", "zenml", ZENML_SPEC)


def install(peer: Peer) -> None:
    """Create the venv with this interpreter's Python and pip-install the pinned spec.

    Raises :class:`CommandFailed` with pip's last line, which the caller turns into a
    "failed: …" cell instead of stopping the benchmark.
    """
    cwd = peer.venv.parent
    cwd.mkdir(parents=True, exist_ok=True)
    run_command(Command((sys.executable, "-m", "venv", str(peer.venv)), cwd, {}, 300.0))
    pip = (str(peer.bin_dir / "python"), "-m", "pip", "install", "-q", peer.spec)
    run_command(Command(pip, cwd, {}, INSTALL_TIMEOUT))
    if not peer.installed:
        raise CommandFailed(Command(pip, cwd), f"{peer.script} missing after pip install")
