"""`zenctl checkout`: write the current outputs declared with `paths` into the working tree."""

from __future__ import annotations

from typing import Annotated

import typer

from zenctl.cli.context import invocation
from zenctl.cli.options import Chdir, Json


def checkout(
    ctx: typer.Context,
    targets: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[TARGET]...",
            help="A step, STEP.outputs.NAME or pipeline.NAME (default: every output with a path).",
            show_default=False,
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", "-force", help="Overwrite files changed since zenctl wrote them."),
    ] = False,
    chdir: Chdir = None,
    json_: Json = False,
) -> None:
    """Write the outputs of the last apply that declare a path (`paths = { model =
    "models/model.pkl" }`) into the working tree, atomically; a path that already holds the
    output is left alone, one changed by you is kept unless --force. Changes no state.

    Example: `zenctl checkout`, `zenctl checkout pipeline.iris.step.train --force`
    """
    import json

    from zenctl import __version__
    from zenctl.artifacts.checkout import Outcome
    from zenctl.artifacts.checkout import checkout as write_outputs
    from zenctl.artifacts.checkout import targets as chosen_targets
    from zenctl.fingerprint.canonical import short
    from zenctl.providers.protocol import ArtifactStore

    call = invocation(ctx)
    project = call.load(chdir, evaluates=False)
    chosen = chosen_targets(project.config, targets or ())
    store = call.open_state(project)
    pipelines = project.config.pipelines

    def current(address: str) -> dict[str, dict[str, object]] | None:
        execution = store.current(project.workspace, address) if store is not None else None
        ok = execution is not None and execution.status == "succeeded"
        return execution.outputs if execution is not None and ok else None

    def store_of(address: str) -> ArtifactStore:
        return project.artifact_store(pipelines[address.split(".")[1]].stack)

    done = write_outputs(project.root, chosen, current, store_of, force)
    if json_:
        entries = [
            {
                "address": item.target.address,
                "output": item.target.output,
                "path": item.target.path,
                "outcome": item.outcome.value,
                "hash": item.digest,
            }
            for item in done
        ]
        document = {"format_version": "1.0", "zenctl_version": __version__, "outputs": entries}
        typer.echo(json.dumps(document, indent=2, sort_keys=True))
        return
    for item in done:
        what = f"{item.target.path}: {item.outcome.value}"
        if item.digest:
            what += f" ({item.target.address}.outputs.{item.target.output} {short(item.digest)})"
        call.stdout.print(what, markup=False)
    written = sum(item.outcome is Outcome.WRITTEN for item in done)
    unchanged = sum(item.outcome is Outcome.UNCHANGED for item in done)
    missing = sum(item.outcome is Outcome.NOT_APPLIED for item in done)
    summary = f"Checkout complete: {written} written, {unchanged} unchanged"
    call.stdout.print(summary + (f", {missing} not applied yet." if missing else "."))
