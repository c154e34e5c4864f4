"""`zenctl runs`: the experiments table (changed params, --where, --sort, --limit, --json),
`zenctl runs show`, and what apply prints for a run: its ID first, heartbeats in CI."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
from conftest import Project
from test_sensitive import TOKEN, WITH_TOKEN, add_token_step

SCHEMA = json.loads((Path(__file__).parent.parent / "specs/runs.schema.json").read_text())


def _json(project: Project, *args: str) -> Any:
    """`runs ... --json`, checked against its schema."""
    result = project.run("runs", *args, "--json")
    assert result.code == 0, result.both
    document = json.loads(result.out)
    jsonschema.validate(document, SCHEMA, format_checker=jsonschema.FormatChecker())
    assert document["format_version"] == "1.0" and document["zenctl_version"]
    return document


def _rows(out: str) -> list[dict[str, str]]:
    """The text table as header -> cell, cells split on runs of two or more spaces."""
    header, *lines = out.splitlines()
    names = re.split(r"\s{2,}", header.strip())
    return [dict(zip(names, re.split(r"\s{2,}", line.strip()), strict=True)) for line in lines]


def _more(project: Project) -> None:
    """A second pipeline: a step with a param `lr`, one with `verbose` as prep has."""
    project.write("steps/more.py", "def tune(numbers, lr):\n    return lr\n")
    project.write("main.zc.hcl", (project.root / "main.zc.hcl").read_text() + EXTRA)


def _applied(project: Project, *factors: int) -> None:
    for factor in factors:
        assert project.apply("--var", f"factor={factor}").code == 0


def test_the_table_shows_each_run_with_the_params_it_changed(project: Project) -> None:
    _applied(project, 2, 3)
    listed = project.run("runs")
    assert listed.code == 0, listed.both
    newest, oldest = _rows(listed.out)
    assert list(newest) == [
        "RUN",
        "STARTED",
        "TOOK",
        "COMMIT",
        "WORKSPACE",
        "BY",
        "RESULT",
        "RAN",
        "REUSED",
        "CHANGED",
    ]
    assert newest["CHANGED"] == "factor: 2 -> 3"
    assert (newest["RAN"], newest["REUSED"]) == ("3", "2")  # features, train, evaluate re-ran
    assert (oldest["RAN"], oldest["REUSED"], oldest["CHANGED"]) == ("5", "0", "-")
    assert newest["RESULT"] == oldest["RESULT"] == "succeeded"
    assert newest["WORKSPACE"] == "default" and newest["COMMIT"] == "-"  # not a repository
    assert re.fullmatch(r"\d+s", newest["TOOK"]), newest

    document = _json(project)
    first, second = document["runs"]
    assert first["id"].startswith(newest["RUN"])
    assert first["changed_params"] == {"factor": {"before": 2, "after": 3}}
    assert second["changed_params"] is None  # nothing before it to compare with
    # every planned step's params, the cached ones' too
    assert first["params"] == {"factor": 3, "bias": 0.5, "verbose": False}
    assert (first["ran"], first["reused"], first["failed"]) == (3, 2, 0)


def test_where_sort_and_limit(project: Project) -> None:
    _applied(project, 3, 2, 4)

    def factors(*args: str) -> list[Any]:
        return [run["params"]["factor"] for run in _json(project, *args)["runs"]]

    assert factors() == [4, 2, 3]  # newest first
    assert factors("--limit", "2") == [4, 2]
    assert factors("--where", "params.factor>=3") == [4, 3]
    assert factors("--where", "params.factor=3.0") == [3]  # numbers compare as numbers
    assert factors("--where", "params.factor!=3", "--where", "params.factor<4") == [2]
    assert factors("--sort", "params.factor") == [2, 3, 4]
    assert factors("--sort", "-params.factor") == [4, 3, 2]
    assert factors("--sort=-params.factor", "--limit", "1") == [4]
    assert factors("--where", "result=succeeded", "--sort", "params.factor") == [2, 3, 4]
    assert factors("--where", "result=failed") == []
    assert project.run("runs", "--where", "result=failed").out == "No runs match.\n"
    # a key named in --where or --sort gets its column in the text table
    table = _rows(project.run("runs", "--sort", "params.factor").out)
    assert [row["params.factor"] for row in table] == ["2", "3", "4"]
    # no subcommand, old spelling
    assert len(_rows(project.run("runs", "-limit", "1").out)) == 1


def test_runs_missing_the_sort_key_come_last_either_way(project: Project) -> None:
    _applied(project, 2)
    _more(project)
    assert project.apply().code == 0  # this run has params.lr, the first has not

    def ids(*args: str) -> list[str]:
        return [run["id"] for run in _json(project, *args)["runs"]]

    newest, oldest = ids()
    assert ids("--sort", "params.lr") == ids("--sort", "-params.lr") == [newest, oldest]
    changed = _json(project, "--limit", "1")["runs"][0]["changed_params"]
    # no `before`: the params are new; prep's verbose, now qualified, did not change
    assert changed == {"lr": {"after": 0.1}, "load.verbose": {"after": True}}


EXTRA = """
pipeline "more" {
  step "tune" {
    run    = "steps.more:tune"
    inputs = { numbers = step.load.outputs.output }
    params = { lr = 0.1 }
  }
  step "load" {
    run    = "steps.pipeline:prep"
    inputs = { raw = source.raw }
    params = { verbose = true }
  }
  source "raw" {
    path = "data/raw.txt"
  }
}
"""


def test_a_name_in_two_steps_is_qualified_with_the_step(project: Project) -> None:
    _more(project)
    assert project.apply().code == 0
    params = _json(project)["runs"][0]["params"]
    assert params["prep.verbose"] is False and params["load.verbose"] is True
    assert "verbose" not in params
    assert len(_json(project, "--where", "params.load.verbose=true")["runs"]) == 1
    ambiguous = project.run("runs", "--where", "params.verbose=true")
    assert ambiguous.code == 1
    assert "params.verbose is ambiguous" in ambiguous.err
    assert "params.load.verbose, params.prep.verbose" in ambiguous.err


def test_a_bad_where_or_sort_is_a_clear_error(project: Project) -> None:
    _applied(project, 2)
    for args, wording in (
        (("--where", "factor"), "Invalid --where 'factor'"),
        (("--where", "params.factor=="), "Invalid --where"),
        (("--where", "params.nope=1"), "Unknown key 'params.nope'"),
        (("--sort", "params.nope"), "Unknown key 'params.nope'"),
        (("--sort", "-"), "Invalid --sort '-'"),
    ):
        result = project.run("runs", *args)
        assert result.code == 1, (args, result.both)
        assert wording in result.err and "Traceback" not in result.both, result.err
    assert "--where 'params.lr=0.1'" in project.run("runs", "--where", "lr").err  # an example


def test_workspace_in_where_looks_at_every_workspace(project: Project) -> None:
    _applied(project, 2)
    assert project.run("workspace", "new", "dev").code == 0
    _applied(project, 5)
    here = _json(project)["runs"]  # dev's own
    assert [run["workspace"] for run in here] == ["dev"]
    default = _json(project, "--where", "workspace=default")["runs"]
    assert [(run["workspace"], run["params"]["factor"]) for run in default] == [("default", 2)]
    both = _json(project, "--where", "workspace!=nope", "--sort", "params.factor")["runs"]
    assert [run["workspace"] for run in both] == ["default", "dev"]
    # the first run in dev compares with nothing: changes are per workspace
    assert here[0]["changed_params"] is None


def test_runs_show_lists_each_step_with_what_it_did_and_its_log(project: Project) -> None:
    _applied(project, 2, 3)
    run_id = _json(project)["runs"][0]["id"]
    shown = project.run("runs", "show", run_id[:6])
    assert shown.code == 0, shown.both
    assert shown.out.startswith(f"run {run_id}\n")
    assert "changed    factor: 2 -> 3" in shown.out
    lines = {line.split()[0]: line.split() for line in shown.out.splitlines()[7:]}
    assert lines["pipeline.demo.step.features"][1] == "succeeded"
    assert lines["pipeline.demo.step.prep"][1:] == ["reused", "-", "-"]
    assert lines["pipeline.demo.step.train"][3].endswith("pipeline.demo.step.train.log")

    document = project.run("runs", "show", run_id[:6], "--json")
    steps = json.loads(document.out)
    jsonschema.validate(steps, SCHEMA, format_checker=jsonschema.FormatChecker())
    by_address = {step["address"]: step for step in steps["steps"]}
    assert by_address["pipeline.demo.step.train"]["ran"] is True
    assert by_address["pipeline.demo.step.report"] == {
        "address": "pipeline.demo.step.report",
        "status": "reused",
        "ran": False,
        "duration_seconds": None,
        "log": None,
        "error": None,
    }
    log = by_address["pipeline.demo.step.train"]["log"]
    assert (project.root / log).is_file() or Path(log).is_file()

    missing = project.run("runs", "show", "ffffffff")
    assert missing.code == 1 and "No run 'ffffffff'" in missing.err


SLOW = """
pipeline "p" {
  step "slow" {
    run = "slow:nap"
  }
}
"""


def test_apply_prints_its_run_first_and_heartbeats_without_a_terminal(project: Project) -> None:
    project.write("main.zc.hcl", SLOW)
    project.write("slow.py", "import time\n\ndef nap():\n    time.sleep(1.5)\n    return 1\n")
    applied = project.apply(env={"ZENCTL_HEARTBEAT_SECONDS": "0.4"})
    assert applied.code == 0, applied.both
    after_plan = applied.out.split("Plan: 1 to run, 0 cached, 0 to remove.\n", 1)[1]
    first = after_plan.splitlines()[0]
    assert first == f"Run {_json(project)['runs'][0]['id']}"
    beats = re.findall(r"^pipeline\.p\.step\.slow: running \d+s$", applied.out, re.M)
    assert len(beats) >= 2, applied.out
    # the recorded duration is the step's wall time: at least its own sleep
    run = json.loads(project.run("runs", "show", first.split()[1], "--json").out)
    assert run["steps"][0]["duration_seconds"] >= 1.5
    assert "(past runs" not in applied.out  # no history yet
    # once history knows the step, each heartbeat says how long it took before
    project.write("slow.py", "import time\n\ndef nap():\n    time.sleep(1.5)\n    return 2\n")
    again = project.apply(env={"ZENCTL_HEARTBEAT_SECONDS": "0.4"}).out
    assert re.search(r"^pipeline\.p\.step\.slow: running \ds \(past runs: ~[12]s\)$", again, re.M)
    # no heartbeat at the default period: the step is over long before 30 s
    project.write("slow.py", "import time\n\ndef nap():\n    time.sleep(0.5)\n    return 3\n")
    assert ": running" not in project.apply().out


def test_the_heartbeat_knob_must_be_a_number(project: Project) -> None:
    failed = project.run("apply", "--auto-approve", env={"ZENCTL_HEARTBEAT_SECONDS": "often"})
    assert failed.code == 1 and "Invalid ZENCTL_HEARTBEAT_SECONDS" in failed.err


def test_a_secret_param_is_never_shown(project: Project) -> None:
    add_token_step(project)
    assert project.apply(env=WITH_TOKEN).code == 0
    assert project.apply(env={"ZENCTL_VAR_token": "tok-OTHER-0d9e"}).code == 0
    listed = project.run("runs", env=WITH_TOKEN)
    assert "token: (sensitive) -> (sensitive)" in listed.out  # it changed; not what to
    document = _json(project)
    token = document["runs"][0]["params"]["token"]
    assert set(token) == {"sensitive"}  # its keyed hash, as state and the plan record it
    for shown in (
        listed.both,
        json.dumps(document),
        project.run("runs", "show", "--json", document["runs"][0]["id"]).out,
    ):
        assert TOKEN not in shown and "tok-OTHER-0d9e" not in shown


def test_the_where_grammar() -> None:
    """Numbers compare as numbers, other values as text; a run without the key never
    matches; sorting puts runs without the key last in either direction."""
    from zenctl.state.run_query import parse_sort, parse_where, sort_rows

    def holds(text: str, value: Any) -> bool:
        return parse_where(text).holds({"params.x": value})

    assert holds("params.x=0.1", 0.1) and holds("params.x == 1e-1", 0.1)
    assert holds("params.x>9", 10) and not holds("params.x>9", "10a")  # "10a" > "9" is text
    assert holds("params.x=adam", "adam") and holds("params.x!=sgd", "adam")
    assert holds("params.x=true", True) and not holds("params.x=1", True)
    assert holds("params.x=[1, 2]", [1, 2])
    assert holds("params.x<=2026-12-01", "2026-11-30 10:00:00")
    assert not parse_where("params.x=1").holds({}) and not holds("params.x!=1", None)

    rows = [{"k": 2}, {}, {"k": "b"}, {"k": 10}, {"k": "a"}]
    ascending = sort_rows(rows, parse_sort("k"), lambda row: row)
    assert ascending == [{"k": 2}, {"k": 10}, {"k": "a"}, {"k": "b"}, {}]
    descending = sort_rows(rows, parse_sort("-k"), lambda row: row)
    assert descending == [{"k": "b"}, {"k": "a"}, {"k": 10}, {"k": 2}, {}]


METRICS = """
variable "lr" {
  type    = number
  default = 0.1
}

