"""`deps = [...]` on a step: files and folders it reads, in its key as sources are
(specs/caching.md)."""

from __future__ import annotations

import json

from conftest import Project
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
