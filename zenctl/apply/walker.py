"""Walk the plan's steps: run what the plan says must run, in dependency order, and record it.

A step runs the plan's components (run, params, inputs, outputs), not the configuration's:
params are evaluated again only to reveal secrets, and must redact to the planned ones. A step
whose inputs or params are not what the plan said fails, named, before it runs; so does one
whose code changed since the plan, checked where it runs (zenctl/apply/task.py). Every
secret the step could print goes with it, to be masked in its log and error.
Each finished step is committed to the metadata store before its dependents start, so an
interrupted apply loses only the steps in flight. A failed step stops its dependents;
independent branches go on. A step asking for `resources` waits for them (slots.py).

One module on purpose, over 400 lines: the walk is one loop, and its helpers share its state
(what ran, what is blocked, what is in flight and what it holds).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from zenctl.apply.masking import Masker, secret_texts
from zenctl.apply.outcome import outcome
from zenctl.apply.slots import Grant, Slots
from zenctl.config.model import Config
from zenctl.config.variables import reveal, step_params
from zenctl.fingerprint.canonical import canonical_json
from zenctl.fingerprint.files import StatCache, data_cache_file
from zenctl.fingerprint.step import changed_dep, fingerprint, same_work
from zenctl.plan.model import Action, Plan, ReasonKind, StepPlan, resource_counts
from zenctl.providers.protocol import (
    ArtifactStore,
    Integrity,
    StepExecutor,
    StepInput,
    StepResult,
    StepTask,
)
from zenctl.state.records import Execution
from zenctl.state.store import StateStore

if TYPE_CHECKING:
    from zenctl.apply.resources import ResourceOutcome


class Reporter(Protocol):
    """What the walker tells the user as it goes; rendering lives at the edge."""

    def started(self, step: StepPlan, note: str = "") -> None: ...  # note: "on GPU 3"
    def reused(self, step: StepPlan, note: str) -> None: ...
    def succeeded(self, step: StepPlan, result: StepResult) -> None: ...
    def failed(self, step: StepPlan, error: str, log_path: str) -> None: ...
    def skipped(self, step: StepPlan, because: str) -> None: ...


@dataclass(frozen=True, slots=True)
class StackRuntime:
    """The live components of one stack for the duration of an apply."""

    artifact_store: ArtifactStore
    artifact_store_spec: tuple[str, dict[str, Any]]
    executors: dict[str, StepExecutor]  # component kind ("orchestrator", "training"...) -> it

    def executor(self, on: str | None) -> StepExecutor:
        """Where a step runs: the component it names with `on`, else the orchestrator."""
        return self.executors[on or "orchestrator"]


@dataclass
class ApplyResult:
    run_id: str
    ran: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # address, error, log
    skipped: list[str] = field(default_factory=list)
    interrupted: list[str] = field(default_factory=list)
    stopped_by_user: bool = False
    removed: list[str] = field(default_factory=list)
    outputs: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # by address
    resources: list[ResourceOutcome] = field(default_factory=list)

    @property
    def resource_failures(self) -> list[ResourceOutcome]:
        return [outcome for outcome in self.resources if outcome.error]

    @property
    def resource_counts(self) -> tuple[int, int, int]:
        """(added, changed, destroyed), as the plan counts them."""
        return resource_counts(outcome.action for outcome in self.resources if not outcome.error)

    @property
    def status(self) -> str:
        if self.stopped_by_user:
            return "interrupted"
        return "failed" if self.failed or self.resource_failures else "succeeded"

    def summary(self, planned_cached: int) -> dict[str, int]:
        """Counts recorded with the run; `cached` includes steps the plan already knew."""
        return {
            "ran": len(self.ran),
            "cached": planned_cached + len(self.reused),
            "failed": len(self.failed),
            "skipped": len(self.skipped),
            "interrupted": len(self.interrupted),
            "removed": len(self.removed),
            **dict(zip(("added", "changed", "destroyed"), self.resource_counts, strict=True)),
        }


@dataclass
class _InFlight:
    step: StepPlan
    execution_id: str
    log_path: str
    inputs: dict[str, dict[str, Any]]  # name -> {ref, hash}: the lineage edges in
    secrets: tuple[str, ...]  # masked in its error, whoever made it (the executor too)
    grant: Grant  # what of the machine it holds until it ends
    submitted: float = field(default_factory=time.perf_counter)  # handed to its executor


class StepDiverged(Exception):
    """The step is not what the plan said it would be: it must not run."""


class Walker:
    def __init__(
        self,
        plan: Plan,
        config: Config,
        variables: dict[str, Any],
        redact: Callable[[Any], Any],
        store: StateStore,
        runtimes: dict[str, StackRuntime],
        reporter: Reporter,
        secrets: set[str],
    ) -> None:
        self.plan = plan
        self.config = config
        self.variables = variables
        self.redact = redact  # params as the plan recorded them: secrets as keyed hashes
        self.store = store
        self.runtimes = runtimes
        self.reporter = reporter
        self.secrets = secrets  # sensitive variables' and the metadata store's password
        self._open: dict[str, _InFlight] = {}  # recorded as running, not yet ended
        self._data_cache: StatCache | None = None  # the plan's, read once a dep is checked
        self.root = Path(config.root)
        self._slots = Slots(plan.capacity, plan.placed_elsewhere)

    def run(self, result: ApplyResult, steps: tuple[StepPlan, ...]) -> None:
        """Run `steps` (the plan's, in execution order), recording each and noting it in
        `result`; Ctrl-C stops them and sets `result.stopped_by_user`."""
        pending = {step.address: step for step in steps}
        outputs: dict[str, dict[str, dict[str, Any]]] = {}
        blocked: dict[str, str] = {}  # address -> the failed step that blocks it
        in_flight: dict[Future[StepResult], _InFlight] = {}
        settle_plan(self.store, self.plan, result.run_id)
        try:
            while pending or in_flight:
                for address, step in list(pending.items()):
                    failed_parent = next((p for p in step.depends_on if p in blocked), None)
                    if failed_parent is not None:
                        del pending[address]
                        blocked[address] = blocked[failed_parent]
                        self._skip(result, step, blocked[failed_parent])
                    elif all(parent in outputs for parent in step.depends_on):
                        grant = self._slots.take(step)
                        if grant is None:  # until a step in flight gives back what it needs
                            continue
                        del pending[address]
                        try:
                            started = self._start(result, step, outputs, grant)
                        except StepDiverged as exc:
                            self._slots.give_back(grant)
                            blocked[address] = address
                            self._refuse(result, step, str(exc))
                            continue
                        if isinstance(started, tuple):
                            in_flight[started[0]] = started[1]
                        else:
                            self._slots.give_back(grant)
                if not in_flight:
                    continue
                finished, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
                for future in finished:
                    job = in_flight.pop(future)
                    del self._open[job.execution_id]
                    self._slots.give_back(job.grant)
                    step_result = outcome(future, job.step.address, job.submitted)
                    recorded = {**job.grant.details(), **step_result.details}
                    if step_result.ok:
                        self.store.finish_step(
                            job.execution_id,
                            job.inputs,
                            step_result.outputs,
                            step_result.duration,
                            recorded,
                            step_result.metrics,
                        )
                        outputs[job.step.address] = step_result.outputs
                        result.ran.append(job.step.address)
                        self.reporter.succeeded(job.step, step_result)
                    else:
                        error = Masker(job.secrets).mask_text(step_result.error)
                        self.store.end_step(
                            job.execution_id, "failed", error, step_result.duration, recorded
                        )
                        blocked[job.step.address] = job.step.address
                        result.failed.append((job.step.address, error, job.log_path))
                        self.reporter.failed(job.step, error, job.log_path)
                for executor in self._executors():
                    executor.refill()
        except KeyboardInterrupt:
            result.stopped_by_user = True
            for executor in self._executors():
                executor.shutdown(cancel=True)
            # A step that stopped on shutdown still tells where it ran (a cancelled remote job).
            details = {
                job.execution_id: outcome(future, job.step.address, job.submitted).details
                for future, job in in_flight.items()
                if future.done()
            }
            for job in self._open.values():
                self.store.end_step(
                    job.execution_id,
                    "interrupted",
                    "interrupted by the user (Ctrl-C)",
                    None,
                    {**job.grant.details(), **details.get(job.execution_id, {})},
                )
                result.interrupted.append(job.step.address)
            return
        result.outputs = outputs

    def remove(self, result: ApplyResult, steps: tuple[StepPlan, ...]) -> None:
        """Record `steps`, no longer declared, as removed."""
        removed = [step.address for step in steps]
        self.store.mark(
            result.run_id, self.plan.workspace, removed, "removed", "no longer declared"
        )
        result.removed.extend(removed)

    def _executors(self) -> list[StepExecutor]:
        return [e for runtime in self.runtimes.values() for e in runtime.executors.values()]

    def _start(
        self,
        result: ApplyResult,
        step: StepPlan,
        outputs: dict[str, dict[str, dict[str, Any]]],
        grant: Grant,
    ) -> tuple[Future[StepResult], _InFlight] | None:
        if step.action is Action.CACHED:
            outputs[step.address] = step.cached_outputs
            return None
        components = self._resolved_components(step, outputs)
        key = fingerprint(components)
        replace = any(reason.kind is ReasonKind.REPLACE for reason in step.reasons)
        if step.fingerprint is None and not replace:
            # The plan could not know this step's inputs; now that they are known, an earlier
            # execution may match (an upstream re-ran and reproduced the same bytes).
            earlier = self._earlier(step, components, key)
            if earlier is not None:
                self.store.settle(
                    self.plan.workspace, {step.address: earlier.id}, run_id=result.run_id
                )
                outputs[step.address] = earlier.outputs
                result.reused.append(step.address)
                self.reporter.reused(step, "inputs unchanged after upstream re-run")
                return None
        pipeline = self.config.pipelines[step.pipeline]
        config_step = pipeline.steps[step.step]
        evaluated = step_params(config_step, self.variables)
        params = self._params(step, evaluated)
        self._check_deps(components)
        # a param made from a secret ("Bearer ${var.token}") is one more text to mask
        secrets = tuple(sorted(self.secrets | secret_texts(evaluated)))
        inputs = self._inputs(step, components, outputs)
        runtime = self.runtimes[pipeline.stack]
        log_path, log_uri = runtime.artifact_store.log_path(result.run_id, step.address)
        execution_id = self.store.start_step(
            result.run_id, self.plan.workspace, step.address, components, key, log_uri
        )
        job = _InFlight(step, execution_id, str(log_path), components["inputs"], secrets, grant)
        self._open[execution_id] = job
        task = StepTask(
            address=step.address,
            run=components["run"],
            code=components["code"],
            root=self.config.root,
            params=params,
            inputs=inputs,
            outputs=tuple(components["outputs"]),
            artifact_store=runtime.artifact_store_spec,
            log_path=str(log_path),
            secrets=secrets,
            metrics=tuple(components.get("metrics", ())),
            environment=grant.environment(),
            resources=dict(step.resources),
            materializers=dict(components.get("materializers", {})),
        )
        self.reporter.started(step, grant.note())
        return runtime.executor(config_step.on).submit(task), job

    def _params(self, step: StepPlan, evaluated: dict[str, Any]) -> dict[str, Any]:
        """The params to pass, secrets revealed, once they are shown to be the planned ones."""
        planned, now = step.components["params"], self.redact(evaluated)
        if canonical_json(now) != canonical_json(planned):
            raise StepDiverged(
                f"its params are {canonical_json(now)}, the plan had {canonical_json(planned)}"
            )
        revealed: dict[str, Any] = reveal(evaluated)
        return revealed

    def _check_deps(self, components: dict[str, Any]) -> None:
        """The files in `deps` must still be the planned ones when the step starts (edited
        during a long apply, or after a saved plan): the step reads them from the working
        tree, and its record would claim the planned bytes."""
        if components.get("deps"):
            self._data_cache = self._data_cache or StatCache(data_cache_file(self.root))
            changed = changed_dep(self.root, components["deps"], self._data_cache)
            if changed:
                raise StepDiverged(f"its dep {changed}")

    def _inputs(
        self,
        step: StepPlan,
        components: dict[str, Any],
        outputs: dict[str, dict[str, dict[str, Any]]],
    ) -> dict[str, StepInput]:
        """The planned inputs: sources checked against their hash when read, artifacts the
        ones produced or reused in this apply, which must be the planned ones."""
        inputs: dict[str, StepInput] = {}
        for name, entry in components["inputs"].items():
            if entry["ref"].startswith("source."):
                inputs[name] = StepInput("source", entry["hash"], path=entry["path"])
                continue
            _, parent, _, output = entry["ref"].split(".")
            produced = outputs[f"pipeline.{step.pipeline}.step.{parent}"][output]
            if produced["hash"] != entry["hash"]:
                raise StepDiverged(
                    f"its input {name} would be {produced['hash']}, the plan had {entry['hash']}"
                )
            inputs[name] = StepInput("artifact", produced["hash"], produced["materializer"])
        return inputs

    def _refuse(self, result: ApplyResult, step: StepPlan, why: str) -> None:
        error = f"not run: it is not the planned step ({why})"
        self.store.mark(result.run_id, self.plan.workspace, [step.address], "failed", error)
        result.failed.append((step.address, error, ""))
        self.reporter.failed(step, error, "")

    def _earlier(self, step: StepPlan, components: dict[str, Any], key: str) -> Execution | None:
        """What the plan would reuse had it known the inputs, outputs intact: the step's current
        state when it did the same work (its inputs maybe made by a renamed step), else any
        execution with this fingerprint."""
        current = self.store.current(self.plan.workspace, step.address)
        if (
            current is not None
            and current.status == "succeeded"
            and same_work(current.fingerprint, current.components, key, components)
            and self._intact(step, current.outputs)
        ):
            return current
        found = self.store.by_fingerprint(self.plan.workspace, [key]).get(key)
        return found if found is not None and self._intact(step, found.outputs) else None

    def _intact(self, step: StepPlan, produced: dict[str, dict[str, Any]]) -> bool:
        """Whether an earlier execution's outputs can be reused: all present and intact."""
        store = self.runtimes[self.config.pipelines[step.pipeline].stack].artifact_store
        found = store.check({item["hash"]: int(item["size"]) for item in produced.values()})
        return all(state is Integrity.OK for state in found.values())

    def _resolved_components(
        self, step: StepPlan, outputs: dict[str, dict[str, dict[str, Any]]]
    ) -> dict[str, Any]:
        components = copy.deepcopy(step.components)
        pipeline = self.config.pipelines[step.pipeline]
        for entry in components["inputs"].values():
            if entry["hash"] is None:
                _, parent, _, output = entry["ref"].split(".")
                entry["hash"] = outputs[pipeline.address(parent)][output]["hash"]
        return components

    def _skip(self, result: ApplyResult, step: StepPlan, because: str) -> None:
        if step.action is Action.CACHED:
            return
        self.store.mark(
            result.run_id, self.plan.workspace, [step.address], "skipped", f"{because} failed"
        )
        result.skipped.append(step.address)
        self.reporter.skipped(step, because)


def settle_plan(store: StateStore, plan: Plan, run_id: str | None = None) -> None:
    """Record the plan's moves, and that what it reuses is in place from now on, wherever in
    history it came from (as the run's doing, when in one). An apply with nothing to run
    records them too (a param set back to an earlier value, a renamed step), in no run."""
    store.settle(
        plan.workspace,
        {step.address: step.cached_from for step in plan.cached if step.cached_from},
        {step.address: step.moved_from for step in plan.steps if step.moved_from},
        run_id,
    )
