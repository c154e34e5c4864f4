"""Metrics and params: a step's metrics outputs recorded at apply, shown and compared between
workspaces, runs and git revisions, kept through export and import, and listed in the plan's
pull-request comment. The example that proves it end to end: test_example_get_started.py."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import CONSOLE, MAIN, ZENCTL, Project

from zenctl.application.project import Project as ZenctlProject

SPECS = Path(__file__).parent.parent / "specs"

SCORES = """
def scores(numbers: list[int], shape: str = "flat") -> dict:
    if shape == "nested":
        return {"values": {"inner": {"a": 1}}}
    if shape == "list":
        return {"values": [1, 2]}
    flat = {"ratio": 1.0, "count": len(numbers), "ok": True, "label": "small", "none": None}
    return {"values": flat}
"""

WITH_METRICS = (
    MAIN.replace(
        """    inputs = { model = step.train.outputs.output, numbers = step.prep.outputs.output }
  }""",
        """    inputs = { model = step.train.outputs.output, numbers = step.prep.outputs.output }
    metrics = ["output"]
  }

  step "scores" {
    run     = "steps.scores:scores"
    inputs  = { numbers = step.prep.outputs.output }
    params  = { shape = var.shape }
    outputs = ["values"]
    metrics = ["values"]
  }""",
    )
    + 'variable "shape" {\n  type    = string\n  default = "flat"\n}\n'
)

EVALUATE = "pipeline.demo.step.evaluate"


def with_metrics(project: Project) -> Project:
    project.write("steps/scores.py", SCORES)
    project.write("main.zc.hcl", WITH_METRICS)
    return project


def validated(result: Any, schema: str) -> dict[str, Any]:
    assert result.code in (0, 2), result.both
    document: dict[str, Any] = json.loads(result.out)
    jsonschema.validate(document, json.loads((SPECS / schema).read_text()))
    return document


def run_ids(project: Project) -> list[str]:
    return [row[0] for row in project.sql("SELECT id FROM runs ORDER BY started_at")]


def test_metrics_are_recorded_and_shown_as_the_step_returned_them(project: Project) -> None:
    with_metrics(project)
    assert project.apply().code == 0
    shown = project.run("metrics", "show")
    assert shown.code == 0, shown.both
    lines = shown.out.splitlines()
    assert lines[0].split() == ["STEP", "METRIC", "workspace", "default", "(last", "apply)"]
    assert f"{EVALUATE}  output.score" in shown.out and "6.5" in shown.out
    values = {line.split()[1]: line.split()[2] for line in lines[1:]}
    # 1.0 stays 1.0; an int stays an int; a boolean and null as JSON; text as written
    assert values["values.ratio"] == "1.0" and values["values.count"] == "5"
    assert values["values.ok"] == "true" and values["values.none"] == "null"
    assert values["values.label"] == "small"
    document = validated(project.run("metrics", "show", "--json"), "metrics-show.schema.json")
    ratio = next(m for m in document["metrics"] if m["name"] == "ratio")
    assert ratio["value"] == 1.0 and isinstance(ratio["value"], float)
    assert document["side"] == {
        "spelling": "default",
        "kind": "workspace",
        "label": "workspace default (last apply)",
    }
    # the numbers are in the store as numbers too, for SQL; text and booleans as NULL
    rows = dict(project.sql("SELECT name, value FROM metrics WHERE output = 'values'"))
    assert rows == {"ratio": 1.0, "count": 5.0, "ok": None, "label": None, "none": None}


def test_a_metrics_value_that_is_not_a_flat_mapping_fails_the_step(project: Project) -> None:
    with_metrics(project)
    for shape, problem in (
        ("nested", '"inner" is a dict; metrics are flat'),
        ("list", "must be a mapping of names to numbers (a dict), not a list"),
    ):
        applied = project.apply("--var", f"shape={shape}")
        assert applied.code == 1, applied.both
        assert 'metrics output "values" of pipeline.demo.step.scores' in applied.both
        assert problem in applied.both
        shown = project.run("show", "pipeline.demo.step.scores")
        assert problem in shown.out, shown.out  # recorded as the step's error
    assert not project.sql("SELECT 1 FROM metrics WHERE output = 'values'")


def test_metrics_must_name_declared_outputs(project: Project) -> None:
    project.write("steps/scores.py", SCORES)
    typo = WITH_METRICS.replace('metrics = ["values"]', 'metrics = ["valeus"]')
    project.write("main.zc.hcl", typo)
    result = project.run("validate")
    assert result.code == 1
    assert "Metrics output not declared" in result.err
    assert 'names "valeus" in metrics, but declares no such output' in result.err
    assert 'Did you mean "values"?' in result.err
    assert "on main.zc.hcl line 40" in result.err
    project.write("main.zc.hcl", WITH_METRICS.replace('metrics = ["values"]', 'metrics = "values"'))
    result = project.run("validate")
    assert result.code == 1
    assert 'e.g. metrics = ["scores"]' in result.err


def test_declaring_metrics_runs_the_step_once_to_record_them(project: Project) -> None:
    assert project.apply().code == 0
    assert project.run("metrics", "show").out.startswith("No metrics recorded")
    evaluate = "inputs = { model = step.train.outputs.output, numbers = step.prep.outputs.output }"
    project.write("main.zc.hcl", MAIN.replace(evaluate, evaluate + '\n    metrics = ["output"]'))
    plan = project.run("plan")
    assert "+ metrics" in plan.out, plan.out
    assert "Plan: 1 to run" in plan.out, plan.out
    assert project.apply().code == 0
    assert "output.score" in project.run("metrics", "show").out


def test_metrics_diff_of_runs_and_workspaces_with_deltas_and_exit_codes(project: Project) -> None:
    with_metrics(project)
    assert project.apply().code == 0
    assert project.apply("--var", "factor=3").code == 0
    first, second = run_ids(project)
    diff = project.run("metrics", "diff", first[:8], second)
    assert diff.code == 0, diff.both
    row = next(line for line in diff.out.splitlines() if "output.score" in line)
    assert row.split()[2:] == ["6.5", "9.5", "+3.0", "(+46.2%)"], row
    unchanged = next(line for line in diff.out.splitlines() if "values.ratio" in line)
    assert unchanged.split()[2:] == ["1.0", "1.0", "0"]
    document = validated(
        project.run("metrics", "diff", first, second, "--json"), "metrics-diff.schema.json"
    )
    score = next(m for m in document["metrics"] if m["name"] == "score")
    assert score["delta"] == 3.0 and round(score["relative"], 4) == 0.4615
    assert document["changed"] == 1  # the count of values equal: ratio, count, ok, ...
    assert project.run("metrics", "diff", first, second, "--detailed-exitcode").code == 2
    same = project.run("metrics", "diff", second, "default", "--detailed-exitcode")
    assert same.code == 0, same.both
    # a workspace that never applied: every step not run
    assert project.run("workspace", "new", "empty").code == 0
    empty = project.run("metrics", "diff", "default", "empty")
    row = next(line for line in empty.out.splitlines() if "output.score" in line)
    assert row.split()[2:] == ["9.5", "not", "run"], empty.out
    markdown = project.run("metrics", "diff", first, second, "--md").out
    assert markdown.startswith("| STEP | METRIC | run ")
    assert f"| `{EVALUATE}` | output.score | 6.5 | 9.5 | +3.0 (+46.2%) |" in markdown
    params = project.run("params", "diff", first, second)
    assert params.out.splitlines()[1].split() == ["pipeline.demo.step.features", "factor", "2", "3"]
    assert len(params.out.splitlines()) == 2  # only what changed
    validated(project.run("params", "diff", first, second, "--json"), "params-diff.schema.json")
    assert project.run("params", "diff", first, second, "-detailed-exitcode").code == 2
    # no git repository: A has no default to fall back on, and the error says why
    default = project.run("metrics", "diff")
    assert default.code == 1 and '"HEAD" is not a known' in default.err
    assert "is in no git repository" in default.err
    both = project.run("metrics", "show", "--json", "--md")
    assert both.code == 1 and "Give --json or --md, not both." in both.err


@pytest.mark.all_stores
def test_a_runs_metrics_are_every_current_step_s_reused_ones_included(project: Project) -> None:
    with_metrics(project)
    assert project.apply().code == 0
    assert project.apply("--var", "factor=3").code == 0
    # the third run reuses the first's executions from history, and runs report only
    assert project.apply("--replace", "pipeline.demo.step.report").code == 0
    assert project.apply("--var", "factor=3").code == 0  # no run: it only reuses
    runs = run_ids(project)
    zproject = ZenctlProject.load(project.root)
    store = zproject.open_state(create=False)
    assert store is not None
    try:
        found = store.metrics_of_runs(runs)
        statements = store.db.statements
        store.metrics_of_runs(runs * 100)
        assert store.db.statements - statements == 2  # not one query per run
    finally:
        store.close()

    def score(run: str) -> Any:
        return next(m.value for m in found[run] if m.name == "score")

    assert [score(run) for run in runs] == [6.5, 9.5, 6.5]
    # complete rows: the third run ran nothing of evaluate or scores, and has both
    assert {(m.address, m.output) for m in found[runs[2]]} == {
        (EVALUATE, "output"),
        ("pipeline.demo.step.scores", "values"),
    }


@pytest.mark.all_stores
def test_export_and_import_keep_the_metrics(project: Project, tmp_path: Path) -> None:
    with_metrics(project)
    assert project.apply().code == 0
    before = project.run("metrics", "show", "--json").out
    backup = tmp_path / "backup.json"
    assert project.run("state", "export", str(backup)).code == 0
    document = json.loads(backup.read_text())
    assert document["format_version"] == 5
    assert {entry["value_json"] for entry in document["metrics"]} >= {"1.0", "6.5", '"small"'}
    project.reset_store()
    imported = project.run("state", "import", str(backup))
    assert imported.code == 0, imported.both
    assert project.run("metrics", "show", "--json").out == before


def test_the_plan_comment_lists_the_metrics_of_reused_executions(project: Project) -> None:
    with_metrics(project)
    assert project.apply().code == 0
    comment = project.run("plan", "--format", "markdown", "--var", "factor=3").out
    assert "**Metrics of the reused executions**" in comment
    assert "| `pipeline.demo.step.scores` | values.ratio | 1.0 |" in comment
    assert "output.score" not in comment  # evaluate runs again: nothing reused to show


def test_a_spelling_that_is_a_workspace_and_a_revision_is_the_workspace(project: Project) -> None:
    with_metrics(project)
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", "-b", "exp"], cwd=project.root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=project.root, check=True)
    subprocess.run([*git, "commit", "-qm", "one"], cwd=project.root, check=True)
    assert project.apply().code == 0
    assert project.run("workspace", "new", "exp").code == 0
    assert project.run("workspace", "select", "default").code == 0  # revisions are read here
    shown = project.run("metrics", "show", "exp")
    assert shown.out.startswith("No metrics recorded for workspace exp."), shown.out
    assert '"exp" is a workspace, and also names a git revision' in shown.err
    assert "Write `rev:exp` for the other" in shown.err
    revision = project.run("metrics", "show", "rev:exp")
    assert "exp (" in revision.out and "6.5" in revision.out, revision.both
    # a revision whose configuration does not load: what it says, in the project's terms
    project.write("main.zc.hcl", WITH_METRICS.replace('metrics = ["values"]', 'metrics = ["x"]'))
    subprocess.run([*git, "commit", "-qam", "broken"], cwd=project.root, check=True)
    project.write("main.zc.hcl", WITH_METRICS)  # the working tree is fine again
    broken = project.run("metrics", "diff", "rev:HEAD~1", "rev:HEAD")
    assert broken.code == 1, broken.both
    assert "Can't read the configuration of revision HEAD (" in broken.err
    assert 'names "x" in metrics, but declares no such output' in broken.err
    assert "(main.zc.hcl line 40)" in broken.err and "zenctl-rev-" not in broken.err
    unknown = project.run("metrics", "diff", "no-such-thing")
    assert unknown.code == 1
    assert '"no-such-thing" is not a known workspace, run ID or git revision' in unknown.err


def test_the_documented_pull_request_metrics_job_posts_a_diff_against_main(
    project: Project, tmp_path: Path
) -> None:
    """docs/ci.md's job, its shell run as written: the pull request applied in a workspace of
    its own, its metrics diffed against main's (the default workspace) as markdown."""
    import os
    import re

    import yaml

    text = (Path(__file__).parent.parent / "docs/ci.md").read_text()
    snippet = text.split("## Metrics in the pull request", 1)[1].split("```yaml\n", 1)[1]
    job = yaml.safe_load(snippet.split("```", 1)[0])["experiment"]
    (script,) = [step["run"] for step in job["steps"] if "run" in step]
    with_metrics(project)
    assert project.apply().code == 0  # main, applied by the apply job
    project.write("main.zc.hcl", WITH_METRICS.replace("default = 2", "default = 3"))  # the PR
    summary = tmp_path / "summary.md"
    ran = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", script.replace("${{ github.event.number }}", "7")],
        cwd=tmp_path,
        env={
            **os.environ,
            "PATH": f"{Path(ZENCTL).parent}:{os.environ['PATH']}",
            "ZENCTL_PROJECT": str(project.root),
            "GITHUB_STEP_SUMMARY": str(summary),
            **CONSOLE,
        },
        capture_output=True,
        text=True,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    comment = (tmp_path / "comment.md").read_text()
    assert comment.startswith("### Metrics of this pull request against main\n")
    assert "| STEP | METRIC | workspace default | workspace pr-7 (last apply) | CHANGE |" in comment
    assert re.search(r"\| output\.score \| 6\.5 \| 9\.5 \| \+3\.0 \(\+46\.2%\) \|", comment)
    assert summary.read_text() == comment
    assert "9.5" not in project.run("metrics", "show", "default").out  # main's untouched


