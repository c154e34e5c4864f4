"""The versions that must agree between this machine and the workers.

A worker with another zenctl runs the step runtime of another release (its code checks, its
artifact layout); another Python unpickles the task and runs the step's code differently.
Either would fail somewhere deep in a step, or worse, succeed with other bytes: checked once
when the apply connects, with the worker named.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from importlib import metadata

from zenctl.sdk import UserError


def versions() -> dict[str, str]:
    """zenctl's and Python's versions in this process (sent to run on each worker)."""
    try:
        zenctl = metadata.version("zenctl")
    except metadata.PackageNotFoundError:  # run from a source tree: no installed version
        zenctl = "not installed"
    return {"zenctl": zenctl, "Python": "{}.{}".format(*sys.version_info[:2])}


def check_versions(
    here: Mapping[str, str], workers: Mapping[str, Mapping[str, str]], scheduler: str
) -> None:
    """Raise one error naming each worker whose versions differ from `here`'s."""
    differing = [
        f"worker {address} has {name} {theirs.get(name, '(none)')}, this machine {mine}"
        for address, theirs in sorted(workers.items())
        for name, mine in here.items()
        if theirs.get(name) != mine
    ]
    if differing:
        raise UserError(
            f"The Dask workers of {scheduler} run other versions than this machine",
            "; ".join(differing) + ". Install the same zenctl and Python on the workers (the "
            "same image or environment as this machine) and restart them.",
        )
