"""What a plan was computed from, component by component: what a refusal names.

A plan hash says only that the plan computed now is not the reviewed one. The basis says what
moved: the zenctl version, the workspace, the state's lineage and serial, the --target,
--exclude and --replace options, and a short digest of each configuration file, code file,
data input, variable, damaged artifact and resource. It is a function of the saved-plan
document, so a saved plan holds it already; the pull-request comment's marker carries it for
`apply --expect-plan-comment`. It holds no secret: a sensitive variable is digested from its
keyed hash, and the store's URL is not part of it.
"""

from __future__ import annotations

import json
from typing import Any

from zenctl.fingerprint.canonical import canonical_json, digest
from zenctl.plan.model import ReasonKind

DAMAGE = (ReasonKind.ARTIFACT_MISSING.value, ReasonKind.ARTIFACT_CORRUPT.value)
MARKER_BUDGET = 16_000  # characters of basis in a comment's marker (GitHub allows 65,536 in all)
LISTED = 10  # causes one refusal names; the rest are counted
_SHORT = 16  # hex characters per digest: 64 bits tell files apart and keep the marker small
# the categories with one digest per item, which a marker may fold into a single digest
_ITEMS = ("options", "config", "code", "data", "variables", "artifacts", "resources")
_FLAGS = {"targets": "--target", "excludes": "--exclude", "replace": "--replace"}

_DIGESTS = {
    "oneOf": [{"type": "string"}, {"type": "object", "additionalProperties": {"type": "string"}}]
}
BASIS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["zenctl", "workspace", "state", *_ITEMS],
    "properties": {
        "zenctl": {"type": "string"},
        "workspace": {"type": "string"},
        "state": {
            "type": "object",
            "required": ["lineage", "serial"],
            "properties": {"lineage": {"type": "string"}, "serial": {"type": "integer"}},
        },
        "options": {
            "oneOf": [
                {"type": "string"},
                {
                    "type": "object",
                    "required": list(_FLAGS),
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            ]
        },
        **{name: _DIGESTS for name in _ITEMS if name != "options"},
    },
}


def _brief(value: Any) -> str:
    return digest(value)[:_SHORT]


def basis(document: dict[str, Any]) -> dict[str, Any]:
    """The basis of a saved-plan document (`plan_document`'s, or a schema-valid file's)."""
    code: dict[str, set[str]] = {}  # a file's hash is per step: of what that step reaches in it
    data: dict[str, str] = {}
    artifacts: dict[str, str] = {}
    for step in document["steps"]:
        after = step["after"] or {}
        for path, hash_ in after.get("code", {}).items():
            code.setdefault(path, set()).add(hash_)
        for entry in after.get("inputs", {}).values():
            if "path" in entry:  # a source: data read from the project, not another step's
                data[entry["path"]] = _brief(entry["hash"])
        damage = [reason for reason in step["reasons"] if reason["kind"] in DAMAGE]
        if damage:
            artifacts[step["address"]] = _brief(damage)
    return {
        "zenctl": document["zenctl_version"],
        "workspace": document["workspace"],
        "state": {"lineage": document["state"]["lineage"], "serial": document["state"]["serial"]},
        "options": {key: document[key] for key in _FLAGS},
        "config": {name: _brief(hash_) for name, hash_ in document["config"]["files"].items()},
        "code": {path: _brief(sorted(hashes)) for path, hashes in code.items()},
        "data": data,
        "variables": {name: _brief(entry) for name, entry in document["variables"].items()},
        "artifacts": artifacts,
        "resources": {
            change["address"]: _brief([change["state"], change["drift"]])
            for change in document["resource_changes"]
        },
    }


def for_marker(full: dict[str, Any], budget: int = MARKER_BUDGET) -> dict[str, Any]:
    """The basis as a comment's marker carries it: within `budget` characters, the largest
    categories folded into one digest each (a refusal then says one of their items moved)."""
    folded = dict(full)
    while len(canonical_json(folded)) > budget:
        largest = max(
            (name for name in _ITEMS if isinstance(folded[name], dict)),
            key=lambda name: len(canonical_json(folded[name])),
        )
        folded[largest] = _brief(folded[largest])
    return folded


