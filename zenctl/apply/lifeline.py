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


def die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when zenctl (`parent`) ends (Linux); elsewhere, watch.

    Linux sends the signal when the thread that started this process ends: zenctl's thread
    that submits steps, which lives as long as zenctl.
    """
    if sys.platform == "linux":
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
            if os.getppid() != parent:  # zenctl died before the request took effect
                os._exit(1)
            return
    threading.Thread(target=watch_parent, args=(parent,), name="zenctl-parent", daemon=True).start()


def watch_parent(parent: int) -> None:
    """End this process once `parent` is gone: it is then re-parented to another process."""
    while os.getppid() == parent:
        time.sleep(_WATCH_PARENT_S)
    os._exit(1)
