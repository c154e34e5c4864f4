"""`zenctl drift` and `plan --refresh-only`: what changed since the last apply, for scheduled CI.

Source data changed or gone, a resource changed or deleted outside zenctl (a greeting file, a
killed model server) are drift (exit 2); code and param edits are not. Read-only: the state,
the caches and the lock are left exactly as they were.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
from pathlib import Path
from typing import Any

import blake3
import jsonschema
import yaml
from conftest import ZENCTL, Project
from test_deps import make as with_deps
from test_locking import hold
from test_providers import HELLO
from test_serving import CONFIG, DEPLOYMENT, MODEL, _health, _url, servers_killed_after

from zenctl.fingerprint.files import StatCache
from zenctl.plan.drift import DepDrift, SourceDrift, data_drift
from zenctl.state.records import Execution

SCHEMA = json.loads((Path(__file__).parent.parent / "specs/drift.schema.json").read_text())


def _drift(project: Project, *args: str) -> Any:
    """`drift --json`, checked against its schema."""
    result = project.run("drift", "--json", *args)
    assert result.code in (0, 2), result.both
    document = json.loads(result.out)
    jsonschema.validate(document, SCHEMA)
    assert document["summary"]["drifted"] is (result.code == 2)
    return document


def _hash(text: str) -> str:
    return blake3.blake3(text.encode()).hexdigest()


def test_source_data_is_drift_code_and_params_are_not(project: Project) -> None:
    none_yet = project.run("drift")
    assert none_yet.code == 0, none_yet.both
    assert "No state recorded yet: nothing was applied" in none_yet.out
    assert none_yet.out.rstrip().endswith("No drift. 0 resources and 0 source files checked.")
    if project.store.kind == "sqlite":
        assert not (project.root / ".zenctl" / "metadata.db").exists()  # nothing created

    assert project.apply().code == 0
    clean = project.run("drift")
    assert clean.code == 0, clean.both
    assert clean.out.strip() == "No drift. 0 resources and 1 source files checked."

    project.write("steps/helpers.py", "def scale_all(numbers, factor):\n    return numbers\n")
    edited = project.run("drift", "--var", "factor=3")
    assert edited.code == 0, edited.both  # the user's own edits: `plan` reviews them
    assert "No drift." in edited.out and "run" not in edited.out
    assert project.run("plan", "--var", "factor=3", "--detailed-exitcode").code == 2

    project.write("data/raw.txt", "1 2 3\n")
    changed = project.run("drift")
    assert changed.code == 2, changed.both
    assert "! pipeline.demo.step.prep  source data changed" in changed.out
    before, after = _hash("1 2 3 4 5\n"), _hash("1 2 3\n")
    assert f"~ inputs.raw (data/raw.txt): {before[:10]} -> {after[:10]}" in changed.out
    assert changed.out.rstrip().endswith(
        "Drift: 0 resources changed, 1 steps' source data changed."
    )
    assert "features" not in changed.out  # it reads no source: only prep is named
    document = _drift(project)
    (step,) = document["steps"]
    assert step["address"] == "pipeline.demo.step.prep"
    assert step["sources"] == [
        {
            "input": "raw",
            "ref": "source.raw",
            "path": "data/raw.txt",
            "before": before,
            "after": after,
            "missing": False,
        }
    ]
    assert document["resources"] == []

    (project.root / "data" / "raw.txt").unlink()
    missing = project.run("drift")
    assert missing.code == 2, missing.both
    assert "! pipeline.demo.step.prep  source data missing" in missing.out
    assert f"~ inputs.raw (data/raw.txt): {before[:10]} -> (missing)" in missing.out
    (source,) = _drift(project)["steps"][0]["sources"]
    assert source["after"] is None and source["missing"] is True

    project.write("data/raw.txt", "1 2 3 4 5\n")  # the recorded bytes again: no drift
    assert project.run("drift").code == 0


def test_a_changed_or_deleted_dep_is_drift(project: Project) -> None:
    with_deps(project)  # extra: deps data/extra.csv; configs: deps configs/, data/extra.csv
    assert project.apply().code == 0
    clean = project.run("drift")
    assert clean.code == 0, clean.both
    assert clean.out.strip() == "No drift. 0 resources and 2 source files checked."
    assert _drift(project)["steps"] == []

    project.write("configs/two.yaml", "y: 2\n")
    changed = project.run("drift")
    assert changed.code == 2, changed.both
    assert "! pipeline.demo.step.configs  deps changed" in changed.out
    assert "~ deps: configs/ changed" in changed.out
    assert "step.extra" not in changed.out and "data/extra.csv" not in changed.out
    assert changed.out.rstrip().endswith(
        "Drift: 0 resources changed, 1 steps' source data changed."
    )
    (step,) = _drift(project)["steps"]
    assert step["address"] == "pipeline.demo.step.configs" and step["sources"] == []
    (dep,) = step["deps"]
    assert dep["path"] == "configs/" and dep["missing"] is False
    assert dep["after"] is not None and dep["after"] != dep["before"]
    assert step["changes"] == [
        {"op": "~", "path": "deps: configs/ changed", "before": None, "after": None}
    ]
    detailed = project.run("plan", "--refresh-only", "--detailed-exitcode")
    assert detailed.code == 2 and "~ deps: configs/ changed" in detailed.out

    (project.root / "data" / "extra.csv").unlink()
    deleted = project.run("drift")
    assert deleted.code == 2, deleted.both
    assert "! pipeline.demo.step.extra  deps deleted" in deleted.out
    assert "~ deps: data/extra.csv deleted" in deleted.out
    assert "! pipeline.demo.step.configs  deps changed" in deleted.out  # one of two deleted
    assert "Drift: 0 resources changed, 2 steps' source data changed." in deleted.out
    configs, extra = _drift(project)["steps"]
    assert [dep["path"] for dep in configs["deps"]] == ["configs/", "data/extra.csv"]
    assert extra["deps"] == [
        {"path": "data/extra.csv", "before": _hash("a,b\n"), "after": None, "missing": True}
    ]

    project.write("data/extra.csv", "a,b\n")  # the recorded bytes again: no drift
    (project.root / "configs" / "two.yaml").unlink()
    assert project.run("drift").code == 0


def test_refresh_only_plan_reports_drift_and_exits_2_only_when_asked(project: Project) -> None:
    assert project.apply().code == 0
    project.write("data/raw.txt", "7\n")
    reported = project.run("plan", "-refresh-only")
    assert reported.code == 0, reported.both  # as Terraform's: 2 needs --detailed-exitcode
    assert reported.out == project.run("drift").out
    assert "to run" not in reported.out and "cached" not in reported.out
    for spelling in ("-refresh-only", "--refresh-only"):
        detailed = project.run("plan", spelling, "-detailed-exitcode")
        assert detailed.code == 2, detailed.both
        assert "source data changed" in detailed.out
    as_json = project.run("plan", "--refresh-only", "--json")
    assert json.loads(as_json.out) == json.loads(project.run("drift", "-json").out)
    markdown = project.run("plan", "--refresh-only", "--format", "markdown")
    assert markdown.out == project.run("drift", "-format", "markdown").out
    assert markdown.out.startswith(f"### zenctl drift for `{project.root.name}`")
    assert "- `pipeline.demo.step.prep`: source data changed\n" in markdown.out

    project.write("data/raw.txt", "1 2 3 4 5\n")
    assert project.run("plan", "-refresh-only", "-detailed-exitcode").code == 0


def test_refresh_only_refuses_what_it_has_no_use_for(project: Project) -> None:
    refused = project.run("plan", "--refresh-only", "--out", "plan.json", "-target", "x")
    assert refused.code == 1
    assert "--refresh-only takes no --out, --target" in refused.err
    assert not (project.root / "plan.json").exists()
    conflicting = project.run("plan", "-refresh-only", "-refresh=false")
    assert conflicting.code == 1
    assert "Conflicting options: --refresh-only and --refresh=false" in conflicting.err
    assert "Traceback" not in refused.both + conflicting.both


def test_drift_writes_nothing_and_takes_no_lock(project: Project) -> None:
    assert project.apply().code == 0
    project.write("data/raw.txt", "9 9\n")  # hashed now, but the stat cache is not saved
    hold(project, "ci-runner-7", 4242)  # an apply in progress elsewhere
    before = _files(project.root)
    assert project.run("drift").code == 2
    assert project.run("drift", "--json").code == 2
    assert project.run("drift", "--format", "markdown").code == 2
    assert project.run("plan", "--refresh-only").code == 0
    assert _files(project.root) == before  # the metadata db byte for byte, caches, everything
    blocked = project.run("apply", "--auto-approve")
    assert blocked.code == 1 and "Error acquiring the state lock" in blocked.err


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_a_resource_changed_or_deleted_outside_zenctl_is_drift(project: Project) -> None:
    project.write("main.zc.hcl", HELLO)
    greeting = project.root / "out" / "hello.txt"
    assert project.apply().code == 0
    clean = project.run("drift", "--var", "text=Bonjour")  # a config edit: not drift
    assert clean.code == 0, clean.both
    assert "No drift. 1 resources and 1 source files checked." in clean.out

    greeting.write_text("edited by hand\n")
    changed = project.run("drift")
    assert changed.code == 2, changed.both
    assert "! stack.dev.greeting  changed" in changed.out
    assert "~ sha256: " in changed.out
    assert "Drift: 1 resources changed, 0 steps' source data changed." in changed.out
    (resource,) = _drift(project)["resources"]
    assert resource["address"] == "stack.dev.greeting" and resource["gone"] is False
    assert resource["after"]["sha256"] != resource["before"]["sha256"]
    assert [change["path"] for change in resource["changes"]] == ["sha256"]

    greeting.unlink()
    gone = project.run("drift")
    assert gone.code == 2, gone.both
    assert "! stack.dev.greeting  no longer exists" in gone.out
    (resource,) = _drift(project)["resources"]
    assert resource["gone"] is True and resource["after"] is None
    assert not greeting.exists()  # reported, not repaired

    project.sql("UPDATE resources SET state = :state", state='{"file": 5}')  # unreadable
    failed = project.run("drift")
    assert failed.code == 1, failed.both
    assert "Refreshing stack.dev.greeting failed" in failed.err
    assert 'greeting "file" raised TypeError' in failed.err and "Traceback" not in failed.err


def test_a_model_server_deleted_out_of_band_is_drift(project: Project) -> None:
    project.write("steps/model.py", MODEL)
    project.write("main.zc.hcl", CONFIG.replace("DEPLOYMENT", DEPLOYMENT))
    with servers_killed_after() as pids:
        created = project.apply()
        assert created.code == 0, created.both
        pid = _health(_url(created.out))["pid"]
        pids.add(pid)
        clean = project.run("drift")
        assert clean.code == 0, clean.both
        assert "No drift. 1 resources and 0 source files checked." in clean.out

        os.kill(pid, signal.SIGKILL)
        drifted = project.run("drift")
        assert drifted.code == 2, drifted.both
        assert "! pipeline.p.deployment.api  no longer exists" in drifted.out
        (resource,) = _drift(project)["resources"]
        assert resource["address"] == "pipeline.p.deployment.api"
        assert resource["kind"] == "serving" and resource["type"] == "local"
        assert resource["gone"] is True and resource["before"]["pid"] == pid


def _execution(
    id_: str, status: str, inputs: dict[str, dict[str, object]], deps: dict[str, str] | None = None
) -> Execution:
    """A recorded execution with only what drift reads: its status, inputs and deps."""
    components: dict[str, object] = {"inputs": inputs, **({"deps": deps} if deps else {})}
    return Execution(
        id_, "run", "", 1, status, None, components, {}, None, None, None, None, None, {}
    )


def test_each_source_is_hashed_once_and_only_settled_successes_count(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("a\n")
    now = _hash("a\n")
    source = {"ref": "source.a", "path": "data/a.csv"}
    settled = {
        "pipeline.p.step.fresh": _execution("x", "succeeded", {"raw": {**source, "hash": now}}),
        "pipeline.p.step.stale": _execution(
            "y",
            "succeeded",
            {
                "raw": {**source, "hash": "0" * 64},
                "up": {"ref": "step.fresh.outputs.output", "hash": "1" * 64},  # not a source
            },
        ),
        "pipeline.p.step.gone": _execution(
            "z", "removed", {"raw": {"ref": "source.b", "path": "nope", "hash": now}}
        ),
    }
    cache = StatCache(tmp_path / "stat.json")
    steps, checked = data_drift(tmp_path, settled, cache)
    assert checked == 1  # data/a.csv, read by two steps; a removed step's source is not checked
    assert [(step.address, step.sources) for step in steps] == [
        (
            "pipeline.p.step.stale",
            (SourceDrift("raw", "source.a", "data/a.csv", "0" * 64, now),),
        )
    ]
    assert not (tmp_path / "stat.json").exists()


def test_a_dep_that_is_also_a_source_is_hashed_once(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("a\n")
    source = {"raw": {"ref": "source.a", "path": "data/a.csv", "hash": _hash("a\n")}}
    settled = {
        "pipeline.p.step.reads": _execution("x", "succeeded", source),
        "pipeline.p.step.uses": _execution(
            "y", "succeeded", {}, {"data/a.csv": "0" * 64, "data/b.csv": "1" * 64}
        ),
    }
    steps, checked = data_drift(tmp_path, settled, StatCache(tmp_path / "stat.json"))
    assert checked == 2  # data/a.csv as a source and a dep, and data/b.csv
    assert [(step.address, step.sources, step.deps) for step in steps] == [
        (
            "pipeline.p.step.uses",
            (),
            (
                DepDrift("data/a.csv", "0" * 64, _hash("a\n")),
                DepDrift("data/b.csv", "1" * 64, None),
            ),
        )
    ]
    assert steps[0].what == "deps changed"


def test_the_documented_scheduled_workflow_uses_real_options() -> None:
    text = (Path(__file__).parent.parent / "docs/ci.md").read_text()
    snippet = text.split("## Scheduled drift check", 1)[1].split("```yaml\n", 1)[1]
    workflow = yaml.safe_load(snippet.split("```", 1)[0])
    assert "schedule" in workflow[True]  # YAML 1.1 reads the key `on` as true
    lines = [
        line.strip()
        for step in workflow["jobs"]["drift"]["steps"]
        for line in step.get("run", "").splitlines()
        if line.strip().startswith("zenctl ")
    ]
    assert lines, snippet
    for line in lines:
        words = shlex.split(line.split("||")[0].split(">")[0])
        assert words[1] == "-C" and words[3] == "drift"
        helped = subprocess.run([ZENCTL, words[3], "--help"], capture_output=True, text=True)
        assert helped.returncode == 0, helped.stderr
        for option in (w for w in words[4:] if w.startswith("-")):
            assert re.search(rf"(^|[\s,]){re.escape(option)}\b", helped.stdout), option