def listing(causes: list[str]) -> str:
    """Causes after a colon, ready for the next sentence: inline when one, else one per line,
    the first LISTED of them and how many more."""
    if len(causes) == 1:
        return f": {causes[0]}. "
    lines = [f"\n  - {cause}" for cause in causes[:LISTED]]
    if len(causes) > LISTED:
        lines.append(f"\n  - and {len(causes) - LISTED} more")
    return ":" + "".join(lines) + "\n"


def differences(
    reviewed: dict[str, Any], now: dict[str, Any], fresh: dict[str, Any], store: str
) -> list[str]:
    """Every component that differs between the reviewed plan's basis and the basis of
    `fresh`, the plan computed now against the metadata store at `store` (a URL without its
    password), in words; empty when none does. `reviewed` is untrusted: a saved plan or a
    comment that anyone may have edited, so what it names is shown quoted when odd."""
    before, after = reviewed["state"], now["state"]
    same_store = before["lineage"] == after["lineage"]
    causes = []
    if reviewed["zenctl"] != now["zenctl"]:
        causes.append(
            f"it was planned with zenctl {_named(reviewed['zenctl'])}, this is zenctl "
            f"{now['zenctl']}"
        )
    if reviewed["workspace"] != now["workspace"]:
        causes.append(
            f"it was planned in workspace {_quoted(reviewed['workspace'])}, the current "
            f"workspace is {_quoted(now['workspace'])}"
        )
    if not same_store:
        causes.append(
            f"it was planned against state lineage {_named(before['lineage'])} (serial "
            f"{before['serial']}), but this store ({store}) is lineage {after['lineage']} "
            f"(serial {after['serial']}): another metadata store, or a re-created one"
        )
    elif before["serial"] != after["serial"]:
        causes.append(
            f"the state changed since it was planned: serial {before['serial']} -> "
            f"{after['serial']} in lineage {after['lineage']} (another apply landed)"
        )
    causes += _options(reviewed["options"], now["options"])
    causes += _items("config file", reviewed["config"], now["config"], {}, "was removed")
    # A code file's digest covers what each planned step reaches in it: other --target or
    # --exclude options plan other steps, and the digests no longer compare (the options are
    # named above)
    if _same_steps(reviewed["options"], now["options"]):
        code = _users(fresh, "code")
        causes += _items("code file", reviewed["code"], now["code"], code, "is no longer used")
    data = _users(fresh, "data")
    causes += _items("data input", reviewed["data"], now["data"], data, "is no longer read")
    state_moved = before != after
    causes += _variables(reviewed["variables"], now["variables"], fresh, state_moved, same_store)
    if not state_moved:  # else the apply in between, or the other store, explains their moves
        causes += _artifacts(reviewed["artifacts"], now["artifacts"], fresh)
        causes += _resources(reviewed["resources"], now["resources"], fresh)
    return causes


def _named(text: str) -> str:
    """A name from the reviewed plan as people read it; quoted when it is odd (a newline or
    an escape sequence would forge lines of the message)."""
    if text.isprintable() and 0 < len(text) <= 80 and not text.startswith('"'):
        return text
    return _quoted(text)


def _quoted(text: str) -> str:
    quoted = json.dumps(text)  # ASCII only: every control character escaped
    return quoted if len(quoted) <= 80 else f"{quoted[:77]}..."


def _folded(reviewed: str, now: dict[str, Any], moved: str) -> list[str]:
    """The cause for a category the comment's marker folded into one digest: only whether
    it moved, for the marker could not name its items."""
    if reviewed == _brief(now):
        return []
    return [f"{moved} (the plan comment holds too many to say which: `zenctl plan` shows why)"]


def _options(reviewed: Any, now: dict[str, list[str]]) -> list[str]:
    if isinstance(reviewed, str):
        return _folded(reviewed, now, "the --target, --exclude or --replace options differ")
    return [
        f"it was planned with {_flags(flag, reviewed[key])}, this apply has "
        f"{_flags(flag, now[key])}"
        for key, flag in _FLAGS.items()
        if reviewed[key] != now[key]
    ]


def _same_steps(reviewed: Any, now: dict[str, list[str]]) -> bool:
    """Whether both plans cover the same steps: the same --target and --exclude options."""
    if isinstance(reviewed, str):  # folded in a comment's marker: all options at once
        return reviewed == _brief(now)
    return all(reviewed[key] == now[key] for key in ("targets", "excludes"))


