"""`zenctl checkout`: the current outputs that declare a `paths` entry, written into the
working tree, as a DVC user has them after `dvc pull` (docs/artifacts.md).

Each path is written atomically: a file through a temporary file renamed over it, a directory
materialized beside its place and renamed into it. What was written is remembered, with its
hash, in `.zenctl/checkout.json`: a path whose content is no longer what zenctl wrote (the
user edited it), or that zenctl never wrote, is not overwritten without `--force`; a path
that already holds the output is left alone. A file or directory output is written as it was
returned; any other value as the bytes of its materializer (a JSON document, text, a joblib
pickle, Parquet, `.npy`).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Any

from zenctl.artifacts.integrity import ArtifactUnusable, copy_verified
from zenctl.artifacts.trees import DIRECTORY, PathOutputError, materialize, path_digest
from zenctl.config.model import Config
from zenctl.diagnostics import UserError
from zenctl.paths import (
    TEMPORARY,
    ensure_private_dir,
    project_dir,
    resolve_in_project,
    write_atomic,
)
from zenctl.providers.protocol import ArtifactStore

RECORD = "checkout.json"


class Outcome(StrEnum):
    WRITTEN = "written"
    UNCHANGED = "unchanged"
    NOT_APPLIED = "not applied yet"


@dataclass(frozen=True, slots=True, order=True)
class Target:
    address: str  # the step
    output: str
    path: str  # as written in `paths`, relative to the project folder


@dataclass(frozen=True, slots=True)
class CheckedOut:
    target: Target
    outcome: Outcome
    digest: str | None


def targets(config: Config, chosen: Sequence[str]) -> list[Target]:
    """The outputs with a path, by address and output: those `chosen` names (a step,
    `STEP.outputs.NAME`, or `pipeline.NAME`) or all of them."""
    declared = sorted(
        Target(pipeline.address(step.name), output, path)
        for pipeline in config.pipelines.values()
        for step in pipeline.steps.values()
        for output, path in step.paths.items()
    )
    by_path = sorted((PurePosixPath(os.path.normpath(t.path)), t) for t in declared)
    for (path, target), (other_path, other) in itertools.combinations(by_path, 2):
        if other_path == path or other_path.is_relative_to(path):
            how = "share a path" if other_path == path else "have nested paths"
            raise UserError(
                f"Two outputs {how}",
                f"{target.address} ({target.output}) is written to {target.path} and "
                f"{other.address} ({other.output}) to {other.path}: one would overwrite the "
                "other. Give each output a path of its own, outside the other's.",
            )
    if not chosen:
        return declared

    def named(target: Target, name: str) -> bool:
        whole = f"{target.address}.outputs.{target.output}"
        return name in (target.address, whole) or target.address.startswith(f"{name}.")

    unknown = [name for name in chosen if not any(named(t, name) for t in declared)]
    if unknown:
        raise UserError(
            "Nothing to check out",
            f"{', '.join(unknown)} names no output with a path. Declare one in the step "
            '(paths = { output = "models/model.pkl" }) or name a step that has one.',
        )
    return [target for target in declared if any(named(target, name) for name in chosen)]


def checkout(
    root: Path,
    chosen: Sequence[Target],
    current: Callable[[str], dict[str, dict[str, Any]] | None],
    store_of: Callable[[str], ArtifactStore],
    force: bool,
) -> list[CheckedOut]:
    """Write each target's current output (`current`: a step's recorded outputs, None before
    it succeeded; `store_of`: the artifact store of a step). Refuses, writing nothing, when
    a path was changed by someone else and `force` is not given."""
    record_file = project_dir(root) / RECORD
    try:
        record: dict[str, str] = json.loads(record_file.read_text())
    except (OSError, ValueError):
        record = {}
    decided: list[tuple[CheckedOut, dict[str, Any] | None]] = []
    refused: list[str] = []
    for target in chosen:
        outputs = current(target.address) or {}
        item = outputs.get(target.output)
        if item is None:
            decided.append((CheckedOut(target, Outcome.NOT_APPLIED, None), None))
            continue
        digest = str(item["hash"])
        on_disk = _on_disk(resolve_in_project(root, target.path))
        if on_disk == digest:
            decided.append((CheckedOut(target, Outcome.UNCHANGED, digest), None))
        elif on_disk is not None and on_disk != record.get(target.path) and not force:
            refused.append(target.path)
        else:
            decided.append((CheckedOut(target, Outcome.WRITTEN, digest), item))
    if refused:
        raise UserError(
            "Refusing to overwrite changed files",
            f"{', '.join(refused)}: changed since zenctl last wrote it, or not written by "
            "zenctl. Move your version away to keep it, or run `zenctl checkout --force` to "
            "overwrite it with the current output.",
        )
    unusable: list[str] = []
    for done, item in decided:
        if item is not None:
            path = resolve_in_project(root, done.target.path)
            try:
                _write(store_of(done.target.address), item, path)
            except ArtifactUnusable as exc:  # missing or damaged in the store: set aside
                unusable.append(f"{done.target.path} ({done.target.address}): {exc}")
                continue
        if done.digest is not None:
            record[done.target.path] = done.digest
    ensure_private_dir(record_file.parent)
    write_atomic(record_file, json.dumps(record, sort_keys=True, indent=1))
    if unusable:
        raise UserError(
            "Some outputs could not be checked out",
            "\n".join(unusable) + "\nThe others were written. `zenctl apply` runs the steps "
            "whose outputs are missing or damaged again; then check out again.",
        )
    return [done for done, _ in decided]


def _on_disk(path: Path) -> str | None:
    """The hash of what is at `path` now (a directory's: its manifest's), None when absent."""
    if not path.exists() and not path.is_symlink():
        return None
    try:
        return path_digest(path)
    except (OSError, PathOutputError):
        return "unreadable"  # a link inside, a socket: never what zenctl wrote


def _write(store: ArtifactStore, item: dict[str, Any], path: Path) -> None:
    """The output at `path`, made beside it (verified, as for a step) and renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    digest, materializer = str(item["hash"]), str(item["materializer"])
    staging = Path(tempfile.mkdtemp(dir=path.parent, prefix=TEMPORARY))
    try:
        new = staging / "new"
        if materializer == DIRECTORY:
            materialize(store, materializer, digest, new)
        else:  # a file output, or a value as its materializer's bytes
            copy_verified(store, digest, new)
        if path.is_dir() and not path.is_symlink():
            os.rename(path, staging / "old")  # a directory cannot be renamed over
        os.replace(new, path)  # a file is: no moment without one
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(staging)
