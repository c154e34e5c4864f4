"""Decide, for every step, whether it is cached or must run, and why.

State is read with a fixed number of queries whatever the number of steps: one snapshot of
each address's current state (what the last apply left in place), then one batched lookup of
the fingerprints that do not match it (a param set back to an earlier value reuses that
earlier execution). Only when such a reuse changes downstream fingerprints is one more
batched lookup made.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from zenctl.config.model import Config, Expression, Pipeline, Ref, Step, written_as
from zenctl.config.resources import step_resources
from zenctl.config.variables import step_params
from zenctl.diagnostics import Diagnostic, DiagnosticsError
from zenctl.fingerprint.step import (
    FINGERPRINT_VERSION,
    Components,
    Fingerprinter,
    fingerprint,
    is_known,
    older_version,
    same_work,
)
from zenctl.graph import StepGraph, build_graph
from zenctl.plan.diff import component_changes
from zenctl.plan.model import Action, Change, Digest, Plan, Reason, ReasonKind, StepPlan
from zenctl.plan.targeting import selected_steps
from zenctl.providers.protocol import Integrity
from zenctl.state.records import EMPTY_LINEAGE, Execution, StateSnapshot
from zenctl.state.store import StateStore

_MAX_LOOKUP_ROUNDS = 8

# (stack name, {digest: recorded size}) -> the state of each object in that stack's store
ArtifactChecker = Callable[[str, Mapping[str, int]], dict[str, Integrity]]
_DAMAGE = {
    Integrity.MISSING: ReasonKind.ARTIFACT_MISSING,
    Integrity.CORRUPT: ReasonKind.ARTIFACT_CORRUPT,
}


@dataclass(frozen=True, slots=True)
class PlanInputs:
    config: Config
    variables: Mapping[str, Any]
    workspace: str
    targets: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()
    # stack resources and recorded ones, which --target and --exclude may name too
    resources: frozenset[str] = frozenset()
    excludes: tuple[str, ...] = ()


def make_plan(
    inputs: PlanInputs,
    fingerprinter: Fingerprinter,
    store: StateStore | None,
    artifacts: ArtifactChecker | None = None,
) -> Plan:
    """`artifacts` checks that the outputs a cached step would reuse are still there, intact."""
    config = inputs.config
    graphs = [build_graph(config.pipelines[name]) for name in sorted(config.pipelines)]
    selected = selected_steps(
        graphs, inputs.targets, inputs.replace, inputs.resources, inputs.excludes
    )
    if selected is not None:
        graphs = [g for g in graphs if g.pipeline.name in selected]
    _check_runnable(graphs, fingerprinter)
    snapshot = (
        store.snapshot(inputs.workspace) if store else StateSnapshot(EMPTY_LINEAGE, 0, {}, {})
    )
    renames = config.moved_to()
    moves = _Moves(renames, _moved_state(renames, snapshot))
    integrity: dict[str, Integrity] = {}
    _check_outputs(artifacts, config, snapshot.settled.values(), integrity)
    hits: dict[str, Execution] = {}
    looked_up: set[str] = set()
    for _ in range(_MAX_LOOKUP_ROUNDS):
        steps = [
            step
            for graph in graphs
            for step in _plan_pipeline(
                graph,
                inputs,
                fingerprinter,
                snapshot,
                hits,
                integrity,
                selected[graph.pipeline.name] if selected is not None else set(graph.order),
                moves,
            )
        ]
        pending = {
            step.fingerprint
            for step in steps
            if step.action is Action.RUN and step.fingerprint and step.fingerprint not in looked_up
        }
        if not pending or store is None:
            break
        looked_up |= pending
        found = store.by_fingerprint(inputs.workspace, pending)
        if not found:
            break
        _check_outputs(artifacts, config, found.values(), integrity)
        hits.update(found)
    declared = {step.address for step in steps}
    removed = tuple(
        StepPlan(
            address,
            address.split(".")[1],
            address.split(".")[-1],
            Action.REMOVE,
            (Reason(ReasonKind.REMOVED),),
            (),
            {},
            None,
            (),
        )
        for address, execution in sorted(snapshot.settled.items())
        if execution.status == "succeeded"
        and address not in declared
        and address not in moves.inherited.values()
        and selected is None
    )
    return Plan(
        inputs.workspace,
        snapshot.lineage,
        snapshot.serial,
        tuple(steps),
        removed,
        {pipeline.name: pipeline.stack for pipeline in config.pipelines.values()},
        targets=inputs.targets,
        replace=inputs.replace,
        excludes=inputs.excludes,
    )


@dataclass(frozen=True, slots=True)
class _Moves:
    renames: dict[str, str]  # every old address in a moved block -> the declared step it is
    inherited: dict[str, str]  # declared address -> the old one whose state it takes over


def _moved_state(renames: dict[str, str], snapshot: StateSnapshot) -> dict[str, str]:
    """Declared address -> the old address whose current state it takes over (a `moved`
    block not applied yet): only where the new address has no state of its own."""
    inherited: dict[str, str] = {}
    for old, new in renames.items():
        here, there = snapshot.settled.get(new), snapshot.settled.get(old)
        if (here is None or here.status != "succeeded") and there and there.status == "succeeded":
            inherited.setdefault(new, old)
    return inherited


def _renamed_refs(
    components: Components, pipeline: Pipeline, moves: Mapping[str, str]
) -> Components:
    """Recorded components with each input read from a step since moved (within the pipeline)
    named as it is now: a diff then shows no change where only the producer's address moved."""
    inputs: dict[str, Any] = {}
    for name, entry in components.get("inputs", {}).items():
        parts = entry["ref"].split(".")
        target = moves.get(pipeline.address(parts[1])) if parts[0] == "step" else None
        if target is not None and target.startswith(pipeline.address("")):
            parts[1] = target.split(".")[-1]
            entry = {**entry, "ref": ".".join(parts)}
        inputs[name] = entry
    return {**components, "inputs": inputs}


