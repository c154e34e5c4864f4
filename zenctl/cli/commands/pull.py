"""`zenctl pull`: download what the plan would reuse into the user's artifact cache."""

from __future__ import annotations

from typing import Annotated

import typer

from zenctl.cli.context import invocation
from zenctl.cli.options import Chdir, VarFiles, Vars


def pull(
    ctx: typer.Context,
    targets: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[TARGET]...",
            help="A step, deployment or pipeline.NAME: pull only what it needs (default: all).",
            show_default=False,
        ),
    ] = None,
    chdir: Chdir = None,
    var: Vars = None,
    var_file: VarFiles = None,
) -> None:
    """Download, verified, the outputs of every step the plan would reuse from a remote
    artifact store into the local artifact cache: later reads (a step that runs, a
    deployment) need no download. Changes no state.

    Example: `zenctl pull`, `zenctl pull pipeline.iris.step.train`
    """
    from zenctl.artifacts.cache import ArtifactCache
    from zenctl.artifacts.pull import Outcome, Pulled, pull_reused, unavailable
    from zenctl.diagnostics import UserError
    from zenctl.fingerprint.canonical import short
    from zenctl.providers.protocol import ArtifactStore
    from zenctl.render.console import byte_size

    call = invocation(ctx)
    project = call.load(chdir, var, var_file)
    console = call.stdout
    store = call.open_state(project)
    if store is None:
        console.print("Nothing to pull: no step has run yet.")
        return
    # resources are not pulled: their real state need not be read
    plan_ = project.plan(store, tuple(targets or ()), refresh=False)
    stores: dict[str, ArtifactStore] = {}

    def store_of(stack: str) -> ArtifactStore:
        if stack not in stores:
            stores[stack] = project.artifact_store(stack)
        return stores[stack]

    done: dict[Outcome, list[Pulled]] = {outcome: [] for outcome in Outcome}
    for pulled in pull_reused(plan_, store_of):
        done[pulled.outcome].append(pulled)
        if pulled.outcome is not Outcome.LOCAL:
            said = pulled.error or f"{pulled.outcome.value} ({byte_size(pulled.size)})"
            line = f"{pulled.address}: {pulled.output} {short(pulled.digest)} {said}"
            console.print(line, markup=False)
    problems = [f"{p.address}: {p.output}: {p.error}" for p in done[Outcome.UNUSABLE]]
    problems += unavailable(plan_)
    unkept = [f"{p.address}: {p.output}: {p.error}" for p in done[Outcome.NOT_KEPT]]
    fetched, cached, local = (done[o] for o in (Outcome.FETCHED, Outcome.CACHED, Outcome.LOCAL))
    if not plan_.cached:
        console.print("Nothing to pull: the plan reuses no step.")
    elif len(local) == sum(len(pulled) for pulled in done.values()):
        console.print(
            f"Nothing to pull: the {len(local)} outputs the plan reuses are in a local artifact "
            "store, which steps read in place."
        )
    else:
        summary = f"{len(fetched)} fetched ({byte_size(sum(p.size for p in fetched))})"
        if cached:
            summary += f", {len(cached)} already cached ({byte_size(sum(p.size for p in cached))})"
        if local:
            summary += f", {len(local)} in a local artifact store (read in place)"
        where = ArtifactCache.of_user().path
        ended = "incomplete" if problems or unkept else "complete"
        console.print(f"Pull {ended}: {summary}. Cache: {where}", markup=False)
    if unkept and not problems:
        raise UserError(
            "Artifacts fetched but not kept",
            "\n".join(unkept) + "\nMake the cache folder writable, or point ZENCTL_CACHE_DIR at "
            "one that is (docs/artifact-cache.md); nothing is there for offline work.",
        )
    if problems:
        raise UserError(
            "Artifacts missing or damaged in the artifact store",
            "\n".join([*problems, *unkept])
            + "\nTheir steps run again at the next `zenctl apply`, which needs the artifact "
            "store; pull after it to have their outputs here.",
        )
