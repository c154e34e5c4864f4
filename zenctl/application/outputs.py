"""A step's output, found by the address a person types, and its value as the last apply left
it: what the Python API's `zenctl.load` returns (docs/python-api.md)."""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zenctl.application.revisions import resolve
from zenctl.artifacts import trees
from zenctl.artifacts.integrity import ArtifactUnusable, read_value
from zenctl.config.model import Config
from zenctl.diagnostics import UserError, close_names
from zenctl.state.history import current_execution, moved_from

if TYPE_CHECKING:
    from zenctl.application.project import Project
    from zenctl.state.records import Execution
    from zenctl.state.store import StateStore


@dataclass(frozen=True, slots=True)
class OutputAddress:
    pipeline: str
    step: str
    output: str

    @property
    def step_address(self) -> str:
        return f"pipeline.{self.pipeline}.step.{self.step}"

    def __str__(self) -> str:
        return f"{self.step_address}.outputs.{self.output}"


def resolve_output(config: Config, address: str) -> OutputAddress:
    """The output `address` names: in full (`pipeline.P.step.S.outputs.O`), as a pipeline's
    steps refer to it (`step.S.outputs.O`), or short (`S.O`); the pipeline may be left out
    when one pipeline has a step of that name, the output when the step has one."""
    parts = address.split(".")
    pipeline = None
    if parts[0] == "pipeline" and len(parts) > 3 and parts[2] == "step":
        pipeline, parts = parts[1], parts[3:]
    elif parts[0] == "step":
        parts = parts[1:]
    if len(parts) == 3 and parts[1] == "outputs":
        parts = [parts[0], parts[2]]
    found = [
        p
        for p in config.pipelines.values()
        if len(parts) in (1, 2) and parts[0] in p.steps and pipeline in (None, p.name)
    ]
    if not found:
        raise _unknown(config, address)
    if len(found) > 1:
        output = f".outputs.{parts[1]}" if len(parts) == 2 else ""
        raise UserError(
            f"More than one step is named {parts[0]!r}",
            f"Pipelines {', '.join(p.name for p in found)} each have one. Give the pipeline too: "
            + " or ".join(f"{p.address(parts[0])}{output}" for p in found)
            + ".",
        )
    step = found[0].steps[parts[0]]
    named = OutputAddress(found[0].name, step.name, parts[1] if len(parts) == 2 else "")
    if named.output in step.outputs:
        return named
    if not named.output and len(step.outputs) == 1:
        return OutputAddress(named.pipeline, named.step, step.outputs[0])
    outputs = ", ".join(f"{step.name}.{output}" for output in step.outputs)
    if not named.output:
        raise UserError(
            f"{named.step_address} has {len(step.outputs)} outputs", f"Name one: {outputs}."
        )
    raise UserError(
        f"{named.step_address} has no output {named.output!r}",
        f"Its outputs are: {outputs}.",
    )


def _unknown(config: Config, address: str) -> UserError:
    forms: dict[str, None] = {}  # each way to name each output, once
    for pipeline in config.pipelines.values():
        for step in pipeline.steps.values():
            forms[step.name] = None
            for output in step.outputs:
                forms[f"{step.name}.{output}"] = None
                forms[f"{pipeline.address(step.name)}.outputs.{output}"] = None
    close = close_names(address, forms, most=3)
    return UserError(
        "No such step output",
        f'"{address}" names no step output of this configuration. Give '
        "pipeline.NAME.step.NAME.outputs.NAME, or STEP.OUTPUT for short"
        + (": did you mean " + " or ".join(f'"{name}"' for name in close) + "?" if close else ".")
        + " List the steps with `zenctl graph`.",
    )


def output_value(
    project: Project,
    store: StateStore | None,
    output: OutputAddress,
    rev: str | None = None,
    warn: Callable[[str], None] | None = None,
) -> Any:
    """The value of `output` as the last apply left it in the project's workspace, or as it
    was at `rev` (a git revision, run ID or workspace: application/revisions.py), read
    verified from the artifact store of its pipeline's stack: what a step that consumes it
    gets when the plan reuses the step that made it. `warn` hears of an ambiguous `rev`."""
    execution = _execution(project, store, output.step_address, rev, warn)
    item = execution.outputs.get(output.output)
    if item is None:
        raise UserError(
            f"No output {output.output!r} recorded for {output.step_address}",
            f"Its run recorded {', '.join(sorted(execution.outputs))}: the step's outputs "
            "changed since.",
        )
    artifacts = project.artifact_store(project.config.pipelines[output.pipeline].stack)
    try:
        if item["materializer"] in trees.PATH_MATERIALIZERS:
            # a fresh copy, as a step gets one, in a folder of its own that is the caller's
            folder = Path(tempfile.mkdtemp(prefix="zenctl-load-"))
            return trees.materialize(
                artifacts, item["materializer"], item["hash"], folder / output.output
            )
        with _importable(project.root):
            return read_value(artifacts, item["hash"], item["materializer"])
    except ArtifactUnusable as exc:
        raise UserError(f"The output {output} cannot be read", str(exc)) from None


def _execution(
    project: Project,
    store: StateStore | None,
    address: str,
    rev: str | None,
    warn: Callable[[str], None] | None,
) -> Execution:
    """The succeeded execution that stands for the step: in the workspace's current state
    (or that of an address a `moved` block renamed), or at `rev`."""
    if rev is not None:
        resolved = resolve(project, store, rev, warn=warn)
        found = resolved.executions.get(address)
        if found is None:
            raise UserError(
                f"No output recorded for {address} at {resolved.label}",
                f"{resolved.label} has no execution of the step: it did not run there.",
            )
        return found
    moved = moved_from(address, project.config.moved_to())
    current = current_execution(store, project.workspace, address, moved) if store else None
    if current is None or current.status != "succeeded":
        raise UserError(
            f"No output recorded for {address}",
            f'The step has not run in workspace "{project.workspace}" yet (or was removed). '
            f"Run `zenctl apply` first; `zenctl show {address}` shows its history.",
        )
    return current


@contextlib.contextmanager
def _importable(root: Path) -> Iterator[None]:
    """The project's modules importable while a value is unpickled: an object of a class that
    the project's steps define names its module (`steps.model`), as a step imports it."""
    added = str(root) not in sys.path
    if added:
        sys.path.insert(0, str(root))
    try:
        yield
    finally:
        if added:
            sys.path.remove(str(root))
