"""One apply from start to end: stacks brought up, the run recorded, the graph walked."""

from __future__ import annotations

from zenctl.apply.walker import ApplyResult, Reporter, StackRuntime, Walker
from zenctl.plan.model import Plan
from zenctl.project import Project, lineage_info
from zenctl.providers.registry import build_component
from zenctl.state.store import StateStore


def apply_plan(
    project: Project, store: StateStore, plan: Plan, parallelism: int, reporter: Reporter
) -> ApplyResult:
    runtimes: dict[str, StackRuntime] = {}
    for stack_name in sorted(set(plan.stacks.values())):
        stack = project.config.stacks[stack_name]
        artifact = stack.components["artifact_store"]
        orchestrator = stack.components["orchestrator"]
        runtimes[stack_name] = StackRuntime(
            build_component("artifact_store", artifact.type, artifact.settings, project.root),
            (artifact.type, artifact.settings),
            build_component("orchestrator", orchestrator.type, orchestrator.settings, project.root),
        )
    try:
        # before the run is recorded: an orchestrator that cannot start leaves no run behind
        for runtime in runtimes.values():
            runtime.orchestrator.start(parallelism)
        store.interrupt_stale(project.workspace)
        run_id = store.begin_run(project.workspace, lineage_info(project.root))
        result = Walker(plan, project.config, project.variables, store, runtimes, reporter).run(
            run_id
        )
    finally:
        for runtime in runtimes.values():
            runtime.orchestrator.shutdown(cancel=False)
    store.finish_run(run_id, result.status, result.summary(len(plan.cached)))
    return result