def _flags(flag: str, values: list[str]) -> str:
    return ", ".join(f"{flag} {_named(value)}" for value in values) or f"no {flag}"


def _users(fresh: dict[str, Any], kind: str) -> dict[str, list[str]]:
    """{code file or data path: the addresses of the steps that use it now}."""
    users: dict[str, list[str]] = {}
    for step in fresh["steps"]:
        after = step["after"] or {}
        names = (
            list(after.get("code", {}))
            if kind == "code"
            else [entry["path"] for entry in after.get("inputs", {}).values() if "path" in entry]
        )
        for name in dict.fromkeys(names):
            users.setdefault(name, []).append(step["address"])
    return users


def _items(
    what: str, reviewed: Any, now: dict[str, str], users: dict[str, list[str]], gone: str
) -> list[str]:
    if isinstance(reviewed, str):
        return _folded(reviewed, now, f"one of the {len(now)} {what}s changed")
    causes = []
    for name in sorted(set(reviewed) | set(now)):
        if name not in now:
            causes.append(f"{what} {_named(name)} {gone}")
        elif reviewed.get(name) != now[name]:
            moved = "changed" if name in reviewed else "is new"
            causes.append(f"{what} {_named(name)} {moved}{_by(users.get(name, []))}")
    return causes


def _by(addresses: list[str]) -> str:
    if not addresses:
        return ""
    more = f" and {len(addresses) - 1} more" if len(addresses) > 1 else ""
    return f" (used by {addresses[0]}{more})"


def _variables(
    reviewed: Any, now: dict[str, str], fresh: dict[str, Any], state_moved: bool, same_store: bool
) -> list[str]:
    values = fresh["variables"]
    secrets = [name for name, entry in values.items() if "sensitive" in entry]
    if isinstance(reviewed, str):
        # secrets included: on another store they differ whatever their values
        return _folded(reviewed, now, "a variable has another value") if same_store else []
    if not same_store:  # a secret's hash is keyed by its store: across stores it always differs
        reviewed = {**reviewed, **{name: now[name] for name in secrets if name in reviewed}}
    causes = []
    for name in sorted(set(reviewed) | set(now)):
        if name not in now:
            causes.append(f"variable {_named(name)} is no longer set")
        elif name not in reviewed:
            causes.append(f"variable {_named(name)} is set now, not when it was planned")
        elif reviewed[name] == now[name]:
            continue
        elif name in secrets:
            rekeyed = " (or `zenctl state rotate-key` ran)" if state_moved else ""
            causes.append(f"sensitive variable {_named(name)} has another value{rekeyed}")
        else:
            value = _named(canonical_json(values[name]["value"]))
            causes.append(f"variable {_named(name)} has another value ({value} now)")
    return causes


def _artifacts(reviewed: Any, now: dict[str, str], fresh: dict[str, Any]) -> list[str]:
    if isinstance(reviewed, str):
        return _folded(reviewed, now, "other cached artifacts are missing or corrupt")
    damage = {
        step["address"]: [reason for reason in step["reasons"] if reason["kind"] in DAMAGE]
        for step in fresh["steps"]
    }
    causes = []
    for address in sorted(set(reviewed) | set(now)):
        if address not in now:
            causes.append(
                f"{_named(address)}: its artifacts were missing or corrupt when it was planned, "
                "and are not now"
            )
        elif reviewed.get(address) != now[address]:
            found = damage[address][0]
            causes.append(
                f"{_named(address)} would now run: {found['kind']} ({_named(found['note'])})"
            )
    return causes


def _resources(reviewed: Any, now: dict[str, str], fresh: dict[str, Any]) -> list[str]:
    if isinstance(reviewed, str):
        return _folded(reviewed, now, "a resource changed outside zenctl")
    changes = {change["address"]: change for change in fresh["resource_changes"]}
    causes = []
    for address in sorted(set(reviewed) | set(now)):
        if address not in now:
            causes.append(f"{_named(address)} is no longer a resource of this workspace")
        elif address not in reviewed:
            causes.append(f"{_named(address)} is a resource now, not when it was planned")
        elif reviewed[address] != now[address]:
            gone = ": it is gone" if changes[address]["drift"]["gone"] else ""
            causes.append(f"{_named(address)} changed outside zenctl since it was planned{gone}")
    return causes
