"""Saved plans: the document `plan --out` writes (and a reviewed PR comment's hash covers), and
the way `apply FILE` applies one: the project it was made for, planned again under the state
lock, refused unless the plan computed now is exactly the saved one. Apply runs the plan
computed now, never one decoded from the file."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from zenctl.application.project import Project
from zenctl.config.variables import VariableInputs
from zenctl.diagnostics import Diagnostic, DiagnosticsError, UserError
from zenctl.plan.model import Plan
from zenctl.state.store import StateStore


def plan_document(project: Project, store: StateStore | None, plan: Plan) -> dict[str, Any]:
    """The saved-plan document with its hash, and its seal where there is a store to seal it
    with, as `plan --out` writes it."""
    from zenctl.config.loader import config_digests
    from zenctl.plan.planfile import plan_document as document
    from zenctl.plan.planfile import plan_seal
    from zenctl.render.plan_json import to_document

    redact = project.fingerprinter(store).redact
    saved = document(to_document(plan), config_digests(project.root), project.variables, redact)
    key = store.secret_key() if store is not None else None
    if key is not None:
        saved["plan_seal"] = plan_seal(saved["plan_hash"], key)
    return saved


def load_saved(
    root: Path, plan_file: Path, inputs: VariableInputs
) -> tuple[Project, dict[str, Any]]:
    """The project a saved plan was made for, with its variable values; the saved document."""
    from zenctl.plan.planfile import read_planfile

    document = read_planfile(plan_file)
    preset = {n: entry["value"] for n, entry in document["variables"].items() if "value" in entry}
    with _planning_again(plan_file):
        return Project.load(root, inputs, preset=preset), document


def plan_again(
    project: Project, store: StateStore, plan_file: Path, saved: dict[str, Any]
) -> tuple[Plan, dict[str, Any]]:
    """The plan computed now (under the state lock) and its document, if the saved document
    is exactly that document."""
    from zenctl.plan.planfile import check_saved_plan

    with _planning_again(plan_file):
        fresh = project.plan(
            store,
            tuple(saved["targets"]),
            tuple(saved["replace"]),
            excludes=tuple(saved["excludes"]),
        )
    document = plan_document(project, store, fresh)
    check_saved_plan(plan_file, saved, document, store.db.url, store.secret_key())
    return fresh, document


@contextmanager
def _planning_again(plan_file: Path) -> Iterator[None]:
    """Say that a failure to plan again (its variables or --target no longer fit) refuses
    the saved plan, after the located diagnostics of why."""
    try:
        yield
    except (UserError, DiagnosticsError) as exc:
        found = exc.diagnostics if isinstance(exc, DiagnosticsError) else (exc.diagnostic,)
        again = Diagnostic(
            "error",
            "Saved plan cannot be planned again",
            f"{plan_file} cannot be checked against the plan computed now, for the reason "
            f"above. Nothing was run. Fix that and apply it again, or make a new plan: "
            f"zenctl plan --out {plan_file}",
        )
        raise DiagnosticsError([*found, again]) from None