def _check_outputs(
    artifacts: ArtifactChecker | None,
    config: Config,
    executions: Iterable[Execution],
    integrity: dict[str, Integrity],
) -> None:
    """Check, one batch per stack, the outputs not checked yet of executions a plan may reuse."""
    if artifacts is None:
        return
    wanted: dict[str, dict[str, int]] = {}
    for execution in executions:
        pipeline = config.pipelines.get(execution.address.split(".")[1])
        if pipeline is None or execution.status != "succeeded":
            continue
        for item in execution.outputs.values():
            if item["hash"] not in integrity:
                wanted.setdefault(pipeline.stack, {})[item["hash"]] = int(item["size"])
    for stack, expected in sorted(wanted.items()):
        integrity.update(artifacts(stack, expected))


def _damage(execution: Execution, integrity: dict[str, Integrity]) -> list[Reason]:
    """Why an execution's outputs cannot be reused: one reason per kind of damage."""
    damaged: dict[ReasonKind, list[tuple[str, Digest]]] = {}
    for name, item in sorted(execution.outputs.items()):
        state = integrity.get(item["hash"], Integrity.OK)
        if state is not Integrity.OK:
            damaged.setdefault(_DAMAGE[state], []).append((name, Digest(item["hash"])))
    return [Reason(kind, outputs=tuple(damaged[kind])) for kind in ReasonKind if kind in damaged]


def _check_runnable(graphs: list[StepGraph], fingerprinter: Fingerprinter) -> None:
    from zenctl.config.signatures import StepChecker

    code = StepChecker(fingerprinter.root)
    problems: list[Diagnostic] = []
    for graph in graphs:
        for name in graph.order:
            step = graph.pipeline.steps[name]
            problems += code.check(graph.pipeline, step)
            problem = fingerprinter.check(graph.pipeline, step)
            if problem is not None:
                problems.append(problem)
    if problems:
        raise DiagnosticsError(problems)


def _plan_pipeline(
    graph: StepGraph,
    inputs: PlanInputs,
    fingerprinter: Fingerprinter,
    snapshot: StateSnapshot,
    hits: dict[str, Execution],
    integrity: dict[str, Integrity],
    only: set[str],
    moves: _Moves,
) -> list[StepPlan]:
    pipeline = graph.pipeline
    planned: dict[str, StepPlan] = {}
    order = [name for name in graph.order if name in only]
    for name in order:
        step = pipeline.steps[name]
        upstream = _upstream_hashes(pipeline, step, planned)
        params = step_params(step, inputs.variables)
        components = fingerprinter.components(pipeline, step, params, upstream)
        replace = pipeline.address(name) in inputs.replace
        asked = step_resources(step, inputs.variables).asked()
        planned[name] = _decide(
            pipeline, step, graph, components, snapshot, hits, integrity, replace, moves, asked
        )
    return [planned[name] for name in order]


