"""The shipped example works end to end: real scikit-learn, real metrics, then all cached,
then the served model answers over HTTP, and destroy stops it."""

from __future__ import annotations

import json
import re
import shutil
import urllib.request
from pathlib import Path

from conftest import Project

EXAMPLE = Path(__file__).parent.parent / "examples" / "iris"
ANY_PORT = ("--var", "port=0")  # the README's fixed 8765 may be taken on a test machine


def test_iris_example_trains_a_real_model_then_everything_is_cached(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "iris", ignore=shutil.ignore_patterns(".zenctl"))
    project = Project(tmp_path / "iris")
    applied = project.apply(*ANY_PORT)
    assert applied.code == 0, applied.both
    assert "Apply complete! 5 ran, 0 cached, 0 removed; 1 added" in applied.out
    url = re.search(r"deployment\.iris: Creation complete \((\S+)\)", applied.out)
    assert url, applied.out
    try:
        assert "No changes. 5 steps cached." in project.run("plan", *ANY_PORT).out
        # the same pipeline on the other stack: nothing to re-run
        assert "No changes." in project.run("plan", *ANY_PORT, "--var", "stack=gpu").out

        rows = [
            {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2},
            {"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3},
        ]
        request = urllib.request.Request(
            f"{url.group(1)}/predict",
            json.dumps({"rows": rows}).encode(),
            {"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert json.loads(response.read())["predictions"] == ["setosa", "virginica"]

        shown = project.run("show", "pipeline.iris.step.evaluate").out
        output = re.search(r"^    output\s+\S+\s+json\s+\d+ bytes\s+(file://\S+)", shown, re.M)
        assert output, shown
        metrics = json.loads(Path(output.group(1).removeprefix("file://")).read_text())
        assert metrics["accuracy"] > 0.85

        plan = project.run("plan", *ANY_PORT, "--var", "C=0.5")
        assert "~ params.C: 1.0 -> 0.5" in plan.out  # the number as written, as the step gets it
        assert "~ model:" in plan.out and "-> (known after apply)" in plan.out
        summary = "Plan: 1 to run, up to 1 more if outputs change, 3 cached, 0 to remove; 0 to add"
        assert summary in plan.out

        features = project.root / "steps" / "features.py"
        features.write_text(features.read_text() + "\n\nUNUSED_CONSTANT = 1\n")
        unused = project.run("plan", *ANY_PORT)  # no step reaches it
        assert "No changes. 5 steps cached." in unused.out, unused.out
        features.write_text(features.read_text().replace("frame[TARGET]", "frame[TARGET].copy()"))
        plan = project.run("plan", *ANY_PORT)
        assert "~ code: steps/features.py" in plan.out
        lines = [line for line in plan.out.splitlines() if "run: changed" in line]
        assert len(lines) == 2 and "train" in lines[0] and "evaluate" in lines[1], plan.out
    finally:
        destroyed = project.run("destroy", "--auto-approve", *ANY_PORT)
    assert "Destroy complete! Resources: 1 destroyed." in destroyed.out, destroyed.both
