"""Describing the machine a benchmark ran on.

Timings without the hardware and versions next to them cannot be compared or reproduced, so the
description is printed first and copied into ``results.md``.
"""

from __future__ import annotations

import os
import platform
from datetime import datetime
from pathlib import Path


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown"


def ram_gib() -> float | None:
    """Physical memory in GiB, from sysconf (Linux, macOS) when the platform exposes it."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return None


def cores() -> str:
    """Usable cores (affinity-aware on Linux) and the total the OS reports."""
    total = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else total
    return f"{usable}" if usable == total else f"{usable} usable of {total}"


def load() -> str:
    """1/5/15-minute load averages: other work on the machine skews every timing."""
    try:
        return " / ".join(f"{value:.2f}" for value in os.getloadavg())
    except (OSError, AttributeError):
        return "unknown"


def describe(versions: dict[str, str]) -> list[tuple[str, str]]:
    """Key/value lines: date, CPU, cores, RAM, load, OS, Python, then each tool's version."""
    ram = ram_gib()
    lines = [
        ("Date", datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")),
        ("CPU", cpu_model()),
        ("Cores", cores()),
        ("RAM", f"{ram:.1f} GiB" if ram is not None else "unknown"),
        ("Load average at start", load()),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", platform.python_version()),
    ]
    return lines + [(name, version) for name, version in versions.items()]
