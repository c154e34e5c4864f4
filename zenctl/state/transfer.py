"""A project's whole history as one JSON document, to move it between stores or back it up.

The document (its schema: specs/state.schema.json) carries every table of the store's
history: runs, step executions (with their executors' details and their metrics), what each
run reused, artifacts, lineage edges, each step's current state and the resources the applies
created, in every workspace, with the store's lineage, serial and the key of the hashes of
sensitive values in fingerprints: imported elsewhere, every cached step stays cached and every
resource stays managed. The key makes the document as confidential as the store itself. The state
locks are not history and stay behind: an import holds its own.

`StateStore.export_document` and `StateStore.import_document` (the `Transfer` mixin) read and
write the store; `read_document` reads and checks a file before anything is written.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zenctl import __version__
from zenctl.diagnostics import UserError
from zenctl.state.base import StoreBase, retried
from zenctl.state.db import Row
from zenctl.state.keys import legacy_secret_key
from zenctl.state.writing import DERIVE_CURRENT

# 2 adds secret_key, 3 each step's current state, 4 resources and executions' details, 5
# metrics and what each run reused (placements); older ones are still read.
FORMAT_VERSION = 5
SCHEMA_FILE = Path(__file__).with_name("state.schema.json")


@dataclass(frozen=True, slots=True)
class Section:
    """One table of the store as a list in the document."""

    table: str
    columns: tuple[str, ...]
    json_columns: tuple[str, ...]  # JSON text in the table, JSON values in the document
    order: str  # so that two exports of the same history are the same text
    booleans: tuple[str, ...] = ()  # SQLite and MySQL keep booleans as 0 and 1

    def entry(self, row: Row) -> dict[str, Any]:
        """The document's entry for a row of the table."""
        entry = dict(row)
        for column in self.json_columns:
            entry[column] = json.loads(entry[column]) if entry[column] else None
        for column in self.booleans:
            if entry[column] is not None:
                entry[column] = bool(entry[column])
        return entry

    def row(self, entry: dict[str, Any]) -> Row:
        """The table's row for an entry of the document (absent from an older one: null)."""
        row = {column: entry.get(column) for column in self.columns}
        for column in self.json_columns:
            if row[column] is not None:
                row[column] = json.dumps(row[column], sort_keys=True)
        return row


# In insertion order: each section names rows of the ones before it only.
SECTIONS: dict[str, Section] = {
    "runs": Section(
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
        "started_at, id",
        booleans=("git_dirty",),
    ),
    "executions": Section(
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
            "details",
        ),
        ("components", "outputs", "details"),
        "serial, id",
    ),
    "artifacts": Section(
        "artifacts",
        ("hash", "materializer", "size", "uri", "created_at", "produced_by"),
        (),
        "hash",
    ),
    "lineage_edges": Section(
        "lineage_edges",
        ("execution_id", "direction", "name", "ref", "hash"),
        (),
        "execution_id, direction, name",
    ),
    "metrics": Section(
        "metrics",
        ("execution_id", "output", "name", "value", "value_json"),
        (),
        "execution_id, output, name",
    ),
    "placements": Section(
        "run_placements",
        ("run_id", "workspace", "address", "execution_id", "serial"),
        (),
        "serial, run_id, address",
    ),
    "current": Section(
        "current_steps",
        ("workspace", "address", "execution_id", "serial"),
        (),
        "workspace, address",
    ),
    "resources": Section(
        "resources",
        ("workspace", "address", "kind", "type", "attributes", "state", "serial", "updated_at"),
        ("attributes", "state"),
        "workspace, address",
    ),
}


class Transfer(StoreBase):
    @retried
    def export_document(self) -> dict[str, Any]:
        """The store's whole history, every workspace's, as a state document."""
        state = self.db.query("SELECT lineage, serial, secret_key FROM zenctl_state WHERE id = 1")
        document: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "zenctl_version": __version__,
            "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "lineage": state[0]["lineage"],
            "serial": int(state[0]["serial"]),
            "secret_key": state[0]["secret_key"],
        }
        # Dependents first: runs, executions and artifacts are only ever added, so every
        # execution an edge or a current state names, and every run an execution names, is
        # there when read after it, even while an apply is writing (an export takes no lock).
        for name, section in reversed(SECTIONS.items()):
            rows = self.db.query(
                f"SELECT {', '.join(section.columns)} FROM {section.table} ORDER BY {section.order}"
            )
            document[name] = [section.entry(row) for row in rows]
        return document

    @retried
    def import_document(self, document: dict[str, Any]) -> dict[str, int]:
        """Replace the store's history with the document's (one that `read_document` passed),
        in one transaction; the number of entries of each section.

        The serial moves past both the store's and the document's, so a plan saved against
        either before the import is refused as stale.
        """
        with self.db.transaction() as execute:
            self.fence(execute)
            serial = int(execute("SELECT serial FROM zenctl_state WHERE id = 1").fetchone()[0])
            for section in reversed(SECTIONS.values()):
                execute(f"DELETE FROM {section.table}")
            for name, section in SECTIONS.items():
                columns = section.columns
                sql = (
                    f"INSERT INTO {section.table} ({', '.join(columns)}) "
                    f"VALUES ({', '.join(':' + column for column in columns)})"
                )
                for entry in document.get(name, []):
                    execute(sql, section.row(entry))
            if "current" not in document:  # exported before format 3
                execute(DERIVE_CURRENT)
            execute(
                "UPDATE zenctl_state SET lineage = :lineage, serial = :serial, "
                "secret_key = :key WHERE id = 1",
                {
                    "lineage": document["lineage"],
                    "serial": max(serial, document["serial"]) + 1,
                    "key": document.get("secret_key") or legacy_secret_key(document["lineage"]),
                },
            )
        return {name: len(document.get(name, [])) for name in SECTIONS}


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
        "metrics": [
            (entry["execution_id"], entry["output"], entry["name"])
            for entry in document.get("metrics", [])
        ],
        "placements": [
            (entry["run_id"], entry["serial"], entry["address"])
            for entry in document.get("placements", [])
        ],
        "resources": [
            (entry["workspace"], entry["address"]) for entry in document.get("resources", [])
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
        f"{section}[{i}]: execution {e['execution_id']} is not in executions"
        for section in ("current", "metrics", "placements")
        for i, e in enumerate(document.get(section, []))
        if e["execution_id"] not in executions and (e["execution_id"] or section != "placements")
    ]
    problems += [
        f"placements[{i}]: run {e['run_id']} is not in runs"
        for i, e in enumerate(document.get("placements", []))
        if e["run_id"] not in runs
    ]
    if problems:
        more = f"; and {len(problems) - 5} more" if problems[5:] else ""
        shown = "; ".join(problems[:5]) + more
        raise UserError(f"{path} is not a consistent state document", f"{shown}.")
