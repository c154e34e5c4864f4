"""Durations as zenctl's options and settings take them (`--lock-timeout 5m`, a training
step's `timeout = "1h30m"`): Go's spelling, as Terraform reads it."""

from __future__ import annotations

import re

from zenctl.diagnostics import UserError

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str, what: str) -> float:
    """Seconds in `30s`, `5m`, `1m30s`, `250ms` or a bare number of seconds; `what` names
    the option or setting in the error for anything else."""
    text = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = _PART.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise UserError(f"Invalid {what} {text!r}", "Write a duration such as 30s, 5m or 1m30s.")
    return sum(float(number) * _UNITS[unit] for number, unit in parts)


def clock(seconds: float) -> str:
    """Elapsed time as a heartbeat line and `zenctl runs` print it: `45s`, `2m30s`, `1h05m`."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
