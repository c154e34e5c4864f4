"""--target plans a step and what it needs; --replace runs a cached step; both warn."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from conftest import Project
from test_plan_apply import ADDR, step_lines
from test_saved_plans import SCHEMA


def test_target_plans_only_the_step_and_its_upstream(project: Project, tmp_path: Path) -> None:
    result = project.run("plan", "-json", "-target", ADDR + "train")
    assert result.code == 0, result.both
    document = json.loads(result.out)
    jsonschema.validate(document, SCHEMA)
    assert [step["step"] for step in document["steps"]] == ["prep", "features", "train"]
    assert document["targets"] == [ADDR + "train"]
    assert "Warning: Targeting is in effect" in result.err

    unknown = project.run("plan", "--target", ADDR + "trian", "--replace", "pipeline.demo")
    assert unknown.code == 1
    assert "Error: Unknown address for --target" in unknown.err
    assert f'Did you mean "{ADDR}train"?' in unknown.err
    assert "Error: Unknown address for --replace" in unknown.err

    saved = tmp_path / "partial.plan"
    assert project.run("plan", "--target", ADDR + "features", "--out", str(saved)).code == 0
    assert json.loads(saved.read_text())["targets"] == [ADDR + "features"]
    refused = project.run("apply", str(saved), "--target", ADDR + "train")
    assert "Can't target or replace when applying a saved plan" in refused.err
    applied = project.run("apply", str(saved))
    assert "Apply complete! 2 ran" in applied.out, applied.both
    assert "Plan: 3 to run, 2 cached" in project.run("plan").out


def test_replace_runs_a_cached_step_and_downstream_sees_its_outputs(project: Project) -> None:
    project.apply()
    result = project.run("plan", "--replace", ADDR + "features")
    lines = step_lines(result.out)
    assert lines["features"].startswith("~ run: replace requested")
    assert lines["train"].startswith("~ run: upstream changes")
    assert lines["prep"] == "= cached"
    assert "Warning: Replacement is in effect" in result.err
    applied = project.apply("-replace", ADDR + "features")
    assert "Apply complete! 1 ran" in applied.out  # same bytes out: downstream stays cached
    assert "train: Cached (inputs unchanged after upstream re-run)" in applied.out