def test_rows_compare_values_as_written() -> None:
    """The subtle parts of the comparison, unit by unit: a decimal delta, no relative change
    from 0, absent against not run, nested params as dotted paths, a secret as a value."""
    from zenctl.render.metrics import Side, metric_rows, metrics_table, params_rows
    from zenctl.state.records import MetricRecord

    step = "pipeline.p.step.s"

    def side(label: str, params: dict[str, Any], ran: bool, **metrics: Any) -> Side:
        records = tuple(MetricRecord(step, "m", name, value) for name, value in metrics.items())
        components = {"params": params, "metrics": ["m"]}
        return Side(label, "run", label, {step: components}, frozenset([step] * ran), records)

    a = side(
        "a",
        {"opt": {"lr": 0.1, "beta": 0.9}, "key": {"sensitive": "1f"}},
        True,
        acc=0.9333,
        n=0,
        flag=True,
    )
    b = side(
        "b", {"opt": {"lr": 0.2, "beta": 0.9}, "key": {"sensitive": "2e"}}, True, acc=0.9667, n=3
    )
    rows = {row.key[1]: row for row in metric_rows([a, b])}
    assert str(rows["acc"].delta) == "0.0334" and round(rows["acc"].relative or 0, 4) == 0.0358
    assert rows["n"].delta == 3 and rows["n"].relative is None  # nothing to divide by
    assert [c.text() for c in rows["flag"].cells] == ["true", "absent"] and rows["flag"].changed
    _, body = metrics_table([a, b], metric_rows([a, b]))
    assert [cells[-1] for cells in body] == ["+0.0334 (+3.6%)", "changed", "+3"]
    changed = [(row.key[0], [c.text() for c in row.cells]) for row in params_rows(a, b)]
    assert changed == [
        ("key", ['{"sensitive": "1f"}', '{"sensitive": "2e"}']),
        ("opt.lr", ["0.1", "0.2"]),
    ]
    never = side("c", {}, False)
    assert [c.text() for c in metric_rows([b, never])[0].cells] == ["0.9667", "not run"]


