"""`zenctl pull`: what a plan reuses, fetched ahead into the user's artifact cache.

A step the plan reuses is not run, so nothing reads its inputs: what later work reads is its
outputs (a downstream step that runs, a deployment's model). The inputs of a reused step are
the outputs of reused steps upstream, which the plan covers too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from zenctl.artifacts.cache import ArtifactCache
from zenctl.artifacts.integrity import ArtifactUnusable, verified_source
from zenctl.plan.diff import reason_note
from zenctl.plan.model import Plan, ReasonKind
from zenctl.providers.protocol import ArtifactStore

_DAMAGE = (ReasonKind.ARTIFACT_MISSING, ReasonKind.ARTIFACT_CORRUPT)


class Outcome(StrEnum):
    FETCHED = "fetched"
    CACHED = "already cached"  # an intact copy was in the cache
    LOCAL = "local"  # in a local artifact store: read from there, never copied
    UNUSABLE = "unusable"  # missing or damaged since the plan checked it
    NOT_KEPT = "not kept"  # fetched, but the cache cannot be written: nothing kept offline


@dataclass(frozen=True, slots=True)
class Pulled:
    address: str  # the step that produced it
    output: str
    digest: str
    size: int
    outcome: Outcome
    error: str = ""  # why it is unusable


def pull_reused(plan: Plan, stores: Callable[[str], ArtifactStore]) -> Iterator[Pulled]:
    """Each output of each step `plan` reuses, once per artifact store and hash, as it is
    fetched; `stores` gives a stack's artifact store."""
    seen: set[tuple[str, str]] = set()
    for step in plan.cached:
        stack = plan.stacks[step.pipeline]
        for output, item in sorted(step.cached_outputs.items()):
            digest = str(item["hash"])
            if (stack, digest) in seen:
                continue
            seen.add((stack, digest))
            pulled = Pulled(step.address, output, digest, int(item["size"]), Outcome.LOCAL)
            store = stores(stack)
            if not store.remote:
                yield pulled
                continue
            try:  # into the cache, or hashed there: never whole in memory
                source, fetched = verified_source(store, digest)
            except ArtifactUnusable as exc:
                yield replace(pulled, outcome=Outcome.UNUSABLE, error=str(exc))
                continue
            if not isinstance(source, Path):  # the cache could not be written: in memory
                why = f"the artifact cache ({ArtifactCache.of_user().path}) cannot be written"
                yield replace(pulled, outcome=Outcome.NOT_KEPT, error=f"not kept: {why}")
                continue
            yield replace(pulled, outcome=Outcome.FETCHED if fetched else Outcome.CACHED)


def unavailable(plan: Plan) -> list[str]:
    """The steps the plan must run again because an output it would reuse is missing or
    damaged in the artifact store, with which: there is nothing to pull for them."""
    return [
        f"{step.address}: {reason.kind.value} ({reason_note(reason)})"
        for step in plan.to_run
        for reason in step.reasons
        if reason.kind in _DAMAGE
    ]
