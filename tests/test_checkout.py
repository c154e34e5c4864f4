"""`zenctl checkout`: outputs declared with `paths` written into the working tree."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from conftest import Project

SCHEMA = json.loads((Path(__file__).parent.parent / "specs/checkout.schema.json").read_text())

STEPS = """
import tempfile
from pathlib import Path


def model(k):
    out = Path(tempfile.mkdtemp()) / "m.bin"
    out.write_bytes(b"w" * k)
    return out


def report(k):
    out = Path(tempfile.mkdtemp())
    (out / "plots").mkdir()
    (out / "plots" / "a.txt").write_text(f"plot {k}")
    (out / "index.txt").write_text("index")
    return out


def metrics(k):
    return {"k": k}
"""

MAIN = """
pipeline "p" {
  step "train" {
    run     = "steps.out:model"
    params  = { k = 3 }
    paths   = { output = "models/model.bin" }
  }
  step "report" {
    run    = "steps.out:report"
    params = { k = 3 }
    paths  = { output = "reports" }
  }
  step "metrics" {
    run    = "steps.out:metrics"
    params = { k = 3 }
    paths  = { output = "metrics.json" }
  }
}
"""


def make(project: Project) -> Project:
    project.write("steps/__init__.py", "")
    project.write("steps/out.py", STEPS)
    project.write("main.zc.hcl", MAIN)
    return project


def test_checkout_writes_skips_refuses_and_forces(project: Project) -> None:
    make(project)
    before = project.run("checkout")
    assert before.code == 0, before.both
    assert "0 written, 0 unchanged, 3 not applied yet." in before.out
    jsonschema.validate(json.loads(project.run("checkout", "--json").out), SCHEMA)
    assert project.apply().code == 0

    done = project.run("checkout")
    assert done.code == 0, done.both
    assert "Checkout complete: 3 written, 0 unchanged." in done.out
    root = project.root
    assert (root / "models/model.bin").read_bytes() == b"www"
    assert (root / "reports/plots/a.txt").read_text() == "plot 3"
    assert json.loads((root / "metrics.json").read_text()) == {"k": 3}
    assert not [p for p in root.glob("**/.tmp-*")], "no temporary left behind"

    again = project.run("checkout", "-json")
    document = json.loads(again.out)
    jsonschema.validate(document, SCHEMA)
    assert {entry["outcome"] for entry in document["outputs"]} == {"unchanged"}

    # the user edits a file inside the checked-out directory: kept, named, unless --force
    (root / "reports/plots/a.txt").write_text("my notes")
    project.write("main.zc.hcl", MAIN.replace("k = 3", "k = 4"))
    assert project.apply().code == 0
    refused = project.run("checkout")
    assert refused.code != 0
    assert "reports" in refused.both and "--force" in refused.both, refused.both
    assert (root / "reports/plots/a.txt").read_text() == "my notes"
    assert (root / "models/model.bin").read_bytes() == b"www", "a refusal writes nothing"

    only = project.run("checkout", "pipeline.p.step.train")
    assert only.code == 0 and (root / "models/model.bin").read_bytes() == b"wwww", only.both

    forced = project.run("checkout", "--force")
    assert forced.code == 0, forced.both
    assert "2 written, 1 unchanged" in forced.out
    assert (root / "reports/plots/a.txt").read_text() == "plot 4"


def test_a_file_zenctl_did_not_write_is_not_overwritten(project: Project) -> None:
    make(project)
    project.apply()
    project.write("metrics.json", "mine\n")
    refused = project.run("checkout", "pipeline.p.step.metrics")
    assert refused.code != 0 and "metrics.json" in refused.both
    assert (project.root / "metrics.json").read_text() == "mine\n"


def test_a_path_for_an_output_the_step_does_not_have_is_an_error(project: Project) -> None:
    make(project)
    project.write("main.zc.hcl", MAIN.replace("paths   = { output", "paths   = { model"))
    plan = project.run("validate")
    assert plan.code != 0
    assert "Path for an undeclared output" in plan.both and "line 5" in plan.both, plan.both


def test_checkout_of_an_unknown_target_says_so(project: Project) -> None:
    make(project)
    result = project.run("checkout", "pipeline.p.step.nope")
    assert result.code != 0 and "pipeline.p.step.nope names no output with a path" in result.both


@pytest.mark.parametrize(
    ("metrics_path", "how"),
    [("reports", "share a path"), ("reports/plots/a.txt", "have nested paths")],
)
def test_outputs_whose_paths_are_the_same_or_nested_are_refused(
    project: Project, metrics_path: str, how: str
) -> None:
    """One would overwrite the other, and every later checkout would call it edited."""
    make(project)
    project.write("main.zc.hcl", MAIN.replace('"metrics.json"', f'"{metrics_path}"'))
    assert project.apply().code == 0
    refused = project.run("checkout")
    assert refused.code == 1, refused.both
    assert f"Two outputs {how}" in refused.err and "pipeline.p.step.report" in refused.err
    assert not (project.root / "reports").exists()  # refused before anything is written
    assert "Traceback" not in refused.both


def test_an_output_missing_or_damaged_in_the_store_is_named_and_the_rest_written(
    project: Project,
) -> None:
    make(project)
    assert project.apply().code == 0
    outputs = {
        address: json.loads(recorded)
        for address, recorded in project.sql(
            "SELECT c.address, e.outputs FROM current_steps c "
            "JOIN step_executions e ON e.id = c.execution_id"
        )
    }
    digest = outputs["pipeline.p.step.train"]["output"]["hash"]
    damaged = next((project.root / ".zenctl/artifacts/objects").rglob(digest))
    damaged.write_bytes(b"not the model")
    result = project.run("checkout")
    assert result.code == 1, result.both
    assert "Some outputs could not be checked out" in result.err
    assert "models/model.bin (pipeline.p.step.train)" in result.err and "corrupt" in result.err
    assert "crashed" not in result.both and "Traceback" not in result.both
    assert (project.root / "metrics.json").exists() and (project.root / "reports").is_dir()
    assert not (project.root / "models/model.bin").exists()
    assert "artifact corrupt" in project.run("plan").out  # set aside: the step runs again
