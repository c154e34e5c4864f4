"""The machine's capacity as the steps in flight hold it: a step asking for `resources`
starts only once they are free, and gets distinct GPUs, given back when it ends however it
ends (succeeded, failed, lost, refused before it ran).

GPUs are handed out by their ids in the parent's CUDA_VISIBLE_DEVICES (`2,3`): the second
step to ask for one gets "3", which becomes its own CUDA_VISIBLE_DEVICES.
"""

from __future__ import annotations

from dataclasses import dataclass

from zenctl.plan.model import GPUS_ENV, Action, Capacity, StepPlan


@dataclass(frozen=True, slots=True)
class Grant:
    """What one running step holds."""

    gpus: tuple[str, ...] | None = None  # its devices; None: it asked for no GPU setting
    memory: int = 0
    cpus: float = 0.0

    def environment(self) -> dict[str, str]:
        """What the step runs with: only its own devices visible (none for gpus = 0)."""
        return {} if self.gpus is None else {GPUS_ENV: ",".join(self.gpus)}

    def note(self) -> str:
        """Where it runs, for the progress line: `on GPU 3`, `on GPUs 2,3`; "" for none."""
        if not self.gpus:
            return ""
        return f"on GPU{'s' if len(self.gpus) > 1 else ''} {','.join(self.gpus)}"

    def details(self) -> dict[str, str]:
        """What its execution records, for `zenctl show`: `{"gpus": "3"}`."""
        return {} if not self.gpus else {"gpus": ",".join(self.gpus)}


NOTHING = Grant()


class Slots:
    """The capacity free now; `capacity` None: no step asks for any (all fit)."""

    def __init__(self, capacity: Capacity | None, placed_elsewhere: frozenset[str]) -> None:
        self._capacity = capacity
        self._placed_elsewhere = placed_elsewhere  # a cluster's scheduler holds their resources
        self._free_gpus = list(capacity.gpus or ()) if capacity else []
        self._memory = 0  # held by the steps in flight
        self._cpus = 0.0

    def take(self, step: StepPlan) -> Grant | None:
        """Hold what a step to run asks for and give it its devices; None: not free now (a
        step in flight holds some: it waits for one to end). The plan refused a step asking
        more than the whole machine (zenctl/plan/capacity.py)."""
        asked = step.resources
        if (
            not asked
            or step.action is not Action.RUN
            or self._capacity is None
            or step.address in self._placed_elsewhere
        ):
            return NOTHING
        gpus = int(asked.get("gpus", 0))
        memory = int(asked.get("memory", 0))
        cpus = float(asked.get("cpus", 0.0))
        total_memory = self._capacity.memory or 0
        if (
            gpus > len(self._free_gpus)
            or (memory and self._memory + memory > total_memory)
            or (cpus and self._cpus + cpus > self._capacity.cpus + 1e-9)  # 0.1 + 0.2 fit 0.3
        ):
            return None
        devices = tuple(self._free_gpus[:gpus]) if "gpus" in asked else None
        del self._free_gpus[:gpus]
        self._memory += memory
        self._cpus += cpus
        return Grant(devices, memory, cpus)

    def give_back(self, grant: Grant) -> None:
        if self._capacity is None:
            return
        order = list(self._capacity.gpus or ())
        self._free_gpus = sorted([*self._free_gpus, *(grant.gpus or ())], key=order.index)
        self._memory -= grant.memory
        self._cpus -= grant.cpus
