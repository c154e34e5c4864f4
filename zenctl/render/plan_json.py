"""The plan as a JSON document: what `plan --json` prints and what `plan --out` saves.

One structure serves both, with its schema published in specs/plan.schema.json. It is a
rendering like the others: the data whole (components, states, full hashes), and beside it the
diff lines and the summary worded as the terminal words them. `from_document` reads it back for
`zenctl show FILE`, every value then the text the document holds.
"""

from __future__ import annotations

from typing import Any

from zenctl import __version__
from zenctl.plan.diff import reason_note, shown
from zenctl.plan.model import (
    Action,
    Capacity,
    Change,
    Plan,
    Reason,
    ReasonKind,
    ResourceAction,
    ResourceChange,
    StepPlan,
)
from zenctl.render.plan_text import summary_line

FORMAT_VERSION = "1.9"  # 1.1: artifact reasons; 1.2: targets, replace, resource_changes;
# 1.3: summary.may_run, a step's moved_from; 1.4: a change's origin; 1.5: excludes;
# 1.6: a step's components may hold deps and metrics; 1.7: a step's resources, the capacity
# 1.8: a step's components may hold materializers; 1.9: and materializer_code


def summary(plan: Plan) -> dict[str, Any]:
    add, change, destroy = plan.resource_counts
    must, may = plan.run_counts
    return {
        "to_run": must,
        "may_run": may,
        "cached": len(plan.cached),
        "to_remove": len(plan.removed),
        "to_add": add,
        "to_change": change,
        "to_destroy": destroy,
        "text": summary_line(plan),
    }


def changes_entries(changes: tuple[Change, ...], origin: bool = True) -> list[dict[str, Any]]:
    """Diff lines as the plan and drift documents give them: each side worded as shown."""
    return [
        {
            "op": c.op,
            "path": c.path,
            "before": None if c.before is None else shown(c.before),
            "after": None if c.after is None else shown(c.after),
            **({"origin": c.origin} if origin else {}),
        }
        for c in changes
    ]


def _changes_from(entries: list[dict[str, Any]]) -> tuple[Change, ...]:
    return tuple(
        Change(c["op"], c["path"], c["before"], c["after"], c.get("origin")) for c in entries
    )


def _resource(change: ResourceChange) -> dict[str, Any]:
    return {
        "address": change.address,
        "kind": change.kind,
        "type": change.type,
        "action": change.action.value,
        "changes": changes_entries(change.changes),
        "forces_replacement": list(change.forces),
        "drift": {"gone": change.gone, "changes": changes_entries(change.drift)},
        "before": change.before,
        "after": change.after,
        "after_unknown": list(change.unknown),
        "state": change.state,
    }


def _resource_from(entry: dict[str, Any]) -> ResourceChange:
    return ResourceChange(
        address=entry["address"],
        kind=entry["kind"],
        type=entry["type"],
        action=ResourceAction(entry["action"]),
        changes=_changes_from(entry["changes"]),
        forces=tuple(entry["forces_replacement"]),
        drift=_changes_from(entry["drift"]["changes"]),
        gone=entry["drift"]["gone"],
        before=entry["before"],
        after=entry["after"],
        state=entry["state"],
        unknown=tuple(entry["after_unknown"]),
    )


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
        "reasons": [{"kind": r.kind.value, "note": reason_note(r)} for r in step.reasons],
        "changes": changes_entries(step.changes),
        "fingerprint": step.fingerprint,
        "before": step.before,
        "after": step.components or None,
        "after_unknown": {"inputs": unknown} if unknown else {},
        "depends_on": list(step.depends_on),
        "cached_from": step.cached_from,
        "cached_outputs": step.cached_outputs,
        "expected_duration": step.expected_duration,
        **({"resources": step.resources} if step.resources else {}),
        **({"moved_from": step.moved_from} if step.moved_from else {}),
    }


def to_document(plan: Plan) -> dict[str, Any]:
    """The plan's document, without what a saved plan adds (zenctl/plan/planfile.py)."""
    return {
        "format_version": FORMAT_VERSION,
        "zenctl_version": __version__,
        "workspace": plan.workspace,
        "targets": list(plan.targets),
        "excludes": list(plan.excludes),
        "replace": list(plan.replace),
        "state": {"lineage": plan.lineage, "serial": plan.serial},
        "stacks": plan.stacks,
        "steps": [_step(step) for step in plan.steps],
        "removed": [_step(step) for step in plan.removed],
        "resource_changes": [_resource(change) for change in plan.resources],
        "execution_order": [step.address for step in plan.steps if step.action is Action.RUN],
        "summary": summary(plan),
        **({"capacity": _capacity(plan.capacity)} if plan.capacity else {}),
    }


def _capacity(capacity: Capacity) -> dict[str, Any]:
    gpus = list(capacity.gpus) if capacity.gpus is not None else None
    return {"gpus": gpus, "memory": capacity.memory, "cpus": capacity.cpus}


def _step_from(entry: dict[str, Any]) -> StepPlan:
    return StepPlan(
        address=entry["address"],
        pipeline=entry["pipeline"],
        step=entry["step"],
        action=Action(entry["action"]),
        reasons=tuple(Reason(ReasonKind(r["kind"]), r["note"]) for r in entry["reasons"]),
        changes=_changes_from(entry["changes"]),
        components=entry["after"] or {},
        fingerprint=entry["fingerprint"],
        depends_on=tuple(entry["depends_on"]),
        cached_from=entry["cached_from"],
        cached_outputs=entry["cached_outputs"],
        expected_duration=entry["expected_duration"],
        before=entry["before"],
        moved_from=entry.get("moved_from"),
        resources=entry.get("resources", {}),
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
        resources=tuple(_resource_from(entry) for entry in document["resource_changes"]),
        targets=tuple(document["targets"]),
        replace=tuple(document["replace"]),
        excludes=tuple(document["excludes"]),
        capacity=_capacity_from(document.get("capacity")),
    )


def _capacity_from(entry: dict[str, Any] | None) -> Capacity | None:
    if entry is None:
        return None
    gpus = tuple(entry["gpus"]) if entry["gpus"] is not None else None
    return Capacity(gpus, entry["memory"], entry["cpus"])