def _upstream_hashes(
    pipeline: Pipeline, step: Step, planned: dict[str, StepPlan]
) -> dict[str, str | None]:
    hashes: dict[str, str | None] = {}
    for ref in step.inputs.values():
        if ref.kind == "step":
            parent = planned[ref.parts[1]]
            output = (
                parent.cached_outputs.get(ref.parts[3]) if parent.action is Action.CACHED else None
            )
            hashes[str(ref)] = output["hash"] if output else None
    return hashes


def _decide(
    pipeline: Pipeline,
    step: Step,
    graph: StepGraph,
    components: Components,
    snapshot: StateSnapshot,
    hits: dict[str, Execution],
    integrity: dict[str, Integrity],
    replace: bool,
    moves: _Moves,
    asked: dict[str, int | float],
) -> StepPlan:
    address = pipeline.address(step.name)
    depends_on = tuple(pipeline.address(parent) for parent in graph.upstream[step.name])
    known = is_known(components)
    key = fingerprint(components) if known else None
    moved_from = moves.inherited.get(address)
    baseline = snapshot.settled.get(moved_from or address)
    if baseline is not None and baseline.status != "succeeded":
        baseline = None
    before = _renamed_refs(baseline.components, pipeline, moves.renames) if baseline else None
    reuse = None
    damaged: list[Reason] = []  # why a matching execution could not be reused
    # the same work as the current state: the same fingerprint, or inputs with the same bytes
    # that only another step's address produced (a renamed upstream step)
    matches = (
        key is not None
        and baseline is not None
        and same_work(baseline.fingerprint, baseline.components, key, components)
    )
    if key is not None and not replace:
        for candidate in (baseline if matches else None, hits.get(key)):
            if candidate is None:
                continue
            problems = _damage(candidate, integrity)
            if not problems:
                reuse = candidate
                break
            damaged = damaged or problems
    common: dict[str, Any] = {
        "address": address,
        "pipeline": pipeline.name,
        "step": step.name,
        "components": components,
        "fingerprint": key,
        "depends_on": depends_on,
        "expected_duration": _expected_duration(baseline, snapshot.attempts.get(address)),
        "before": baseline.components if baseline else None,
        "moved_from": moved_from,
        "resources": asked,
    }
    if reuse is not None:
        return StepPlan(
            action=Action.CACHED,
            reasons=(),
            changes=(),
            cached_from=reuse.id,
            cached_outputs=reuse.outputs,
            **common,
        )
    reasons: list[Reason] = []
    changes = component_changes(before, components) if before else []
    changes = [_with_origin(change, step.params) for change in changes]
    older = older_version(baseline.components, baseline.fingerprint) if baseline else None
    if older is not None:  # code hashes of two schemes do not compare: no `~ code:` lines
        changes = [change for change in changes if not change.path.startswith("code:")]
        reasons.append(
            Reason(
                ReasonKind.CHANGED,
                f"zenctl's fingerprint format changed: {older} -> {FINGERPRINT_VERSION}",
            )
        )
    if baseline is None:
        attempt = snapshot.attempts.get(address)
        note = f"last attempt {attempt.status}" if attempt and attempt.status != "removed" else ""
        settled = snapshot.settled.get(address)
        if settled is not None and settled.status == "forgotten":
            note = "removed from state"
        if not damaged:
            reasons.append(Reason(ReasonKind.NEW, note))
    elif older is None and (changes or (known and not damaged and not matches)):
        reasons.append(Reason(ReasonKind.CHANGED))
    reasons.extend(damaged)
    if not known and baseline is not None:
        reasons.append(Reason(ReasonKind.UPSTREAM, "inputs known after apply"))
    if replace:
        reasons.append(Reason(ReasonKind.REPLACE))
    return StepPlan(action=Action.RUN, reasons=tuple(reasons), changes=tuple(changes), **common)


def _expected_duration(baseline: Execution | None, attempt: Execution | None) -> float | None:
    durations = [
        e.duration for e in (baseline, attempt) if e is not None and e.duration is not None
    ]
    # the median of these one or two figures: their mean
    return sum(durations) / len(durations) if durations else None


def _with_origin(change: Change, params: dict[str, Any] | Expression | Ref) -> Change:
    """A params line names the expression its new value came from: `(from var.base * 2)`."""
    if change.op == "-" or not change.path.startswith("params."):
        return change
    origin = written_as(params, change.path.split(".")[1:])
    return replace(change, origin=origin) if origin else change
