"""`--target`, `--exclude` and `--replace`: which steps and resources a partial plan covers,
and which steps must run anyway."""

from __future__ import annotations

from collections.abc import Collection

from zenctl.diagnostics import Diagnostic, DiagnosticsError, close_names
from zenctl.graph import StepGraph


def selected_steps(
    graphs: list[StepGraph],
    targets: tuple[str, ...],
    replace: tuple[str, ...],
    resources: Collection[str] = (),
    excludes: tuple[str, ...] = (),
) -> dict[str, set[str]] | None:
    """Per pipeline, the steps a partial plan covers; None when neither targeting nor excluding.

    A target is a step, a whole pipeline (`pipeline.NAME`), a deployment (which needs the
    step that trains its model) or another resource in `resources` (which needs no step); the
    plan covers the targets and everything they need. An exclusion names the same kinds of
    address; the plan covers every step but those `excluded_addresses` leaves out. A
    replacement must name one step. Unknown addresses are reported together, with the
    closest known ones."""
    steps = {g.pipeline.address(name): (g, name) for g in graphs for name in g.order}
    pipelines = {f"pipeline.{g.pipeline.name}": g for g in graphs}
    needs = steps | _deployment_steps(graphs)
    known = [*needs, *pipelines, *resources]
    problems = [_unknown(address, "--target", known) for address in targets if address not in known]
    problems += [_unknown(a, "--exclude", known) for a in excludes if a not in known]
    problems += [_unknown(a, "--replace", list(steps)) for a in replace if a not in steps]
    if targets and excludes:
        # as OpenTofu: the two would each narrow the plan, and which one wins would surprise
        problems.append(
            Diagnostic(
                "error",
                "Invalid combination of options",
                "--target and --exclude cannot be used together. Give one of them: --target "
                "plans only what it names, --exclude everything but what it names.",
            )
        )
    if problems:
        raise DiagnosticsError(problems)
    if excludes:
        left_out = excluded_addresses(graphs, excludes)
        return {
            g.pipeline.name: {n for n in g.order if g.pipeline.address(n) not in left_out}
            for g in graphs
        }
    if not targets:
        return None
    wanted: dict[str, set[str]] = {}
    for address in targets:
        if address in pipelines:
            graph = pipelines[address]
            wanted.setdefault(graph.pipeline.name, set()).update(graph.order)
        elif address in needs:
            graph, name = needs[address]
            wanted.setdefault(graph.pipeline.name, set()).add(name)
    by_name = {g.pipeline.name: g for g in graphs}
    return {name: by_name[name].closure(chosen) for name, chosen in wanted.items()}


def excluded_addresses(graphs: list[StepGraph], excludes: tuple[str, ...]) -> set[str]:
    """The addresses `--exclude` leaves out: each one named, every step and deployment of a
    named pipeline, the steps that depend on a named step, and the deployments whose model
    comes from a step left out; as OpenTofu's leaves out the dependents of what it names."""
    left_out = set(excludes)
    for graph in graphs:
        pipeline = graph.pipeline
        if f"pipeline.{pipeline.name}" in excludes:
            named = set(graph.order)
        else:
            named = {n for n in graph.order if pipeline.address(n) in excludes}
        steps = graph.dependents(named)
        left_out |= {pipeline.address(name) for name in steps}
        left_out |= {
            address for address, (_, step) in _deployment_steps([graph]).items() if step in steps
        }
    return left_out


def _deployment_steps(graphs: list[StepGraph]) -> dict[str, tuple[StepGraph, str]]:
    """Each deployment's address -> the step that makes its model."""
    return {
        f"pipeline.{g.pipeline.name}.deployment.{name}": (g, deployment.model.parts[1])
        for g in graphs
        for name, deployment in g.pipeline.deployments.items()
    }


def covers_resource(address: str, targets: tuple[str, ...], excluded: Collection[str] = ()) -> bool:
    """Whether a partial plan covers the resource. With targets: named itself, or a deployment
    of a targeted pipeline; a step's target leaves the deployments serving it alone, as
    Terraform's leaves dependents. `excluded` (from `excluded_addresses`) takes out a resource
    named there, or a deployment of a pipeline named there, declared still or not."""
    targeted = not targets or any(
        address == target or address.startswith(f"{target}.deployment.") for target in targets
    )
    return targeted and not any(
        address == left or address.startswith(f"{left}.deployment.") for left in excluded
    )


def _unknown(address: str, option: str, known: list[str]) -> Diagnostic:
    close = close_names(address, known, most=3, cutoff=0.9)  # long shared prefixes
    hint = (
        "Did you mean " + " or ".join(f'"{c}"' for c in close) + "?"
        if close
        else "List the steps with `zenctl graph`."
    )
    what = "a step" if option == "--replace" else "a step or resource"
    return Diagnostic(
        "error",
        f"Unknown address for {option}",
        f'"{address}" is not {what} of this configuration (steps are addressed as '
        f"pipeline.NAME.step.NAME). {hint}",
    )


def partial_plan_warnings(
    targets: tuple[str, ...], replace: tuple[str, ...], excludes: tuple[str, ...] = ()
) -> list[Diagnostic]:
    """Terraform's "Resource targeting is in effect", for each option."""
    warnings: list[Diagnostic] = []
    if targets:
        warnings.append(
            Diagnostic(
                "warning",
                "Targeting is in effect",
                f"This plan covers only {', '.join(targets)} and the steps they need, so it may "
                "not show every change the configuration asks for. It removes no step and "
                "destroys only a resource it names. "
                "--target is for exceptional cases: run a full plan before relying on the "
                "result.",
            )
        )
    if excludes:
        warnings.append(
            Diagnostic(
                "warning",
                "Exclusion is in effect",
                f"This plan leaves out {', '.join(excludes)}, the steps that depend on them and "
                "the deployments of their models, so it may not show every change the "
                "configuration asks for. It removes no step. "
                "--exclude is for exceptional cases: run a full plan before relying on the "
                "result.",
            )
        )
    if replace:
        warnings.append(
            Diagnostic(
                "warning",
                "Replacement is in effect",
                f"{', '.join(replace)} will run even though cached; the steps downstream are "
                "planned against its new outputs, known after apply. The plan departs from what "
                "the recorded state alone would call for.",
            )
        )
    return warnings
