"""The plan as a JSON document: what `plan --json` prints and what `plan --out` saves.

One structure serves both, with its schema published in specs/plan.schema.json; a saved plan
is read back into the same frozen `Plan` that apply walks, so what was reviewed is what runs.
"""

from __future__ import annotations

from typing import Any

from zenctl import __version__
from zenctl.plan.model import Action, Change, Plan, Reason, ReasonKind, StepPlan

FORMAT_VERSION = "1.2"  # 1.1: reasons "artifact missing", "artifact corrupt"; 1.2: targets, replace


def summary(plan: Plan) -> dict[str, Any]:
    return {
        "to_run": len(plan.to_run),
        "cached": len(plan.cached),
        "to_remove": len(plan.removed),
        "text": plan.summary_line,
    }


def _step(step: StepPlan) -> dict[str, Any]:
    unknown = {
        name: True
        for name, entry in step.components.get("inputs", {}).items()
        if entry["hash"] is None
    }
    return {
        "address": step.address,
        "pipeline": step.pipeline,
        "step": step.step,
        "action": step.action.value,
        "reasons": [{"kind": r.kind.value, "note": r.note} for r in step.reasons],
        "changes": [
            {"op": c.op, "path": c.path, "before": c.before, "after": c.after} for c in step.changes
        ],
        "fingerprint": step.fingerprint,
        "before": step.before,
        "after": step.components or None,
        "after_unknown": {"inputs": unknown} if unknown else {},
        "depends_on": list(step.depends_on),
        "cached_from": step.cached_from,
        "cached_outputs": step.cached_outputs,
        "expected_duration": step.expected_duration,
    }


def to_document(plan: Plan, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "zenctl_version": __version__,
        "workspace": plan.workspace,
        "targets": list(plan.targets),
        "replace": list(plan.replace),
        "state": {"lineage": plan.lineage, "serial": plan.serial},
        "stacks": plan.stacks,
        "steps": [_step(step) for step in plan.steps],
        "removed": [_step(step) for step in plan.removed],
        "resource_changes": [],
        "execution_order": [step.address for step in plan.steps if step.action is Action.RUN],
        "summary": summary(plan),
        **(extra or {}),
    }


def _step_from(entry: dict[str, Any]) -> StepPlan:
    return StepPlan(
        address=entry["address"],
        pipeline=entry["pipeline"],
        step=entry["step"],
        action=Action(entry["action"]),
        reasons=tuple(Reason(ReasonKind(r["kind"]), r["note"]) for r in entry["reasons"]),
        changes=tuple(
            Change(c["op"], c["path"], c["before"], c["after"]) for c in entry["changes"]
        ),
        components=entry["after"] or {},
        fingerprint=entry["fingerprint"],
        depends_on=tuple(entry["depends_on"]),
        cached_from=entry["cached_from"],
        cached_outputs=entry["cached_outputs"],
        expected_duration=entry["expected_duration"],
        before=entry["before"],
    )


def from_document(document: dict[str, Any]) -> Plan:
    """The `Plan` a document describes; the document must already be schema-valid."""
    return Plan(
        workspace=document["workspace"],
        lineage=document["state"]["lineage"],
        serial=document["state"]["serial"],
        steps=tuple(_step_from(entry) for entry in document["steps"]),
        removed=tuple(_step_from(entry) for entry in document["removed"]),
        stacks=document["stacks"],
        targets=tuple(document["targets"]),
        replace=tuple(document["replace"]),
    )
