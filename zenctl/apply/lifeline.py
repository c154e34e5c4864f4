"""A process that zenctl starts to run steps dies with zenctl, however zenctl ends.

A worker left behind by a killed zenctl (SIGKILL, the OOM killer) would run its step on unseen,
and a re-apply would run the same step a second time at once.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_WATCH_PARENT_S = 0.5  # how often a process without prctl checks that zenctl still runs


def die_with_parent(zenctl: int) -> None:
    """Have the kernel kill this process when its parent ends (Linux); elsewhere, watch it.

    The parent is zenctl (pid `zenctl`), or the fork server zenctl started, which ends as
    soon as zenctl does (multiprocessing's fork server leaves when zenctl's end of its pipe
    closes). Linux sends the signal when the thread that started this process ends: zenctl's
    thread that submits steps, or the fork server's only one; both live as long as zenctl.
    """
    parent = os.getppid()
    if sys.platform == "linux":
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
            parent = os.getppid()
            if zenctl not in (parent, _parent_of(parent)):  # gone before the request took effect
                os._exit(1)
            return
    threading.Thread(target=watch_parent, args=(parent,), name="zenctl-parent", daemon=True).start()


def _parent_of(pid: int) -> int | None:
    """The parent of process `pid`, from Linux's /proc (None: gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            # after the command name in parentheses (which may hold any character): state, ppid
            return int(stat.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def watch_parent(parent: int) -> None:
    """End this process once `parent` is gone: it is then re-parented to another process."""
    while os.getppid() == parent:
        time.sleep(_WATCH_PARENT_S)
    os._exit(1)
