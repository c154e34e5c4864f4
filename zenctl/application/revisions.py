"""What a user's spelling of "a version of the project" stands for: the executions, per step
address, of a workspace, a run or a git revision. `zenctl metrics`, `zenctl params diff` and
`zenctl.load(..., rev=...)` resolve their A and B here.

A git revision is read from git's objects, never checked out: its files (the project's folder
in that commit's tree) are written to a temporary folder, its configuration is loaded and
planned against the current store, and every step its plan finds cached stands for the
execution the plan would reuse. Fingerprinting reads code as text: no user code runs. So
a commit that once ran shows its metrics without running again, and one that never ran
shows "not run" where its steps have no execution. Source data a commit does not hold (data
kept out of git) is read from the working tree.

A spelling is tried as, in this order: `workspace:NAME`, `run:ID` or `rev:REVISION` when so
prefixed; else a workspace name (one the store or the project knows), a run ID (or a prefix
of at least 4 characters), then a git revision. When a spelling is also a later kind, the
first wins and `warn` says how to ask for the other.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zenctl.application.project import Project
from zenctl.config.variables import VariableInputs
from zenctl.diagnostics import DiagnosticsError, UserError
from zenctl.plan.model import Action
from zenctl.plan.planner import PlanInputs, make_plan
from zenctl.state.records import Execution, MetricRecord
from zenctl.state.store import StateStore
from zenctl.workspaces import DEFAULT_WORKSPACE, created

KINDS = ("workspace", "run", "rev")
_RUN_PREFIX = 4  # a shorter prefix names too many runs to mean one


@dataclass(frozen=True, slots=True)
class Resolved:
    """A spelling resolved: what it is, and the executions it stands for."""

    spelling: str
    kind: str  # workspace, run or revision
    # for tables: `workspace default (last apply)`, `run 1a2b3c4d`, `main (3f2a1b0c9d)`
    label: str
    executions: dict[str, Execution]  # per step address; a step with none did not run
    steps: dict[str, dict[str, Any]]  # per step address, its components as this side declares


def resolve(
    project: Project,
    store: StateStore | None,
    spelling: str | None,
    inputs: VariableInputs | None = None,
    warn: Callable[[str], None] | None = None,
) -> Resolved:
    """The executions `spelling` stands for; None: the last apply of the project's workspace.
    `inputs` are the variables a git revision's configuration is evaluated with (their
    defaults and the environment when None)."""
    if spelling is None:
        return _workspace(store, project.workspace, "(last apply)")
    kind, _, rest = spelling.partition(":")
    if kind in KINDS and rest:
        found = _attempt(project, store, kind, rest, inputs)
        if found is None:
            raise _not_found(project.root, spelling, kind)
        return dataclasses.replace(found, spelling=spelling)
    matches: list[tuple[str, Resolved]] = []
    for kind in KINDS:
        found = _attempt(project, store, kind, spelling, inputs, quiet=bool(matches))
        if found is not None:
            matches.append((kind, found))
    if not matches:
        raise _not_found(project.root, spelling, None)
    if len(matches) > 1 and warn is not None:
        also = " and ".join(f"`{kind}:{spelling}`" for kind, _ in matches[1:])
        warn(
            f'"{spelling}" is a {_KIND_WORDS[matches[0][0]]}, and also names a '
            f"{' and a '.join(_KIND_WORDS[k] for k, _ in matches[1:])}: using the "
            f"{_KIND_WORDS[matches[0][0]]}. Write {also} for the other."
        )
    return matches[0][1]


_KIND_WORDS = {"workspace": "workspace", "run": "run ID", "rev": "git revision"}


def _attempt(
    project: Project,
    store: StateStore | None,
    kind: str,
    spelling: str,
    inputs: VariableInputs | None,
    quiet: bool = False,
) -> Resolved | None:
    """`spelling` as `kind`, None when it is not one. `quiet`: only whether it is one (a
    revision is then not planned)."""
    if kind == "workspace":
        known = {DEFAULT_WORKSPACE, *created(project.root)}
        known |= set(store.workspaces()) if store else set()
        return _workspace(store, spelling, "") if spelling in known else None
    if kind == "run":
        run = store.run(spelling) if store and len(spelling) >= _RUN_PREFIX else None
        if run is None or store is None:
            return None
        if quiet:
            return Resolved(spelling, "run", "", {}, {})
        executions = store.executions_after_run(run)
        steps = {address: e.components for address, e in executions.items()}
        return Resolved(spelling, "run", f"run {run.id[:8]}", executions, steps)
    commit = _commit(project.root, spelling)
    if commit is None:
        return None
    if quiet:  # only its existence matters: the spelling resolves to something else first
        return Resolved(spelling, "revision", "", {}, {})
    return _revision(project, store, spelling, commit, inputs)


def _workspace(store: StateStore | None, workspace: str, note: str) -> Resolved:
    settled = store.snapshot(workspace).settled if store else {}
    executions = {a: e for a, e in settled.items() if e.status == "succeeded"}
    steps = {address: e.components for address, e in executions.items()}
    label = f"workspace {workspace}" + (f" {note}" if note else "")
    return Resolved(workspace, "workspace", label, executions, steps)


def _repository(root: Path) -> Any | None:
    """The git repository holding `root`; None outside any."""
    import git

    try:
        return git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None


def _commit(root: Path, spelling: str) -> Any | None:
    """The commit `spelling` names in the repository holding `root`; None if none."""
    import git

    repo = _repository(root)
    try:
        return repo.commit(spelling) if repo is not None else None
    except (git.BadName, ValueError, git.GitCommandError):  # not a revision of this repository
        return None


def _revision(
    project: Project,
    store: StateStore | None,
    spelling: str,
    commit: Any,
    inputs: VariableInputs | None,
) -> Resolved:
    """Plan the revision's configuration against the store: its cached steps' executions."""
    repo = commit.repo
    inside = project.root.resolve().relative_to(Path(repo.working_tree_dir).resolve())
    label = f"{spelling} ({commit.hexsha[:10]})" if spelling != commit.hexsha else spelling[:10]
    with tempfile.TemporaryDirectory(prefix="zenctl-rev-") as folder:
        root = Path(folder).resolve()
        try:
            tree = commit.tree / inside.as_posix() if inside.parts else commit.tree
        except KeyError:
            raise UserError(
                f"No project at revision {spelling}",
                f"Commit {commit.hexsha[:10]} has no folder {inside.as_posix()}: the project "
                "did not exist there yet. Name a later revision.",
            ) from None
        _extract(tree, root)
        try:
            revision = Project.load(root, inputs or VariableInputs())
            _link_missing_sources(revision, project.root)
            plan = make_plan(
                PlanInputs(revision.config, revision.variables, project.workspace),
                revision.fingerprinter(store),
                store,
            )
        except (UserError, DiagnosticsError) as exc:
            raise _unreadable(spelling, commit.hexsha, root, exc) from None
    reused = {s.address: s.cached_from for s in plan.steps if s.action is Action.CACHED}
    found = store.executions({i for i in reused.values() if i}) if store else {}
    executions = {a: found[i] for a, i in reused.items() if i in found}
    steps = {step.address: step.components for step in plan.steps}
    return Resolved(spelling, "revision", label, executions, steps)


def _extract(tree: Any, root: Path) -> None:
    """Write the tree's files under `root` (links as the text of their target: never followed
    out of the folder)."""
    for blob in tree.traverse():
        if blob.type != "blob":
            continue
        path = root / Path(blob.path).relative_to(tree.path) if tree.path else root / blob.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blob.data_stream.read())


def _link_missing_sources(revision: Project, working: Path) -> None:
    """Source data the revision does not hold (kept out of git), linked from the working
    tree: the revision is taken to have read the data there now."""
    for pipeline in revision.config.pipelines.values():
        for source in pipeline.sources.values():
            target = revision.root / source.path
            original = working / source.path
            if not target.exists() and original.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.symlink_to(original.resolve())


def _unreadable(
    spelling: str, sha: str, root: Path, exc: UserError | DiagnosticsError
) -> UserError:
    """The revision's configuration does not load or plan: what it says, its files named
    as in the project, not in the temporary folder it was read in."""
    found = exc.diagnostics if isinstance(exc, DiagnosticsError) else (exc.diagnostic,)
    said = "; ".join(
        f"{d.summary}: {d.detail.replace(str(root) + '/', '')}"
        + (f" ({_relative(d.range.filename, root)} line {d.range.start.line})" if d.range else "")
        for d in found[:3]
    )
    more = f"; and {len(found) - 3} more" if len(found) > 3 else ""
    return UserError(
        f"Can't read the configuration of revision {spelling} ({sha[:10]})",
        f"{said}{more}. Its metrics and params are those of a configuration zenctl can plan: "
        "name another revision.",
    )


def _relative(filename: str, root: Path) -> str:
    path = Path(filename)
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else filename


def _not_found(root: Path, spelling: str, kind: str | None) -> UserError:
    what = _KIND_WORDS[kind] if kind else "workspace, run ID or git revision"
    outside = _repository(root) is None
    return UserError(
        f'"{spelling}" is not a known {what}',
        "Name a workspace (`zenctl workspace list`), a run ID or a prefix of at least "
        f"{_RUN_PREFIX} characters (`zenctl runs`), or a git revision (a commit, branch or tag); "
        "prefix it with workspace:, run: or rev: to say which."
        + (
            f" {root} is in no git repository, so no git revision names anything here"
            " (HEAD included)."
            if outside
            else ""
        ),
    )


def recorded_metrics(store: StateStore | None, resolved: Resolved) -> list[MetricRecord]:
    """The metrics recorded by the executions `resolved` stands for."""
    executions = {address: execution.id for address, execution in resolved.executions.items()}
    return store.metrics_of_executions(executions) if store else []
