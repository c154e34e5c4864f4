"""Saved plans: written by `plan --out`, executed by `apply FILE` only while still true.

A plan file is the plan document plus what it was computed from (the configuration's hashes,
the variable values: secrets only as a keyed hash) and an integrity hash over all of it.
It is JSON, never pickle: a plan file from an untrusted pull request cannot execute code.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from zenctl import __version__
from zenctl.config.variables import Sensitive
from zenctl.diagnostics import UserError
from zenctl.fingerprint.canonical import canonical_json, digest
from zenctl.plan.document import from_document, to_document
from zenctl.plan.model import Plan, ReasonKind
from zenctl.state.store import EMPTY_LINEAGE

SCHEMA_FILE = "plan.schema.json"
MIN_HASH_PREFIX = 16
_DAMAGE = (ReasonKind.ARTIFACT_MISSING, ReasonKind.ARTIFACT_CORRUPT)


def schema() -> dict[str, Any]:
    """The published JSON Schema of plan documents (shipped inside the package)."""
    path = Path(__file__).parent / SCHEMA_FILE
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def plan_hash(document: dict[str, Any]) -> str:
    return digest({key: value for key, value in document.items() if key != "plan_hash"})


def plan_document(
    plan: Plan, config_files: dict[str, str], variables: dict[str, Any], redact: Any
) -> dict[str, Any]:
    """The saved-plan document with its `plan_hash`: what `plan --out` writes, what a PR
    comment's marker carries and what `apply --expect-plan-hash` recomputes.

    Everything in it is a function of the configuration, the code, the variables and the state
    it was planned against, so planning twice against the same state gives the same hash.
    """
    recorded = {
        name: {"sensitive": redact(value)["sensitive"]}
        if isinstance(value, Sensitive)
        else {"value": value}
        for name, value in sorted(variables.items())
    }
    document = to_document(
        plan,
        {"config": {"hash": digest(config_files), "files": config_files}, "variables": recorded},
    )
    document["plan_hash"] = plan_hash(document)
    return document


def write_planfile(path: Path, document: dict[str, Any]) -> None:
    """Write a `plan_document` atomically: a crash never leaves half a plan behind."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(canonical_json(document) + "\n")
    os.replace(temporary, path)


def expected_hash(value: str) -> str:
    """A hash given on the command line: the full 64 hex characters of a PR comment's marker,
    or a prefix of at least 16 (what `plan --out` prints)."""
    value = value.strip().lower()
    if not re.fullmatch(f"[0-9a-f]{{{MIN_HASH_PREFIX},64}}", value):
        raise UserError(
            "Invalid --expect-plan-hash",
            f"{value!r} is not a plan hash: give the 64 hex characters of the PR comment's "
            f"marker, or at least the first {MIN_HASH_PREFIX} that `zenctl plan --out` prints.",
        )
    return value


def check_expected_hash(expected: str, actual: str, source: str, cause: str) -> None:
    """Refuse to apply anything but the plan that was reviewed; `cause` says what differs."""
    if not actual.startswith(expected):
        raise UserError(
            "Plan does not match the reviewed plan",
            f"--expect-plan-hash is {expected[:16]}, but {source} has plan hash {actual[:16]}: "
            f"{cause}. Nothing was run. Plan again and review the new plan.",
        )


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def read_planfile(path: Path) -> tuple[dict[str, Any], Plan]:
    """Load and verify a saved plan: refuse anything truncated, tampered or foreign."""
    try:
        # NaN and Infinity are not JSON: zenctl never writes them, so a file holding one was
        # edited, and it could not be hashed to check its integrity anyway.
        document = json.loads(path.read_text(), parse_constant=_not_json)
    except OSError as exc:
        raise UserError("Cannot read the saved plan", f"{path}: {exc.strerror}.") from None
    except ValueError:
        raise UserError(
            "Saved plan is corrupt",
            f"{path} is not a complete JSON document (truncated or not a zenctl plan). "
            "Nothing was run. Make a new one with `zenctl plan --out FILE`.",
        ) from None
    if not isinstance(document, dict) or "plan_hash" not in document:
        raise UserError(
            "Not a saved plan", f"{path} has no plan_hash; was it made by `zenctl plan --out`?"
        )
    if plan_hash(document) != document["plan_hash"]:
        raise UserError(
            "Saved plan was modified",
            f"{path} does not match its own integrity hash: it was edited or damaged after "
            "`zenctl plan --out` wrote it. Nothing was run.",
        )
    if document.get("zenctl_version") != __version__:
        raise UserError(
            "Saved plan was made by another zenctl version",
            f"{path} was made by zenctl {document.get('zenctl_version')}, this is {__version__}. "
            "Plan again with this version.",
        )
    import jsonschema

    try:
        jsonschema.validate(document, schema())
    except jsonschema.ValidationError as exc:
        raise UserError("Saved plan does not match the plan schema", exc.message) from None
    if "config" not in document or "variables" not in document:  # optional in `plan --json`
        raise UserError(
            "Not a saved plan",
            f"{path} does not record the configuration and variables it was made from; "
            "save plans with `zenctl plan --out FILE`, not `plan --json`.",
        )
    return document, from_document(document)


def staleness(
    saved: Plan, fresh: Plan, document: dict[str, Any], config_files: dict[str, str]
) -> str | None:
    """Why a saved plan no longer describes what would happen, or None when it still does."""
    if saved.workspace != fresh.workspace:
        return (
            f'it was made in workspace "{saved.workspace}", but the current workspace is '
            f'"{fresh.workspace}"'
        )
    if saved.lineage == EMPTY_LINEAGE:
        if fresh.serial != 0:
            return "the state changed since it was made: it predates the first apply"
    elif saved.lineage != fresh.lineage:
        return (
            f"it was made against state lineage {saved.lineage}, but the metadata store has "
            f"lineage {fresh.lineage} (another store or a re-created one)"
        )
    elif saved.serial != fresh.serial:
        return (
            f"the state changed since it was made (serial {saved.serial} -> {fresh.serial}): "
            "another apply landed"
        )
    changed = sorted(
        name
        for name in set(config_files) | set(document["config"]["files"])
        if config_files.get(name) != document["config"]["files"].get(name)
    )
    if changed:
        return f"the configuration changed since it was made: {', '.join(changed)}"
    fresh_steps = {step.address: step for step in fresh.steps}
    for step in saved.steps:
        now = fresh_steps.get(step.address)
        if now is None or now.action != step.action or now.components != step.components:
            damage = [r for r in now.reasons if r.kind in _DAMAGE] if now else []
            moved = (
                f"{damage[0].kind.value} ({damage[0].note})"
                if damage
                else _what_moved(step.components, now.components if now else None)
            )
            return f"{step.address} would now be planned differently: {moved}"
    if {s.address for s in saved.removed} != {s.address for s in fresh.removed}:
        return "the steps to remove changed"
    return None


def _what_moved(before: dict[str, Any], after: dict[str, Any] | None) -> str:
    if after is None:
        return "the step is no longer declared"
    moved = [
        key
        for key in ("run", "code", "params", "inputs", "outputs")
        if before.get(key) != after.get(key)
    ]
    if "code" in moved:
        old, new = before.get("code") or {}, after.get("code") or {}
        files = sorted(name for name in set(old) | set(new) if old.get(name) != new.get(name))
        return f"its code changed ({', '.join(files)})"
    return f"its {', '.join(moved) or 'upstream'} changed"
