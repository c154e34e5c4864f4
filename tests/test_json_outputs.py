"""Every read command's --json: one document, valid against its schema in specs/, under the
shared conventions (specs/README.md), secrets masked as in the text."""

from __future__ import annotations

import datetime
import json
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import Project, Result
from test_sensitive import TOKEN, TOKEN_CONFIG, WITH_TOKEN

SPECS = Path(__file__).parent.parent / "specs"
AUTH_STEP = """
def auth(token: str, dsn: str, keys: list, retries: int) -> int:
    return len(token)
"""


def _document(result: Result, schema: str) -> dict[str, Any]:
    """The one JSON document a command printed, checked against specs/<schema>.schema.json."""
    assert result.code == 0, result.both
    document: dict[str, Any] = json.loads(result.out)  # one document, nothing around it
    jsonschema.validate(
        document,
        json.loads((SPECS / f"{schema}.schema.json").read_text()),
        format_checker=jsonschema.FormatChecker(),
    )
    assert document["format_version"] == "1.0" and document["zenctl_version"]
    return document


def _both_spellings(project: Project, *args: str, schema: str) -> dict[str, Any]:
    """The document of `args --json`, and the same with `-json`."""
    first = _document(project.run(*args, "--json"), schema)
    assert _document(project.run(*args, "-json"), schema) == first
    return first


def _recent(iso: str) -> bool:
    """An ISO 8601 UTC time (`...Z`) within the last ten minutes."""
    moment = datetime.datetime.fromisoformat(iso)
    assert moment.utcoffset() == datetime.timedelta(0), iso
    return 0 <= time.time() - moment.timestamp() < 600


@pytest.fixture
def applied(project: Project) -> Project:
    project.write("steps/secret.py", AUTH_STEP)
    project.write("secrets.zc.hcl", TOKEN_CONFIG)
    assert project.apply(env=WITH_TOKEN).code == 0
    return project


def test_show_step_run_and_artifact(applied: Project) -> None:
    step = _both_spellings(applied, "show", "pipeline.demo.step.features", schema="show")
    assert step["kind"] == "step" and step["workspace"] == "default"
    shown = step["step"]
    assert shown["address"] == "pipeline.demo.step.features" and shown["status"] == "succeeded"
    assert shown["components"]["params"] == {"factor": 2}
    assert {"steps/helpers.py", "steps/pipeline.py"} <= set(shown["components"]["code"])
    assert _recent(shown["finished_at"]) and shown["duration_seconds"] > 0
    assert shown["run"]["id"] == shown["run_id"]
    assert shown["input_producers"] == {"numbers": shown["run_id"]}
    assert step["last_attempt"] is None

    run = _both_spellings(applied, "show", shown["run_id"][:8], schema="show")
    assert run["kind"] == "run" and run["run"]["id"] == shown["run_id"]
    assert run["run"]["summary"]["ran"] == 6
    assert {e["address"] for e in run["executions"]} >= {"pipeline.demo.step.features"}

    output = shown["outputs"]["output"]["hash"]
    artifact = _both_spellings(applied, "show", output[:10], schema="show")
    assert artifact["kind"] == "artifact" and artifact["artifact"]["hash"] == output
    assert artifact["producer"]["address"] == "pipeline.demo.step.features"
    assert [c["address"] for c in artifact["consumers"]] == ["pipeline.demo.step.train"]


def test_a_failed_attempt_is_shown_after_the_state(applied: Project) -> None:
    applied.write("steps/helpers.py", "def scale_all(numbers, factor):\n    raise OSError('x')\n")
    assert applied.apply(env=WITH_TOKEN).code == 1
    step = _document(applied.run("show", "--json", "pipeline.demo.step.features"), "show")
    assert step["step"]["status"] == "succeeded"
    assert step["last_attempt"]["status"] == "failed" and "OSError" in step["last_attempt"]["error"]


def test_secrets_are_keyed_hashes_in_json_as_in_text(applied: Project) -> None:
    shown = applied.run("show", "--json", "pipeline.vault.step.auth")
    in_state = applied.run("state", "show", "--json", "pipeline.vault.step.auth")
    for result in (shown, in_state):
        assert TOKEN not in result.both
        params = _document(result, "show")["step"]["components"]["params"]
        assert set(params["token"]) == {"sensitive"} and params["retries"] == 3


def test_state_list_and_state_show(applied: Project) -> None:
    listed = _both_spellings(applied, "state", "list", schema="state-list")
    addresses = [entry["address"] for entry in listed["steps"]]
    assert addresses == applied.run("state", "list").out.split()
    assert "pipeline.demo.step.train" in addresses
    entry = listed["steps"][addresses.index("pipeline.demo.step.train")]

    state = _both_spellings(applied, "state", "show", "pipeline.demo.step.train", schema="show")
    assert state["step"]["fingerprint"] == entry["fingerprint"]
    assert state["step"]["id"] == entry["execution_id"]
    assert state == _document(applied.run("show", "--json", "pipeline.demo.step.train"), "show")


def test_workspace_list(applied: Project) -> None:
    assert applied.run("workspace", "new", "dev").code == 0
    listed = _both_spellings(applied, "workspace", "list", schema="workspace-list")
    assert listed["current"] == "dev"
    assert listed["workspaces"] == [
        {"name": "default", "current": False, "runs": 1},
        {"name": "dev", "current": True, "runs": 0},
    ]


def test_workspace_list_before_any_apply(project: Project) -> None:
    listed = _document(project.run("workspace", "list", "--json"), "workspace-list")
    assert listed["workspaces"] == [{"name": "default", "current": True, "runs": 0}]


def test_providers_version_and_schemas(project: Project) -> None:
    providers = _both_spellings(project, "providers", schema="providers")
    local = next(p for p in providers["providers"] if p["name"] == "local")
    assert {"kind": "orchestrator", "type": "local"}.items() <= local["components"][0].items()
    version = _both_spellings(project, "version", schema="version")
    assert {"name": "local", "version": local["version"]} in version["providers"]
    assert project.run("version").out.startswith(f"zenctl {version['zenctl_version']}\n")
    schemas = _both_spellings(project, "providers", "schema", schema="providers-schema")
    assert (
        "port"
        in schemas["providers"]["local"]["components"]["serving"]["local"]["schema"]["properties"]
    )


def test_the_schemas_refuse_what_they_do_not_describe(applied: Project) -> None:
    """The schemas are strict enough to catch a renamed or mistyped field."""
    document = json.loads(applied.run("show", "--json", "pipeline.demo.step.train").out)
    schema = json.loads((SPECS / "show.schema.json").read_text())
    for broken in (
        {**document, "step": {**document["step"], "finished": None}},
        {**document, "step": {**document["step"], "finished_at": 1764942930.0}},
        {**document, "kind": "run"},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema)
