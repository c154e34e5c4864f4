"""One apply from start to end: stacks brought up, the run recorded, the plan's stages carried
out in their order. The stages do each part (zenctl/apply/: the walker, the resources); this
puts them in order for a project."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zenctl.application.project import Project, lineage_info
from zenctl.apply.masking import Masker, secret_texts
from zenctl.apply.resources import Say, apply_resources
from zenctl.apply.walker import ApplyResult, Reporter, StackRuntime, Walker
from zenctl.config.model import Stack
from zenctl.diagnostics import UserError
from zenctl.plan.model import Action, Plan, StageKind
from zenctl.providers.protocol import StepExecutor
from zenctl.providers.registry import build_component, settings_of
from zenctl.state.store import StateStore


def apply_plan(
    project: Project,
    store: StateStore,
    plan: Plan,
    parallelism: int,
    reporter: Reporter,
    say: Say,
    began: Callable[[str], None] | None = None,
) -> ApplyResult:
    """Carry out `plan.stages` in their order (resources, steps, removals, resources); an
    apply stopped by the user during the steps goes no further. `began` hears the run's ID
    as soon as it is recorded, before any step starts."""
    if project.config.required_providers:
        from zenctl.diagnostics import DiagnosticsError
        from zenctl.providers.registry import check_required

        problems = check_required(project.config.required_providers.values())
        if problems:  # the providers installed since the configuration was last read
            raise DiagnosticsError(problems)
    runtimes = {
        name: _runtime(project, project.config.stacks[name], _executor_kinds(project, plan, name))
        for name in sorted(set(plan.stacks.values()))
    }
    executors = [
        executor for runtime in runtimes.values() for executor in runtime.executors.values()
    ]
    try:
        # before the run is recorded: an executor that cannot start leaves no run behind
        for executor in executors:
            executor.start(parallelism)
        store.interrupt_stale(project.workspace)
        steps = _planned_steps(plan)
        info = lineage_info(project.root)
        result = ApplyResult(store.begin_run(project.workspace, info, {"steps": steps}))
        if began is not None:
            began(result.run_id)
        secrets = apply_secrets(project, store)
        masker = Masker(secrets)
        redact = project.fingerprinter(store).redact
        walker = Walker(
            plan, project.config, project.variables, redact, store, runtimes, reporter, secrets
        )
        for stage in plan.stages:
            if stage.kind is StageKind.STEPS:
                walker.run(result, stage.steps)
                _shut_down(executors)  # what comes after runs no step
                if result.stopped_by_user:
                    break
            elif stage.kind is StageKind.REMOVALS:
                walker.remove(result, stage.steps)
            else:  # deployments read their models from the outputs of the steps that ran
                result.resources += apply_resources(
                    project, store, stage.resources, result.outputs, say, plan.refreshed, masker
                )
    finally:
        _shut_down(executors)
    for address in result.reused:
        steps[address]["reused"] = True
    summary = {**result.summary(len(plan.cached)), "steps": steps}
    store.finish_run(result.run_id, result.status, summary)
    return result


def _planned_steps(plan: Plan) -> dict[str, dict[str, Any]]:
    """What a run records of each step it was planned with: its params (secrets as the plan
    keeps them, keyed hashes) and whether it was reused rather than run. `zenctl runs` reads
    the params of every step from here, the cached ones included, which have no execution
    in the run."""
    return {
        step.address: {
            "params": step.components.get("params", {}),
            "reused": step.action is Action.CACHED,
        }
        for step in plan.steps
        if step.action is not Action.REMOVE
    }


def _shut_down(executors: list[StepExecutor]) -> None:
    """Shut the executors down once, when the steps are done or the apply fails."""
    for executor in executors:
        executor.shutdown(cancel=False)
    executors.clear()


def apply_secrets(project: Project, store: StateStore) -> set[str]:
    """What an apply masks wherever it writes: the sensitive variables' values and the
    metadata store's password (a step may print its environment, PGPASSWORD and all)."""
    secrets = secret_texts(project.variables)
    if store.db.password:
        secrets.add(store.db.password)
    return secrets


def _executor_kinds(project: Project, plan: Plan, stack: str) -> set[str]:
    """The orchestrator, plus each component that a step to run on `stack` names with `on`."""
    kinds = {"orchestrator"}
    for step in plan.to_run:
        if plan.stacks[step.pipeline] == stack:
            kinds.add(project.config.pipelines[step.pipeline].steps[step.step].executor_kind)
    return kinds


def _runtime(project: Project, stack: Stack, kinds: set[str]) -> StackRuntime:
    """Build the live components of `stack`; only the executors this apply needs start."""
    artifact = stack.components["artifact_store"]
    executors: dict[str, StepExecutor] = {}
    for kind in sorted(kinds):
        component = stack.components[kind]
        settings = settings_of(component, project.variables)
        built = build_component(kind, component.type, settings, project.root)
        if not isinstance(built, StepExecutor):
            raise UserError(
                f'{kind} "{component.type}" cannot run steps',
                f'Stack "{stack.name}" sends steps marked on = "{kind}" to its {kind} '
                f'"{component.type}", which does not run steps. Remove `on` from those steps, '
                "or use a component type that runs them.",
            )
        executors[kind] = built
    return StackRuntime(
        project.artifact_store(stack.name),
        (artifact.type, settings_of(artifact, project.variables)),
        executors,
    )
