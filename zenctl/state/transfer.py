"""A project's whole history as one JSON document, to move it between stores or back it up.

The document (its schema: specs/state.schema.json) carries the store's lineage and the key of
the hashes of sensitive values in fingerprints: imported elsewhere, every cached step stays
cached. The key makes the document as confidential as the store itself.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from zenctl import __version__
from zenctl.diagnostics import UserError
from zenctl.state.store import DERIVE_CURRENT, StateStore

FORMAT_VERSION = 3  # 2 adds secret_key, 3 each step's current state; older ones are still read
SCHEMA_FILE = Path(__file__).with_name("state.schema.json")

# Document section -> (table, columns, columns holding JSON text), in insertion order.
SECTIONS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "runs": (
        "runs",
        (
            "id",
            "workspace",
            "status",
            "started_at",
            "finished_at",
            "git_sha",
            "git_dirty",
            "zenctl_version",
            "username",
            "host",
            "summary",
        ),
        ("summary",),
    ),
    "executions": (
        "step_executions",
        (
            "id",
            "run_id",
            "workspace",
            "address",
            "serial",
            "status",
            "fingerprint",
            "components",
            "outputs",
            "started_at",
            "finished_at",
            "duration",
            "log_uri",
            "error",
        ),
        ("components", "outputs"),
    ),
    "artifacts": (
        "artifacts",
        ("hash", "materializer", "size", "uri", "created_at", "produced_by"),
        (),
    ),
    "lineage_edges": ("lineage_edges", ("execution_id", "direction", "name", "ref", "hash"), ()),
    "current": ("current_steps", ("workspace", "address", "execution_id", "serial"), ()),
}
_ORDER = {
    "runs": "started_at, id",
    "executions": "serial, id",
    "artifacts": "hash",
    "current": "workspace, address",
}


def export_state(store: StateStore) -> dict[str, Any]:
    state = store.db.query("SELECT lineage, serial, secret_key FROM zenctl_state WHERE id = 1")[0]
    document: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "zenctl_version": __version__,
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "lineage": state["lineage"],
        "serial": int(state["serial"]),
        "secret_key": state["secret_key"],
    }
    # Dependents first: rows are only ever added, so every execution an edge names, and every
    # run an execution names, is there when read after it, even while an apply is writing.
    for section, (table, columns, json_columns) in reversed(SECTIONS.items()):
        order = _ORDER.get(section, "execution_id, direction, name")
        rows = store.db.query(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}")
        document[section] = [_to_document(row, json_columns) for row in rows]
    return document


def _to_document(row: dict[str, Any], json_columns: tuple[str, ...]) -> dict[str, Any]:
    entry = dict(row)
    for column in json_columns:
        entry[column] = json.loads(entry[column]) if entry[column] else None
    if "git_dirty" in entry and entry["git_dirty"] is not None:
        entry["git_dirty"] = bool(entry["git_dirty"])  # SQLite and MySQL keep booleans as 0/1
    return entry


def read_document(path: Path) -> dict[str, Any]:
    """The state document in `path`, validated; a UserError says exactly what is wrong."""
    import jsonschema

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"Can't read {path}", f"{exc.strerror}.") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(
            f"{path} is not a state document",
            f"It is not valid JSON ({exc}). Make one with `zenctl state export FILE`.",
        ) from None
    version = document.get("format_version") if isinstance(document, dict) else None
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise UserError(
            f"{path} was exported by a newer zenctl",
            f"Its format_version is {version}; this zenctl reads up to {FORMAT_VERSION}. "
            "Upgrade zenctl to import it.",
        )
    schema = json.loads(SCHEMA_FILE.read_text())
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(document)
    )
    if error is not None:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        raise UserError(
            f"{path} is not a valid state document",
            f"At {where.lstrip('.') or 'the top level'}: {error.message}. "
            "Make one with `zenctl state export FILE`; see specs/state.schema.json.",
        )
    _check_references(path, document)
    return dict(document)


def _check_references(path: Path, document: dict[str, Any]) -> None:
    """Every reference resolves and every key is unique, as the store's constraints demand."""
    problems: list[str] = []
    keys = {
        "runs": [run["id"] for run in document["runs"]],
        "executions": [execution["id"] for execution in document["executions"]],
        "artifacts": [artifact["hash"] for artifact in document["artifacts"]],
        "lineage_edges": [
            (edge["execution_id"], edge["direction"], edge["name"])
            for edge in document["lineage_edges"]
        ],
        "current": [
            (entry["workspace"], entry["address"]) for entry in document.get("current", [])
        ],
    }
    for section, values in keys.items():
        counts = Counter(values)
        problems += [f"{section}: {key} appears twice" for key, n in counts.items() if n > 1]
    runs, executions = set(keys["runs"]), set(keys["executions"])
    problems += [
        f"executions[{i}]: run {e['run_id']} is not in runs"
        for i, e in enumerate(document["executions"])
        if e["run_id"] not in runs
    ]
    problems += [
        f"lineage_edges[{i}]: execution {e['execution_id']} is not in executions"
        for i, e in enumerate(document["lineage_edges"])
        if e["execution_id"] not in executions
    ]
    problems += [
        f"current[{i}]: execution {e['execution_id']} is not in executions"
        for i, e in enumerate(document.get("current", []))
        if e["execution_id"] not in executions
    ]
    if problems:
        more = f"; and {len(problems) - 5} more" if problems[5:] else ""
        shown = "; ".join(problems[:5]) + more
        raise UserError(f"{path} is not a consistent state document", f"{shown}.")


def is_empty(store: StateStore) -> bool:
    return not store.db.query("SELECT id FROM runs LIMIT 1")


def import_state(store: StateStore, document: dict[str, Any]) -> dict[str, int]:
    """Replace the store's history with the document's, in one transaction; counts per section.

    The serial moves past both the store's and the document's, so a plan saved against either
    before the import is refused as stale.
    """
    current = int(store.db.query("SELECT serial FROM zenctl_state WHERE id = 1")[0]["serial"])

    def replace() -> None:
        with store.db.transaction() as execute:
            store.fence(execute)
            for table in ("current_steps", "lineage_edges", "artifacts", "step_executions", "runs"):
                execute(f"DELETE FROM {table}")
            for section, (table, columns, json_columns) in SECTIONS.items():
                sql = (
                    f"INSERT INTO {table} ({', '.join(columns)}) "
                    f"VALUES ({', '.join(':' + column for column in columns)})"
                )
                for entry in document.get(section, []):
                    execute(sql, _to_row(entry, columns, json_columns))
            if "current" not in document:  # exported before format 3
                execute(DERIVE_CURRENT)
            execute(
                "UPDATE zenctl_state SET lineage = :lineage, serial = :serial, "
                "secret_key = :key WHERE id = 1",
                {
                    "lineage": document["lineage"],
                    "serial": max(current, document["serial"]) + 1,
                    "key": document.get("secret_key") or legacy_secret_key(document["lineage"]),
                },
            )

    store.db.retrying(replace)
    return {section: len(document.get(section, [])) for section in SECTIONS}


def legacy_secret_key(lineage: str) -> str:
    """The key stores had before schema 0005 (derived from the lineage), for documents
    exported then: their recorded hashes were made with it."""
    import blake3

    return blake3.blake3(f"zenctl-secrets:{lineage}".encode()).hexdigest()


def _to_row(
    entry: dict[str, Any], columns: tuple[str, ...], json_columns: tuple[str, ...]
) -> dict[str, Any]:
    row = {column: entry.get(column) for column in columns}
    for column in json_columns:
        if row[column] is not None:
            row[column] = json.dumps(row[column], sort_keys=True)
    return row
