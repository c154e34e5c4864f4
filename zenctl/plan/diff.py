"""The exact diff between a step's recorded components and its new ones, from deepdiff;
and how one line of a diff reads.

The wording lives here rather than in zenctl/render/ because apply's refusals quote what
moved too, and apply sits below the renderers; every rendering and the JSON plan use it.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from zenctl.fingerprint.canonical import short
from zenctl.plan.model import Change, Digest, Placeholder, Reason, Recorded, Value

_OPTIONAL_HEAVY = ("pandas", "numpy", "polars", "torch")


def _deepdiff() -> Any:
    """Import DeepDiff without the data libraries it loads eagerly when installed.

    Components are plain JSON, so those libraries are never needed here, and importing pandas
    alone costs ~0.7 s on a 2-core machine: hidden during the import unless already loaded.
    """
    hidden = [name for name in _OPTIONAL_HEAVY if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        from deepdiff import DeepDiff
    finally:
        for name in hidden:
            del sys.modules[name]
    return DeepDiff


def component_changes(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """Human lines for what differs, inputs whose hash is still unknown left out."""
    after = {**after, "inputs": {k: v for k, v in after["inputs"].items() if v["hash"] is not None}}
    before = {
        **before,
        "inputs": {k: v for k, v in before.get("inputs", {}).items() if k in after["inputs"]},
    }
    if _same_json(before, after):
        return []  # a step that reruns for its upstream alone: no need to build a DeepDiff
    diff = _deepdiff()(before, after, verbose_level=2, view="tree")
    changes: list[Change] = []
    for kind, items in diff.items():
        for item in items:
            changes.append(
                _describe(kind, item.path(output_format="list"), item.t1, item.t2, before, after)
            )
    return sorted(
        set(changes),
        key=lambda change: (_ORDER.get(change.path.split(".")[0].split(":")[0], 9), change.path),
    )


def _same_json(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Whether both are the same JSON: unlike `==`, it tells 1 from 1.0 and True, as
    DeepDiff does. Anything that is not JSON is left to DeepDiff."""
    try:
        return json.dumps(before, sort_keys=True) == json.dumps(after, sort_keys=True)
    except (TypeError, ValueError):
        return False


_ORDER = {
    "run": 0,
    "code": 1,
    "params": 2,
    "source": 3,
    "deps": 3,
    "inputs": 4,
    "outputs": 5,
    "metrics": 6,
}


def topic(change: Change) -> str:
    """What a change is about, read back from the path `_describe` gave it, for the concise
    plan to group steps by: `code: steps/util.py` (one per file, as a reviewer asks which file
    reran what), `params`, `data: source.raw` (`data: configs/` for a dep), `inputs`, `run`
    or `outputs`."""
    if change.path.startswith("code: "):
        return change.path
    if change.path.startswith("deps: "):
        return "data: " + change.path.removeprefix("deps: ").removesuffix(" changed")
    subject = change.path.split(":")[0]  # `source.raw: data/raw.txt changed` -> `source.raw`
    section = subject.split(".")[0]
    return f"data: {subject}" if section == "source" else section


def _describe(
    kind: str, path: list[Any], old: Any, new: Any, before: dict[str, Any], after: dict[str, Any]
) -> Change:
    op = "+" if kind.endswith("_added") else "-" if kind.endswith("_removed") else "~"
    section = path[0]
    if section == "code" and len(path) >= 2:
        return Change(op, f"code: {path[1]}")
    if section == "deps" and len(path) >= 2:
        return Change(op, f"deps: {path[1]}" + (" changed" if op == "~" else ""))
    if section == "deps":  # the step declared no deps before, or declares none now
        names = sorted((new if op == "+" else old) or {})
        return Change(op, f"deps: {', '.join(names)}")
    if section == "inputs" and len(path) >= 2:
        name = path[1]
        if op == "~" and path[2:] == ["ref"]:  # read from another step (or source), renamed
            return Change("~", f"inputs.{name}.ref", old, new)
        entry = (after if op != "-" else before)["inputs"][name]
        ref = entry["ref"]
        if ref.startswith("source.") and op == "~":
            return Change("~", f"{ref}: {entry.get('path', '')} changed")
        old_hash = before["inputs"].get(name, {}).get("hash")
        new_hash = after["inputs"].get(name, {}).get("hash")
        if op == "~":
            return Change("~", f"inputs.{name} ({ref})", Digest(old_hash), Digest(new_hash))
        return Change(
            op,
            f"inputs.{name}",
            after=ref if op == "+" else None,
            before=ref if op == "-" else None,
        )
    if section == "materializer_code":
        return _materializer_change(op, path, before, after)
    if section == "params" and path[-1] == "sensitive":  # a secret's keyed hash changed
        secret = ".".join(str(part) for part in path[:-1])
        return Change("~", secret, Recorded({"sensitive": old}), Recorded({"sensitive": new}))
    dotted = ".".join(str(part) for part in path)
    if op == "~":
        return Change("~", dotted, Recorded(old), Recorded(new))
    return Change(
        op,
        dotted,
        before=Recorded(old) if op == "-" else None,
        after=Recorded(new) if op == "+" else None,
    )


def _materializer_change(
    op: str, path: list[Any], before: dict[str, Any], after: dict[str, Any]
) -> Change:
    """`code: io.py (materializer of model)`: the project's own materializer, edited (or
    named, or no longer)."""
    if len(path) >= 3:
        return Change(op, f"code: {path[2]} (materializer of {path[1]})")
    side = (after if op != "-" else before)["materializer_code"]
    outputs = [str(path[1])] if len(path) == 2 else sorted(side)
    files = sorted({file for output in outputs for file in side[output]})
    return Change(op, f"code: {', '.join(files)} (materializer of {', '.join(outputs)})")


def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"sensitive"}


def holds_secret(value: Any) -> bool:
    """Whether a recorded value holds a secret's keyed hash, at any depth."""
    if isinstance(value, dict):
        return _is_secret(value) or any(holds_secret(item) for item in value.values())
    return isinstance(value, list) and any(holds_secret(item) for item in value)


def _masked(value: Any) -> Any:
    if _is_secret(value):
        return "(sensitive)"
    if isinstance(value, list):
        return [_masked(item) for item in value]
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    return value


def show_value(value: Any) -> str:
    """A recorded param as people read it: secrets, at any depth, as (sensitive)."""
    if _is_secret(value):
        return "(sensitive)"
    return json.dumps(_masked(value), sort_keys=True, ensure_ascii=False)


def shown(value: Value) -> str:
    """A side of a change as people read it: a hash abbreviated (the JSON plan has it in full
    elsewhere), a recorded value as JSON with its secrets masked, text as it is."""
    if isinstance(value, Digest):
        return short(value.hex)
    if isinstance(value, Recorded):
        return show_value(value.value)
    if isinstance(value, Placeholder):
        return f"({value.value})"
    return value


def change_body(change: Change) -> str:
    """A change's line without its op: `params.lr: 0.01 -> 0.02 (from var.base * 2)`."""
    origin = f" (from {change.origin})" if change.origin else ""
    if change.before is not None and change.after is not None:
        return f"{change.path}: {shown(change.before)} -> {shown(change.after)}{origin}"
    value = change.after if change.after is not None else change.before
    return change.path + (f": {shown(value)}" if value is not None else "") + origin


def reason_note(reason: Reason) -> str:
    """A reason's note: its words, or the damaged outputs with their hashes abbreviated."""
    if reason.outputs:
        return "output " + ", ".join(f"{name} {shown(digest)}" for name, digest in reason.outputs)
    return reason.note