def test_a_moved_step_keeps_its_metrics_under_its_new_address(project: Project) -> None:
    with_metrics(project)
    assert project.apply().code == 0
    renamed = WITH_METRICS.replace('step "evaluate"', 'step "assess"') + (
        "moved {\n  from = pipeline.demo.step.evaluate\n  to   = pipeline.demo.step.assess\n}\n"
    )
    project.write("main.zc.hcl", renamed)
    assert project.apply("--replace", "pipeline.demo.step.report").code == 0  # a run
    runs = run_ids(project)
    store = ZenctlProject.load(project.root).open_state(create=False)
    assert store is not None
    try:
        found = store.metrics_of_runs(runs)
    finally:
        store.close()
    assert {m.address for m in found[runs[0]] if m.name == "score"} == {EVALUATE}
    assert {m.address for m in found[runs[1]] if m.name == "score"} == {"pipeline.demo.step.assess"}
    shown = project.run("metrics", "show", runs[1][:8])
    assert "pipeline.demo.step.assess  output.score  6.5" in shown.out, shown.both
    assert EVALUATE not in shown.out


def test_show_lists_a_steps_recorded_metrics(project: Project) -> None:
    with_metrics(project)
    assert project.apply().code == 0
    shown = project.run("show", "pipeline.demo.step.scores")
    assert shown.code == 0, shown.both
    metrics = shown.out.split("  metrics\n", 1)[1].splitlines()
    assert metrics[:2] == ["    values.count = 5", '    values.label = "small"']
    assert "    values.ratio = 1.0" in metrics
    document = validated(
        project.run("show", "--json", "pipeline.demo.step.scores"), "show.schema.json"
    )
    recorded = {m["name"]: m["value"] for m in document["step"]["metrics"]}
    assert recorded == {"count": 5, "label": "small", "none": None, "ok": True, "ratio": 1.0}
    plain = validated(project.run("show", "--json", "pipeline.demo.step.prep"), "show.schema.json")
    assert plain["step"]["metrics"] == []
