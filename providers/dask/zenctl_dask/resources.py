"""A step's `resources` block as Dask worker resources.

Dask schedules a task that asks for resources only on a worker started with at least as much
of each (`dask worker --resources "GPU=1 memory=34359738368"`): zenctl asks in those names.
A task no worker can take would wait for ever, so a step is refused first when none of the
workers connected declares enough.
"""

from __future__ import annotations

from collections.abc import Mapping

# the step's resources block -> the name a worker declares with --resources
NAMES = {"gpus": "GPU", "memory": "memory", "cpus": "CPU"}


def dask_resources(asked: Mapping[str, float]) -> dict[str, float]:
    """`{"gpus": 1, "memory": 8 GiB}` -> `{"GPU": 1, "memory": 8589934592}`; what a step does
    not ask for (0 or absent) is not asked of the worker either."""
    return {NAMES[kind]: amount for kind, amount in asked.items() if amount}


def unmet(needed: Mapping[str, float], workers: Mapping[str, Mapping[str, float]]) -> str | None:
    """Why no worker can run a task asking `needed`, or None when one can."""
    if not needed or any(
        all(declared.get(name, 0) >= amount for name, amount in needed.items())
        for declared in workers.values()
    ):
        return None
    asked = _listed(needed)
    declared = "; ".join(
        f"{address}: {_listed(res) or 'none'}" for address, res in sorted(workers.items())
    )
    return (
        f"no worker of the Dask cluster has the resources it asks for ({asked}); the workers "
        f"declare: {declared or 'no workers'}. Start workers with `dask worker SCHEDULER "
        f'--resources "{asked}"` (a local cluster: `worker_resources` in the orchestrator '
        "block), or lower the step's resources block"
    )


def _listed(resources: Mapping[str, float]) -> str:
    """As `--resources` takes them: "GPU=1 memory=8589934592" (bytes in full, not 8.6e+09)."""
    return " ".join(
        f"{name}={int(amount) if amount == int(amount) else amount}"
        for name, amount in sorted(resources.items())
    )
