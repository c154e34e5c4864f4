"""Golden renderings of one representative plan: the terminal text, the PR comment, the JSON.

The plan has every kind of line: a new step, a changed one (a param diff and a code diff), one
with upstream changes, cached ones and a removed one. Only what varies between runs (hashes,
IDs, durations) is normalised. Regenerate after an intended change with
`ZENCTL_UPDATE_GOLDEN=1 pytest tests/test_golden.py`, then read the diff as a reviewer would.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import jsonschema
import pytest
from conftest import Project

GOLDEN = Path(__file__).parent / "golden"
SCHEMA = json.loads((Path(__file__).parent.parent / "specs/plan.schema.json").read_text())

DATA = """
from pathlib import Path


def prep(raw: Path) -> list[int]:
    return [int(line) for line in raw.read_text().split()]


def report(numbers: list[int]) -> str:
    return f"{len(numbers)} numbers"
"""
FEATURES = """
def features(numbers: list[int], factor: int) -> list[int]:
    return [n * factor for n in numbers]
"""
MODEL = """
def train(features: list[int], bias: float) -> dict:
    return {"weights": [x + bias for x in features]}


def evaluate(model: dict, numbers: list[int]) -> float:
    return sum(model["weights"]) / len(numbers)
"""
BEFORE = """
pipeline "churn" {
  source "raw" {
    path = "data/raw.txt"
  }

  step "prep" {
    run    = "steps.data:prep"
    inputs = { raw = source.raw }
  }

  step "features" {
    run    = "steps.features:features"
    inputs = { numbers = step.prep.outputs.output }
    params = { factor = 2 }
  }

  step "train" {
    run    = "steps.model:train"
    inputs = { features = step.features.outputs.output }
    params = { bias = 0.5 }
  }

  step "report" {
    run    = "steps.data:report"
    inputs = { numbers = step.prep.outputs.output }
  }

  step "legacy_report" {
    run    = "steps.data:report"
    inputs = { numbers = step.prep.outputs.output }
  }
}
"""
AFTER = BEFORE.replace("factor = 2", "factor = 3").replace(
    """  step "legacy_report" {
    run    = "steps.data:report"
    inputs = { numbers = step.prep.outputs.output }
  }""",
    """  step "evaluate" {
    run    = "steps.model:evaluate"
    inputs = { model = step.train.outputs.output, numbers = step.prep.outputs.output }
  }""",
)

# What differs between two runs of this test: timings, hashes, state lineage and execution IDs.
_VARIABLE = [
    (re.compile(r'"expected_duration": [-+0-9.eE]+'), '"expected_duration": "<duration>"'),
    (re.compile(r"~\d+(\.\d+)?(ms|s|min)\b"), "~<duration>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<uuid>"),
    (re.compile(r"\b[0-9a-f]{64}\b"), "<hash>"),
    (re.compile(r"\b[0-9a-f]{16}\b"), "<hash16>"),
]


def check_golden(name: str, actual: str, project: Project) -> None:
    actual = actual.replace(project.root.as_uri(), "file://<project>")
    for pattern, replacement in _VARIABLE:
        actual = pattern.sub(replacement, actual)
    path = GOLDEN / name
    if os.environ.get("ZENCTL_UPDATE_GOLDEN") == "1":
        path.write_text(actual)
    assert path.exists(), f"{path} is missing: run with ZENCTL_UPDATE_GOLDEN=1 to create it"
    assert actual == path.read_text(), f"{name} changed; if intended, ZENCTL_UPDATE_GOLDEN=1"


@pytest.fixture(scope="module")
def representative(tmp_path_factory: pytest.TempPathFactory) -> Project:
    project = Project(tmp_path_factory.mktemp("golden") / "churn")
    project.write("steps/__init__.py", "")
    project.write("steps/data.py", DATA)
    project.write("steps/features.py", FEATURES)
    project.write("steps/model.py", MODEL)
    project.write("data/raw.txt", "1 2 3 4 5\n")
    project.write("main.zc.hcl", BEFORE)
    assert project.apply().code == 0
    project.write("main.zc.hcl", AFTER)
    project.write("steps/features.py", FEATURES.replace("n * factor", "factor * n + 0"))
    return project


def test_human_plan(representative: Project) -> None:
    result = representative.run("plan")
    assert result.code == 0, result.both
    check_golden("plan.txt", result.out, representative)


def test_markdown_plan(representative: Project) -> None:
    result = representative.run("plan", "--format", "markdown")
    assert result.code == 0, result.both
    check_golden("plan.md", result.out, representative)


def test_json_plan(representative: Project) -> None:
    result = representative.run("plan", "-json")
    assert result.code == 0, result.both
    jsonschema.validate(json.loads(result.out), SCHEMA)
    check_golden("plan.json", result.out, representative)


def test_summary_plan(representative: Project) -> None:
    result = representative.run("plan", "--summary")
    assert result.code == 0, result.both
    check_golden("plan-summary.txt", result.out, representative)


def test_markdown_summary_plan(representative: Project) -> None:
    result = representative.run("plan", "-summary", "-format", "markdown")
    assert result.code == 0, result.both
    check_golden("plan-summary.md", result.out, representative)