pipeline "m" {
  step "train" {
    run     = "mtrain:train"
    params  = { lr = var.lr }
    outputs = ["model", "scores"]
    metrics = ["scores"]
  }
  step "evaluate" {
    run     = "meval:evaluate"
    inputs  = { model = step.train.outputs.model }
    outputs = ["scores"]
    metrics = ["scores"]
  }
}
"""
TRAIN = """
def train(lr):
    return {"model": lr, "scores": {"loss": round(1 - lr, 3)}}
"""
EVALUATE = """
def evaluate(model):
    return {"scores": {"accuracy": round(0.5 + model, 3), "loss": 0.25}}
"""


def test_metrics_are_columns_to_filter_and_sort_by(project: Project) -> None:
    project.write("main.zc.hcl", METRICS)
    project.write("mtrain.py", TRAIN)
    project.write("meval.py", EVALUATE)
    for lr in ("0.1", "0.3", "0.2"):
        assert project.apply("--var", f"lr={lr}").code == 0

    table = _rows(project.run("runs").out)
    # accuracy is evaluate's alone; both steps record a loss: qualified with the step
    assert [row["metrics.accuracy"] for row in table] == ["0.7", "0.8", "0.6"]
    assert [row["metrics.train.loss"] for row in table] == ["0.8", "0.7", "0.9"]
    assert {row["metrics.evaluate.loss"] for row in table} == {"0.25"}

    def accuracies(*args: str) -> list[Any]:
        return [run["metrics"]["accuracy"] for run in _json(project, *args)["runs"]]

    assert accuracies("--sort=-metrics.accuracy") == [0.8, 0.7, 0.6]
    assert accuracies("--where", "metrics.accuracy>=0.7", "--sort", "metrics.accuracy") == [
        0.7,
        0.8,
    ]
    assert accuracies("--where", "metrics.train.loss<0.8") == [0.8]
    ambiguous = project.run("runs", "--sort", "metrics.loss")
    assert ambiguous.code == 1 and "metrics.evaluate.loss, metrics.train.loss" in ambiguous.err
    # a run that reused a step stands on its metrics too
    project.write("meval.py", EVALUATE.replace('"loss": 0.25', '"loss": 0.5'))
    assert project.apply("--var", "lr=0.2").code == 0  # evaluate runs, train is reused
    [latest] = _json(project, "--limit", "1")["runs"]
    assert (latest["ran"], latest["reused"]) == (1, 1)
    assert latest["metrics"] == {"accuracy": 0.7, "evaluate.loss": 0.5, "train.loss": 0.8}
    # a run whose train failed never evaluated its params: the last evaluation is not its
    project.write(
        "mtrain.py", TRAIN.replace("def train(lr):", "def train(lr):\n    1 / (lr - 0.9)")
    )
    failed = project.apply("--var", "lr=0.9")
    assert failed.code == 1 and "Skipped" in failed.out, failed.both
    [latest] = _json(project, "--limit", "1")["runs"]
    assert latest["result"] == "failed" and latest["metrics"] == {}, latest
    assert accuracies("--where", "metrics.accuracy>=0.7") == [0.7, 0.7, 0.8]  # not the failed
