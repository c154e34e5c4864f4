"""The versions that must agree between this machine and the workers.

A worker with another zenctl runs the step runtime of another release (its code checks, its
artifact layout); another Python, or another Dask or cloudpickle, unpickles the task and runs
the step's code differently. Either would fail somewhere deep in a step, or worse, succeed
with other bytes: checked once when the apply connects, with each worker named. The versions
are the ones Dask itself reports (`Client.get_versions`), so a worker answers even when it
cannot import zenctl at all; Dask's own warning about them is silenced with its loggers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zenctl.sdk import UserError

# distributions compared, beside Python's major.minor: zenctl's, then those that unpickle tasks
PACKAGES = ("zenctl", "zenctl-dask", "dask", "distributed", "cloudpickle")


def compared(packages: Mapping[str, Any]) -> dict[str, str]:
    """What is compared, from one process's `packages` as `get_versions` reports them."""
    python = ".".join(str(packages.get("python") or "unknown").split(".")[:2])
    return {
        "Python": python,
        **{name: str(packages.get(name) or "(not installed)") for name in PACKAGES},
    }


def check_versions(
    here: Mapping[str, str], workers: Mapping[str, Mapping[str, str]], scheduler: str
) -> None:
    """Raise one error naming each worker whose versions differ from `here`'s."""
    differing = [
        f"worker {address} has {name} {theirs.get(name, '(no answer)')}, this machine {mine}"
        for address, theirs in sorted(workers.items())
        for name, mine in here.items()
        if theirs.get(name) != mine
    ]
    if differing:
        raise UserError(
            f"The Dask workers of {scheduler} run other versions than this machine",
            "; ".join(differing) + ". Install the same zenctl, Python and Dask on the workers "
            "(the same image or environment as this machine) and restart them.",
        )
