"""The get-started example (a port of DVC's example-get-started: params.yaml, a utils.py beside
the steps, metrics) in a git repository: it plans, applies, shows its metrics, and compares
them and its params between two commits without running anything again; a commit that never
ran shows "not run"."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
from conftest import Project

EXAMPLE = Path(__file__).parent.parent / "examples" / "get-started"
SPECS = Path(__file__).parent.parent / "specs"
EVALUATE = "pipeline.get_started.step.evaluate"


def git(root: Path, *args: str) -> str:
    command = ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci", *args]
    return subprocess.run(command, cwd=root, check=True, capture_output=True, text=True).stdout


def commit(root: Path, message: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-qm", message)
    return git(root, "rev-parse", "HEAD").strip()


def rows(text: str) -> dict[str, list[str]]:
    """A metrics table's rows by metric name (`scores.accuracy`), the step's left out."""
    return {line.split()[1]: line.split()[2:] for line in text.splitlines()[1:]}


def schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SPECS / name).read_text())
    return loaded


def test_get_started_plans_applies_and_diffs_metrics_between_commits(tmp_path: Path) -> None:
    root = tmp_path / "get-started"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".zenctl", "__pycache__"))
    (root / ".gitignore").write_text(".zenctl/\n")
    git(root, "init", "-q", "-b", "main")
    first = commit(root, "get started")
    project = Project(root)

    plan = project.run("plan")
    assert "Plan: 4 to run, 0 cached, 0 to remove." in plan.out, plan.both
    applied = project.apply()
    assert "Apply complete! 4 ran, 0 cached, 0 removed." in applied.out, applied.both
    shown = project.run("metrics", "show")
    assert shown.code == 0, shown.both
    metrics = rows(shown.out)
    assert set(metrics) == {"scores.accuracy", "scores.avg_prec", "scores.roc_auc"}
    assert all(0.85 < float(values[0]) <= 1 for values in metrics.values()), shown.out
    document = json.loads(project.run("metrics", "show", "--json").out)
    jsonschema.validate(document, schema("metrics-show.schema.json"))

    params = root / "params.yaml"
    params.write_text(
        params.read_text()
        .replace("n_est: 50", "n_est: 3")
        .replace("max_features: 20", "max_features: 4")
    )
    plan = project.run("plan")
    assert "~ params.n_est: 50 -> 3 (from local.p.train, file params.yaml)" in plan.out, plan.out
    second = commit(root, "fewer trees, fewer features")
    applied = project.apply()
    assert "Apply complete! 3 ran, 1 cached, 0 removed." in applied.out, applied.both

    # both commits ran once: their metrics are read back, nothing runs
    diff = project.run("metrics", "diff", first, second)
    assert diff.code == 0, diff.both
    assert diff.out.splitlines()[0].split() == ["STEP", "METRIC", first[:10], second[:10], "CHANGE"]
    # the first commit's are what the first apply showed
    assert rows(project.run("metrics", "show", first).out) == metrics
    changes = rows(diff.out)
    for name, (old, new, *change) in changes.items():
        assert [old] == metrics[name]
        delta = round(float(new) - float(old), 4)
        assert float(change[0]) == delta, (name, diff.out)
        if delta:
            assert change[1] == f"({delta / float(old):+.1%})"
    assert any(float(change[0]) for _, _, *change in changes.values())  # fewer trees: moved
    jsonschema.validate(
        json.loads(project.run("metrics", "diff", first, second, "--json").out),
        schema("metrics-diff.schema.json"),
    )
    # the default: HEAD against the last apply (the same executions here)
    same = project.run("metrics", "diff", "--detailed-exitcode")
    assert same.code == 0, same.both
    assert project.run("metrics", "diff", first, "--detailed-exitcode").code == 2

    params_diff = project.run("params", "diff", first, second)
    assert params_diff.code == 0, params_diff.both
    assert [line.split() for line in params_diff.out.splitlines()] == [
        ["STEP", "PARAM", first[:10], second[:10]],
        ["pipeline.get_started.step.featurize", "max_features", "20", "4"],
        ["pipeline.get_started.step.train", "n_est", "50", "3"],
    ]
    jsonschema.validate(
        json.loads(project.run("params", "diff", first, second, "--json").out),
        schema("params-diff.schema.json"),
    )

    # a commit never applied: its changed steps have no execution
    params.write_text(params.read_text().replace("n_est: 3", "n_est: 7"))
    never = commit(root, "never applied")
    shown = project.run("metrics", "show", never)
    assert shown.out.splitlines()[1].split() == [EVALUATE, "-", "not", "run"], shown.out
    latest = rows(project.run("metrics", "show", second).out)
    diff = project.run("metrics", "diff", second, never)
    assert rows(diff.out) == {name: [*value, "not", "run"] for name, value in latest.items()}
    assert project.run("metrics", "diff", second, never, "-detailed-exitcode").code == 2
    # reading revisions touched neither the working tree nor the store's history
    assert git(root, "status", "--porcelain") == ""
    assert "Plan: 1 to run, up to 1 more if outputs change" in project.run("plan").out
