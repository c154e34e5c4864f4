"""Saved plans: written by `plan --out`, executed by `apply FILE` only while still true.

A plan file is the plan document plus what it was computed from (the configuration's hashes,
the variable values: secrets only as a keyed hash) and an integrity hash over all of it.
It is JSON, never pickle: a plan file from an untrusted pull request cannot execute code.
The marker a plan's pull-request comment carries is read here too: it names the reviewed plan.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import blake3

from zenctl import __version__
from zenctl.config.variables import Sensitive
from zenctl.diagnostics import UserError
from zenctl.fingerprint.canonical import canonical_json, digest, short
from zenctl.paths import write_output
from zenctl.plan.basis import BASIS_SCHEMA, basis, differences, listing

SCHEMA_FILE = "plan.schema.json"
MIN_HASH_PREFIX = 16
MARKER = "zenctl-plan"  # `<!-- zenctl-plan {...} -->`, written by zenctl/render/plan_markdown.py
_MARKER_LINE = re.compile(f"<!-- {MARKER} (\\{{.*?\\}}) -->")
_MARKER_SCHEMA = {  # what `apply --expect-plan-comment` reads of a comment's marker
    "type": "object",
    "required": ["plan_hash"],
    "properties": {
        "plan_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "basis": BASIS_SCHEMA,
    },
}


def schema() -> dict[str, Any]:
    """The published JSON Schema of plan documents (shipped inside the package)."""
    path = Path(__file__).parent / SCHEMA_FILE
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


_SEALS = ("plan_hash", "plan_seal")  # what a plan's hash does not cover: itself, its seal


def plan_hash(document: dict[str, Any]) -> str:
    return digest({key: value for key, value in document.items() if key not in _SEALS})


def plan_seal(hash_: str, key: bytes) -> str:
    """`plan_hash` keyed by the metadata store's secret key: anyone can re-hash an edited
    plan, only zenctl planning against the store can seal one, so an edit is told from a
    plan gone stale (`check_saved_plan`)."""
    return blake3.blake3(hash_.encode(), key=key).hexdigest()


def plan_document(
    document: dict[str, Any], config_files: dict[str, str], variables: dict[str, Any], redact: Any
) -> dict[str, Any]:
    """The saved-plan document with its `plan_hash`, from the plan's JSON document
    (zenctl/render/plan_json.py): what `plan --out` writes, what a PR comment's marker carries
    and what `apply --expect-plan-hash` recomputes.

    Everything in it is a function of the configuration, the code, the variables and the state
    it was planned against, so planning twice against the same state gives the same hash.
    """
    recorded = {
        name: {"sensitive": redact(value)["sensitive"]}
        if isinstance(value, Sensitive)
        else {"value": value}
        for name, value in sorted(variables.items())
    }
    saved = {
        **document,
        "config": {"files": config_files, "hash": digest(config_files)},
        "variables": recorded,
    }
    saved["plan_hash"] = plan_hash(saved)
    return saved


def write_planfile(path: Path, document: dict[str, Any]) -> None:
    """Write a `plan_document` atomically: a crash never leaves half a plan behind."""
    write_output(path, canonical_json(document) + "\n", "plan", mode=0o666)  # a file to share


@dataclass(frozen=True, slots=True)
class Expected:
    """The reviewed plan apply must find: its hash (or a prefix of it), how it was given, and
    what it was computed from when the PR comment says (to name what differs)."""

    plan_hash: str
    given: str
    basis: dict[str, Any] | None


def expected_hash(value: str) -> Expected:
    """A hash given on the command line: the full 64 hex characters of a PR comment's marker,
    or a prefix of at least 16 (what `plan --out` prints)."""
    value = value.strip().lower()
    if not re.fullmatch(f"[0-9a-f]{{{MIN_HASH_PREFIX},64}}", value):
        raise UserError(
            "Invalid --expect-plan-hash",
            f"{value!r} is not a plan hash: give the 64 hex characters of the PR comment's "
            f"marker, or at least the first {MIN_HASH_PREFIX} that `zenctl plan --out` prints.",
        )
    return Expected(value, "--expect-plan-hash", None)


def read_markers(text: str) -> list[Any]:
    """The JSON of every marker in `text` (a comment, or just its marker line); a marker
    that is not JSON is an empty object, which no reader accepts."""
    found = []
    for raw in _MARKER_LINE.findall(text):
        try:
            found.append(json.loads(raw))
        except ValueError:
            found.append({})
    return found


def expected_comment(path: Path) -> Expected:
    """The plan reviewed in a PR comment: a file holding the comment, or just its marker line.
    The marker is only as trusted as the hash was: what it says it was computed from serves
    to word a refusal, never to decide one."""
    import jsonschema

    try:
        markers = read_markers(path.read_text(errors="replace"))
    except OSError as exc:
        raise UserError(
            "Cannot read the reviewed plan comment", f"{path}: {exc.strerror}."
        ) from None
    if len(markers) != 1:
        raise UserError(
            "Several plans in the comment" if markers else "No reviewed plan in the comment",
            f"{path} holds {len(markers) or 'no'} `<!-- {MARKER} ... -->` markers: give the "
            "plan comment that `zenctl plan --format markdown` wrote for this project. Nothing "
            "was run.",
        )
    try:
        jsonschema.validate(markers[0], _MARKER_SCHEMA)
    except jsonschema.ValidationError as exc:
        raise UserError(
            "The plan comment's marker is malformed",
            f"{path}: {exc.message}. Nothing was run. Plan again to get a new comment.",
        ) from None
    return Expected(
        markers[0]["plan_hash"], f"the plan reviewed in {path}", markers[0].get("basis")
    )


def check_expected_hash(
    expected: Expected, document: dict[str, Any], source: str, store: str
) -> None:
    """Refuse to apply anything but the plan that was reviewed, naming what differs when the
    comment says what the reviewed plan was computed from; `store` is the metadata store's
    URL without its password."""
    actual = document["plan_hash"]
    if actual.startswith(expected.plan_hash):
        return
    if expected.basis is None:
        causes = [
            f"{source} is not the reviewed plan, and a hash alone cannot say what differs: "
            "give the reviewed comment with --expect-plan-comment FILE for zenctl to name it"
        ]
    else:
        causes = differences(expected.basis, basis(document), document, store) or [
            "nothing it was computed from differs from the reviewed plan's (configuration, "
            "code, data, variables, state, artifacts, resources), so the comment's marker was "
            "probably edited"
        ]
    raise UserError(
        "Plan does not match the reviewed plan",
        f"{expected.given} is {expected.plan_hash[:16]}, but {source} has plan hash "
        f"{actual[:16]}{listing(causes)}Nothing was run. Plan again and review the new plan.",
    )


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def read_planfile(path: Path) -> dict[str, Any]:
    """Load a saved plan and refuse anything truncated, damaged, foreign or malformed.

    Its integrity hash only catches damage: anyone can recompute it. What makes a saved plan
    trustworthy is `check_saved_plan`, which apply runs against the plan computed now.
    """
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
    return document


def check_saved_plan(
    path: Path, saved: dict[str, Any], fresh: dict[str, Any], store: str, key: bytes | None
) -> None:
    """Refuse a saved plan unless it is, field for field, the `plan_document` computed now
    against the metadata store at `store` (its URL without the password), whose secret key
    is `key`.

    Apply then executes the plan computed now, never objects decoded from the file: nothing
    in the file is trusted, so recomputing its unkeyed plan_hash after an edit gains nothing.
    Its seal only tells why it is refused: a plan sealed with the key is as zenctl wrote it,
    and differs because what it was computed from moved; one not, because it was edited.
    """
    where = first_difference(saved, fresh)
    if where is None:
        return
    again = f"Nothing was run. Make a new plan: zenctl plan --out {path}"
    sealed = key is not None and saved.get("plan_seal") == plan_seal(saved["plan_hash"], key)
    # sealed with this store's key, if made against this store (another one's key is not ours)
    ours = saved.get("state", {}).get("lineage") == fresh["state"]["lineage"]
    if "plan_seal" in saved and ours and not sealed:
        raise UserError(
            "Saved plan does not match the plan computed now",
            f"{path} was edited after `zenctl plan --out` wrote it (or the metadata store's "
            f"key was rotated since): its seal does not match (first difference: {where}). "
            + again,
        )
    causes = differences(basis(saved), basis(fresh), fresh, store)
    if causes:
        raise UserError(
            "Saved plan is stale",
            f"{path} can no longer be applied as reviewed{listing(causes)}{again}",
        )
    cause = staleness(saved, fresh)
    if cause is not None:
        raise UserError(
            "Saved plan is stale",
            f"{path} can no longer be applied as reviewed: {cause} (first difference: {where}). "
            + again,
        )
    raise UserError(
        "Saved plan does not match the plan computed now",
        f"{path} differs from the plan zenctl computes now for the same configuration, "
        f"variables and state (first difference: {where}). It was edited after `zenctl plan "
        f"--out` wrote it. {again}",
    )


# the fields that say why a plan went stale first, in the order `staleness` looks at them
_FIRST = ("zenctl_version", "format_version", "workspace", "state", "config", "variables")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ABSENT = object()
_HASH = re.compile(r"[0-9a-f]{64}")


def first_difference(saved: Any, fresh: Any, path: str = "") -> str | None:
    """Where two JSON documents first differ, as `steps[2].cached_outputs.model.hash (X in
    the saved plan, Y now)`; None when they are equal. Types count: `1`, `1.0` and `true`
    differ, as they do for the step that would receive them; key order does not."""
    if isinstance(saved, dict) and isinstance(fresh, dict):
        keys = [k for k in _FIRST if k in fresh and not path] + list(fresh)
        keys += [key for key in saved if key not in fresh]
        for key in dict.fromkeys(keys):
            inner = f"{path}.{key}" if _NAME.fullmatch(key) else f"{path}[{json.dumps(key)}]"
            found = first_difference(
                saved.get(key, _ABSENT), fresh.get(key, _ABSENT), inner.lstrip(".")
            )
            if found is not None:
                return found
        return None
    if isinstance(saved, list) and isinstance(fresh, list):
        for index in range(max(len(saved), len(fresh))):
            found = first_difference(
                saved[index] if index < len(saved) else _ABSENT,
                fresh[index] if index < len(fresh) else _ABSENT,
                f"{path}[{index}]",
            )
            if found is not None:
                return found
        return None
    if type(saved) is type(fresh) and saved == fresh:
        return None
    return f"{path or 'the document'} is {_shown(saved)} in the saved plan, {_shown(fresh)} now"


def _shown(value: Any) -> str:
    if value is _ABSENT:
        return "absent"
    if isinstance(value, str) and _HASH.fullmatch(value):
        return short(value)
    text = canonical_json(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def staleness(saved: dict[str, Any], fresh: dict[str, Any]) -> str | None:
    """Why a step or resource would now be planned otherwise though nothing the plan was
    computed from differs (`differences` found nothing): the step's upstream moved, or the
    machine's resources that steps share (docs/resources.md)."""
    fresh_steps = {step["address"]: step for step in fresh["steps"]}
    for step in saved["steps"]:
        now_step = fresh_steps.get(step["address"])
        if (
            now_step is None
            or now_step["action"] != step["action"]
            or now_step["after"] != step["after"]
        ):
            moved = _what_moved(
                step["after"] or {}, (now_step["after"] or {}) if now_step else None
            )
            return f"{step['address']} would now be planned differently: {moved}"
    if {s["address"] for s in saved["removed"]} != {s["address"] for s in fresh["removed"]}:
        return "the steps to remove changed"
    planned = {change["address"]: change for change in saved["resource_changes"]}
    for change in fresh["resource_changes"]:
        was = planned.pop(change["address"], None)
        if was is None or was["action"] != change["action"]:
            return f"{change['address']} would now be planned differently: {change['action']}"
        if was["after"] != change["after"]:
            return f"{change['address']} would now be given other attributes"
    if saved.get("capacity") != fresh.get("capacity"):  # the steps' GPUs, memory, cpus
        return (
            "this machine offers other resources (CUDA_VISIBLE_DEVICES, ZENCTL_MEMORY, ZENCTL_CPUS)"
        )
    return None


def _what_moved(before: dict[str, Any], after: dict[str, Any] | None) -> str:
    if after is None:
        return "the step is no longer declared"
    moved = [
        key
        for key in ("run", "code", "deps", "params", "inputs", "outputs")
        if before.get(key) != after.get(key)
    ]
    for key in ("code", "deps"):  # by file
        if key in moved:
            old, new = before.get(key) or {}, after.get(key) or {}
            files = sorted(name for name in set(old) | set(new) if old.get(name) != new.get(name))
            return f"its {key} changed ({', '.join(files)})"
    return f"its {', '.join(moved) or 'upstream'} changed"
