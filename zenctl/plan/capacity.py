"""What this machine offers the steps that ask for `resources`, and whether each step fits.

GPUs are the devices the parent's `CUDA_VISIBLE_DEVICES` names, by their ids as written
(`2,3`), up to the first invalid one as CUDA reads it (`-1`: none): zenctl hands each step
distinct ones from that pool. Unset, zenctl knows of no GPU
(it does not guess from `nvidia-smi`: a GPU another job uses is not free), and a step asking
for one is refused at plan. Memory is the machine's physical memory and cpus the cores this
process may run on; `ZENCTL_MEMORY` ("24GiB") and `ZENCTL_CPUS` ("6") declare less (a
machine shared with other work) or more.

A step asking more than the whole machine could never start: the plan refuses it rather than
letting apply wait for ever.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from zenctl.config.model import Config
from zenctl.diagnostics import Diagnostic, DiagnosticsError, UserError
from zenctl.plan.model import GPUS_ENV, Action, Capacity, StepPlan
from zenctl.sizes import format_size, parse_size

MEMORY_ENV = "ZENCTL_MEMORY"
CPUS_ENV = "ZENCTL_CPUS"


def machine_capacity(environ: Mapping[str, str]) -> Capacity:
    """This machine's capacity, as the environment declares or narrows it."""
    visible = environ.get(GPUS_ENV)
    gpus = None if visible is None else _devices(visible)
    if MEMORY_ENV in environ:
        memory: int | None = parse_size(environ[MEMORY_ENV], MEMORY_ENV)
    else:
        memory = _physical_memory()
    if CPUS_ENV in environ:
        try:
            cpus = float(environ[CPUS_ENV])
        except ValueError:
            cpus = 0.0
        if not cpus > 0:
            raise UserError(
                f"Invalid {CPUS_ENV} {environ[CPUS_ENV]!r}",
                "Give the number of CPU cores steps may use, such as 4 or 0.5.",
            )
    else:
        cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
        cpus = float(len(cores) if cores is not None else os.cpu_count() or 1)
    return Capacity(gpus, memory, cpus)


def _devices(visible: str) -> tuple[str, ...]:
    """The devices `CUDA_VISIBLE_DEVICES` names, as CUDA reads it: up to the first invalid
    id, so `-1` hides every device. One named twice would be given to two steps at once."""
    ids = [device.strip() for device in visible.split(",") if device.strip()]
    ids = ids[: next((i for i, device in enumerate(ids) if device.startswith("-")), len(ids))]
    twice = sorted({device for device in ids if ids.count(device) > 1})
    if twice:
        raise UserError(
            f"Invalid {GPUS_ENV} {visible!r}",
            f"It names device {twice[0]} more than once: zenctl would give it to two steps at "
            "once. Name each device once.",
        )
    return tuple(ids)


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not a POSIX system that says
        return None


def check_fits(
    steps: Iterable[StepPlan], capacity: Capacity, config: Config, environ: Mapping[str, str]
) -> None:
    """Refuse the plan when a step to run asks more than the whole machine has; `environ`
    says whether a figure was the machine's or declared."""
    problems = [
        Diagnostic(
            "error",
            "Step cannot fit on this machine",
            f"{step.address} {why}",
            config.pipelines[step.pipeline].steps[step.step].range,
        )
        for step in steps
        if step.action is Action.RUN and (why := _too_big(step.resources, capacity, environ))
    ]
    if problems:
        raise DiagnosticsError(problems)


def _too_big(
    asked: Mapping[str, int | float], capacity: Capacity, environ: Mapping[str, str]
) -> str | None:
    gpus = int(asked.get("gpus", 0))
    if gpus and capacity.gpus is None:
        return (
            f"asks for {gpus} GPU(s), but {GPUS_ENV} is unset, so zenctl knows of no GPU to "
            f"give it. Set {GPUS_ENV} to the devices steps may use (e.g. {GPUS_ENV}=0,1), or "
            "lower the step's gpus."
        )
    if capacity.gpus is not None and gpus > len(capacity.gpus):
        named = f"names {len(capacity.gpus)}" if capacity.gpus else "names no device"
        return (
            f"asks for {gpus} GPU(s), but {GPUS_ENV}={environ.get(GPUS_ENV, '')} {named}: "
            f"it could never start. Lower its gpus, or name more devices in {GPUS_ENV}."
        )
    memory = asked.get("memory")
    if memory and capacity.memory is None:
        return (
            f"asks for {format_size(int(memory))} of memory, but this machine does not say "
            f"how much it has. Declare it: {MEMORY_ENV}=16GiB."
        )
    if memory and capacity.memory is not None and memory > capacity.memory:
        return (
            f"asks for {format_size(int(memory))} of memory, but "
            f"{_offered(format_size(capacity.memory), MEMORY_ENV, environ)}: it "
            "could never start. Lower its memory."
        )
    cpus = asked.get("cpus")
    if cpus and cpus > capacity.cpus:
        return (
            f"asks for {cpus:g} CPUs, but "
            f"{_offered(f'{capacity.cpus:g} CPUs', CPUS_ENV, environ)}: it could never "
            "start. Lower its cpus."
        )
    return None


def _offered(amount: str, variable: str, environ: Mapping[str, str]) -> str:
    """Where the figure a step was measured against came from, and how to change it."""
    if variable in environ:
        return f"{variable}={environ[variable]} gives steps {amount}"
    return f"this machine has {amount} (set {variable} if steps may use more)"
