"""Sizes as zenctl's settings take them (a step's `resources { memory = "8GiB" }`): a number
and a unit, binary (KiB, MiB, GiB, TiB: powers of 1024) or decimal (KB, MB, GB, TB), as
Kubernetes and Docker spell memory."""

from __future__ import annotations

import re

from zenctl.diagnostics import UserError

_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)")
_POWERS = {"K": 1, "M": 2, "G": 3, "T": 4}
SIZE_HINT = 'Write a size with its unit, such as "512MiB", "8GiB" or "2GB".'


def parse_size(text: str, what: str) -> int:
    """Bytes in `8GiB`, `512MiB`, `1.5GB` or `100B`; `what` names the setting in the error
    for anything else (a bare number is refused: bytes or GiB, a reader cannot tell)."""
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise UserError(f"Invalid {what} {text!r}", SIZE_HINT)
    number, unit = match.groups()
    base = 1024 if unit.endswith("iB") else 1000
    return int(float(number) * base ** _POWERS.get(unit[0], 0))


def format_size(size: int) -> str:
    """A size as a user would write it: `8GiB`, `1.5GiB`, `512MiB`, `100B`."""
    for unit, power in (("TiB", 4), ("GiB", 3), ("MiB", 2), ("KiB", 1)):
        if size >= 1024**power:
            return f"{size / 1024**power:.4g}{unit}"
    return f"{size}B"
