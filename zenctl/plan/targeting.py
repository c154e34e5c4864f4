"""`--target` and `--replace`: which steps and resources a partial plan covers, and which
steps must run anyway."""

from __future__ import annotations

import difflib
from collections.abc import Collection

from zenctl.diagnostics import Diagnostic, DiagnosticsError
from zenctl.graph import StepGraph


def selected_steps(
    graphs: list[StepGraph],
    targets: tuple[str, ...],
    replace: tuple[str, ...],
    resources: Collection[str] = (),
) -> dict[str, set[str]] | None:
    """Per pipeline, the targeted steps and everything they need; None when not targeting.

    A target is a step, a whole pipeline (`pipeline.NAME`), a deployment (which needs the
    step that trains its model) or another resource in `resources` (which needs no step); a
    replacement must name one step. Unknown addresses are reported together, with the
    closest known ones."""
    steps = {g.pipeline.address(name): (g, name) for g in graphs for name in g.order}
    pipelines = {f"pipeline.{g.pipeline.name}": g for g in graphs}
    # what each target needs run first: itself for a step, its model's step for a deployment
    needs = steps | {
        f"pipeline.{g.pipeline.name}.deployment.{name}": (g, deployment.model.parts[1])
        for g in graphs
        for name, deployment in g.pipeline.deployments.items()
    }
    known = [*needs, *pipelines, *resources]
    problems = [_unknown(address, "--target", known) for address in targets if address not in known]
    problems += [_unknown(a, "--replace", list(steps)) for a in replace if a not in steps]
    if problems:
        raise DiagnosticsError(problems)
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


def targets_resource(address: str, targets: tuple[str, ...]) -> bool:
    """Whether a plan with these targets covers the resource: named itself, or a deployment of
    a targeted pipeline. A step's target leaves the deployments serving it alone, as
    Terraform's leaves dependents."""
    return not targets or any(
        address == target or address.startswith(f"{target}.deployment.") for target in targets
    )


def _unknown(address: str, option: str, known: list[str]) -> Diagnostic:
    close = difflib.get_close_matches(address, known, n=3, cutoff=0.9)  # long shared prefixes
    hint = (
        "Did you mean " + " or ".join(f'"{c}"' for c in close) + "?"
        if close
        else "List the steps with `zenctl graph`."
    )
    what = "a step or resource" if option == "--target" else "a step"
    return Diagnostic(
        "error",
        f"Unknown address for {option}",
        f'"{address}" is not {what} of this configuration (steps are addressed as '
        f"pipeline.NAME.step.NAME). {hint}",
    )


def partial_plan_warnings(targets: tuple[str, ...], replace: tuple[str, ...]) -> list[Diagnostic]:
    """Terraform's "Resource targeting is in effect", for both options."""
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
