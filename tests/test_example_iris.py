"""The shipped example works end to end: real scikit-learn, real metrics, then all cached."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from conftest import Project

EXAMPLE = Path(__file__).parent.parent / "examples" / "iris"


def test_iris_example_trains_a_real_model_then_everything_is_cached(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "iris", ignore=shutil.ignore_patterns(".zenctl"))
    project = Project(tmp_path / "iris")
    applied = project.apply()
    assert applied.code == 0, applied.both
    assert "Apply complete! 5 ran, 0 cached" in applied.out
    assert "No changes. 5 steps cached." in project.run("plan").out

    shown = project.run("show", "pipeline.iris.step.evaluate").out
    output = re.search(r"^    output\s+\S+\s+json\s+\d+ bytes\s+(file://\S+)", shown, re.M)
    assert output, shown
    metrics = json.loads(Path(output.group(1).removeprefix("file://")).read_text())
    assert metrics["accuracy"] > 0.85

    plan = project.run("plan", "--var", "C=0.5")
    assert "~ params.C: 1 -> 0.5" in plan.out  # numbers are canonical: 1.0 is 1
    assert "Plan: 2 to run, 3 cached, 0 to remove." in plan.out

    features = project.root / "steps" / "features.py"
    features.write_text(features.read_text() + "\n\nUNUSED_CONSTANT = 1\n")
    plan = project.run("plan")
    assert "~ code: steps/features.py" in plan.out
