"""`deps = [...]` on a step: files and folders it reads, in its key as sources are
(specs/caching.md)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import HOLDING_STEPS, Project, wait_until_started
from test_plan_apply import step_lines

STEPS = """
from pathlib import Path

ROOT = Path(__file__).parent.parent  # the project folder: zenctl leaves the step's cwd as it is

def extra(n):
    return (ROOT / "data/extra.csv").read_text() * n


def configs():
    return sorted(p.name for p in (ROOT / "configs").iterdir())


def plain(x):
    return len(x)
"""

MAIN = """
pipeline "demo" {
  step "extra" {
    run    = "steps.deps:extra"
    params = { n = 1 }
    deps   = ["data/extra.csv"]
  }
  step "configs" {
    run  = "steps.deps:configs"
    deps = ["configs/", "data/extra.csv"]
  }
  step "plain" {
    run    = "steps.deps:plain"
    inputs = { x = step.extra.outputs.output }
  }
}
"""


def make(project: Project, main: str = MAIN) -> Project:
    project.write("steps/__init__.py", "")
    project.write("steps/deps.py", STEPS)
    project.write("data/extra.csv", "a,b\n")
    project.write("configs/one.yaml", "x: 1\n")
    project.write("main.zc.hcl", main)
    return project


def test_a_changed_dep_reruns_exactly_the_steps_that_declare_it(project: Project) -> None:
    make(project)
    assert project.apply().code == 0
    assert "No changes. 3 steps cached." in project.run("plan").out

    project.write("configs/two.yaml", "y: 2\n")
    plan = project.run("plan")
    lines = step_lines(plan.out)
    assert lines["configs"].startswith("~ run: changed"), plan.out
    assert lines["extra"] == "= cached" and lines["plain"] == "= cached"
    assert "~ deps: configs/ changed" in plan.out
    assert "1 ran, 2 cached" in project.apply().out

    project.write("data/extra.csv", "a,b,c\n")
    plan = project.run("plan")
    lines = step_lines(plan.out)
    assert lines["extra"].startswith("~ run: changed") and lines["configs"].startswith("~ run")
    assert "~ deps: data/extra.csv changed" in plan.out
    assert lines["plain"].startswith("~ run: upstream changes")
    document = json.loads(project.run("plan", "--json").out)
    assert document["summary"]["to_run"] == 2

    # a touch with the same bytes changes nothing
    applied = project.apply()
    assert applied.code == 0, applied.both
    (project.root / "data/extra.csv").write_text("a,b,c\n")
    assert "No changes. 3 steps cached." in project.run("plan").out


def test_adding_deps_to_a_step_shows_them_and_other_keys_stay(project: Project) -> None:
    make(project, MAIN.replace('    deps   = ["data/extra.csv"]\n', ""))
    project.apply()
    project.write("main.zc.hcl", MAIN)
    plan = project.run("plan")
    lines = step_lines(plan.out)
    assert lines["extra"].startswith("~ run: changed") and "+ deps: data/extra.csv" in plan.out
    assert lines["configs"] == "= cached"


def test_a_missing_dep_is_an_error_at_its_line(project: Project) -> None:
    make(project, MAIN.replace('["configs/", "data/extra.csv"]', '["configs/", "data/gone.csv"]'))
    plan = project.run("plan")
    assert plan.code != 0
    assert "Dependency not found" in plan.both
    assert "data/gone.csv" in plan.both and "main.zc.hcl line 9" in plan.both, plan.both
    assert "Traceback" not in plan.both


FILE_STEPS = """
def train(lr, epochs):
    return lr * epochs


def render(text, depth):
    return f"{text}/{depth}"
"""

FILE_MAIN = """
locals {
  p   = yamldecode(file("params.yaml"))
  cfg = jsondecode(file("cfg.json"))
}

pipeline "demo" {
  step "train" {
    run    = "steps.files:train"
    params = local.p.train
  }
  step "render" {
    run    = "steps.files:render"
    params = { text = templatefile("note.tpl", { who = "me" }), depth = local.cfg.depth }
  }
}
"""


def test_params_read_from_files_through_locals_are_in_the_key(project: Project) -> None:
    project.write("steps/__init__.py", "")
    project.write("steps/files.py", FILE_STEPS)
    project.write("params.yaml", "train:\n  lr: 0.1\n  epochs: 3\n")
    project.write("cfg.json", '{"depth": 2}')
    project.write("note.tpl", "hello ${who}")
    project.write("main.zc.hcl", FILE_MAIN)
    assert project.apply().code == 0

    project.write("params.yaml", "train:\n  lr: 0.2\n  epochs: 3\n")
    plan = project.run("plan")
    lines = step_lines(plan.out)
    assert lines["train"].startswith("~ run: changed") and lines["render"] == "= cached"
    assert "~ params.lr: 0.1 -> 0.2 (from local.p.train, file params.yaml)" in plan.out
    change = json.loads(project.run("plan", "--json").out)["steps"][0]["changes"][0]
    assert change["origin"] == "local.p.train, file params.yaml"
    assert project.apply().code == 0

    # a comment in the YAML file changes no value: nothing runs
    project.write("params.yaml", "# tuned\ntrain:\n  lr: 0.2\n  epochs: 3\n")
    assert "No changes. 2 steps cached." in project.run("plan").out

    project.write("cfg.json", '{"depth": 5}')
    project.write("note.tpl", "bye ${who}")
    plan = project.run("plan")
    assert step_lines(plan.out)["render"].startswith("~ run: changed"), plan.out
    assert "~ params.depth: 2 -> 5 (from local.cfg.depth, file cfg.json)" in plan.out
    assert '~ params.text: "hello me" -> "bye me"' in plan.out
    assert "file note.tpl" in plan.out


def test_a_saved_plan_holds_the_deps_and_is_refused_once_one_changes(project: Project) -> None:
    make(project)
    project.apply()
    project.write("data/extra.csv", "x\n")
    saved = project.run("plan", "--out", str(project.root / "reviewed.plan"))
    assert saved.code == 0, saved.both
    project.write("data/extra.csv", "y\n")
    refused = project.run("apply", str(project.root / "reviewed.plan"))
    assert refused.code != 0 and "Saved plan is stale" in refused.both, refused.both
    assert "its deps changed (data/extra.csv)" in refused.both  # not "its upstream changed"
    project.write("data/extra.csv", "x\n")
    applied = project.run("apply", str(project.root / "reviewed.plan"))
    assert applied.code == 0 and "Apply complete! 3 ran" in applied.out, applied.both


def test_a_dep_edited_during_the_apply_stops_its_step(tmp_path: Path) -> None:
    project = Project(tmp_path, end_to_end=True)
    project.write("hold.py", HOLDING_STEPS)
    project.write("data/extra.csv", "a\n")
    project.write(
        "main.zc.hcl",
        """
        pipeline "demo" {
          step "slow" {
            run = "hold:slow"
          }
          step "after" {
            run    = "hold:after"
            inputs = { x = step.slow.outputs.output }
            deps   = ["data/extra.csv"]
          }
        }
        """,
    )
    process = project.start_apply()
    wait_until_started(project, process)
    project.write("data/extra.csv", "b\n")
    (tmp_path / "go").write_text("go")
    out, err = process.communicate(timeout=120)
    assert process.returncode != 0
    assert "its dep data/extra.csv changed since the plan" in out + err, out + err
    assert not (tmp_path / "after_ran").exists()
    plan = project.run("plan")
    assert "~ deps: data/extra.csv changed" not in plan.out  # never recorded: still new
    assert step_lines(plan.out)["after"].startswith("+ run: new"), plan.out
