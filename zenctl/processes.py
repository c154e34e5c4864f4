"""Processes on this host, as zenctl checks on the ones it started or that hold its locks."""

from __future__ import annotations

import os
from pathlib import Path


def pid_alive(pid: int) -> bool:
    """Whether process `pid` still runs here: not gone, and not a zombie (exited, waiting for
    its parent to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # gone, or no /proc (not Linux): ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # someone else's process: alive
            return True
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
