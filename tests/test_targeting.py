"""--target plans a step or resource and what it needs; --exclude everything but a step or
resource and what depends on it; --replace runs a cached step; each warns."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from conftest import MAIN, Project
from test_plan_apply import ADDR, step_lines
from test_saved_plans import SCHEMA

# Which steps a plan covers; the state queries are test_plan_apply's.


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
    assert "Can't target, exclude or replace when applying a saved plan" in refused.err
    applied = project.run("apply", str(saved))
    assert "Apply complete! 2 ran" in applied.out, applied.both
    assert "Plan: 3 to run, 2 cached" in project.run("plan").out


def test_exclude_leaves_out_a_step_and_what_depends_on_it(project: Project) -> None:
    result = project.run("plan", "-json", "-exclude", ADDR + "features")
    assert result.code == 0, result.both
    document = json.loads(result.out)
    jsonschema.validate(document, SCHEMA)
    # train consumes features, evaluate train: both go; prep and report do not depend on it
    assert [step["step"] for step in document["steps"]] == ["prep", "report"]
    assert document["excludes"] == [ADDR + "features"]
    assert document["targets"] == []
    assert "Warning: Exclusion is in effect" in result.err
    assert f"leaves out {ADDR}features, the steps that depend on them" in result.err

    text = project.run("plan", "--exclude", ADDR + "features").out
    assert sorted(step_lines(text)) == ["prep", "report"]
    assert "Plan: 2 to run, 0 cached" in text

    applied = project.apply("--exclude", ADDR + "features")
    assert "Apply complete! 2 ran, 0 cached" in applied.out, applied.both
    assert "Warning: Exclusion is in effect" in applied.err
    lines = step_lines(project.run("plan").out)
    assert lines["prep"] == lines["report"] == "= cached"
    assert all(lines[name].startswith("+ run") for name in ("features", "train", "evaluate"))

    unknown = project.run("plan", "--exclude", ADDR + "featurs")
    assert unknown.code == 1
    assert "Error: Unknown address for --exclude" in unknown.err
    assert f'Did you mean "{ADDR}features"?' in unknown.err
    both = project.run("plan", "--exclude", ADDR + "train", "--target", ADDR + "prep")
    assert both.code == 1
    assert "Error: Invalid combination of options" in both.err

    # As with --target, a step no longer declared is removed only by a full plan.
    report = '  step "report" {\n    run    = "steps.pipeline:report"\n'
    assert report in MAIN
    project.write("main.zc.hcl", MAIN.replace(report, report.replace("report", "summary", 1)))
    partial = project.run("plan", "--exclude", ADDR + "train").out
    assert "0 to remove" in partial and ADDR + "report" not in partial, partial
    assert "1 to remove" in project.run("plan").out


def test_saved_plan_with_exclusions_applies_exactly(project: Project, tmp_path: Path) -> None:
    saved = tmp_path / "excluded.plan"
    made = project.run("plan", "-exclude", ADDR + "train", "-exclude", ADDR + "report")
    assert "Plan: 2 to run" in made.out, made.both
    assert project.run("plan", "--exclude", ADDR + "train", "--out", str(saved)).code == 0
    assert json.loads(saved.read_text())["excludes"] == [ADDR + "train"]
    refused = project.run("apply", str(saved), "--exclude", ADDR + "prep")
    assert refused.code == 1
    assert "Can't target, exclude or replace when applying a saved plan" in refused.err
    applied = project.run("apply", str(saved))
    assert "Apply complete! 3 ran, 0 cached" in applied.out, applied.both
    lines = step_lines(project.run("plan").out)
    assert [name for name, line in lines.items() if line != "= cached"] == ["train", "evaluate"]


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


def test_replace_of_a_step_whose_inputs_are_known_after_apply_still_runs_it(
    project: Project,
) -> None:
    project.apply()
    # train's inputs are known only once features has run; features reproduces its bytes, and
    # an earlier train matches them: --replace must run train all the same.
    replaced = ("-replace", ADDR + "features", "-replace", ADDR + "train")
    lines = step_lines(project.run("plan", *replaced).out)
    assert lines["train"].startswith("~ run: upstream changes, replace requested"), lines
    applied = project.apply(*replaced)
    assert "Apply complete! 2 ran, 3 cached" in applied.out, applied.both
    assert "evaluate: Cached (inputs unchanged after upstream re-run)" in applied.out


RESOURCES = """
stack "dev" {
  orchestrator "local" {}
  artifact_store "local" {}
  metadata_store "sqlite" {}
  greeting "file" {
    path = "out/hello.txt"
    text = "Hello"
  }
}

pipeline "p" {
  stack = stack.dev
  step "prep" {
    run    = "steps.pipeline:prep"
    inputs = { raw = source.raw }
  }
  step "report" {
    run    = "steps.pipeline:report"
    inputs = { numbers = step.prep.outputs.output }
  }
  source "raw" {
    path = "data/raw.txt"
  }
  deployment "api" {
    model   = step.prep.outputs.output
    serving = "local"
  }
}
"""


def _targeted(project: Project, *targets: str) -> tuple[list[str], list[str]]:
    """The steps and resources a plan with these targets covers."""
    return _covered(project, *[arg for target in targets for arg in ("--target", target)])


def _covered(project: Project, *args: str) -> tuple[list[str], list[str]]:
    result = project.run("plan", "--json", *args)
    assert result.code == 0, result.both
    document = json.loads(result.out)
    jsonschema.validate(document, SCHEMA)
    return (
        [step["step"] for step in document["steps"]],
        [change["address"] for change in document["resource_changes"]],
    )


def test_target_narrows_resources_as_terraform_does(project: Project) -> None:
    project.write("main.zc.hcl", RESOURCES)
    api, greeting = "pipeline.p.deployment.api", "stack.dev.greeting"
    # A step's target leaves the deployment that serves its model alone; a deployment's
    # brings the step that makes its model; a pipeline's brings its deployments.
    assert _targeted(project, "pipeline.p.step.prep") == (["prep"], [])
    assert _targeted(project, api) == (["prep"], [api])
    assert _targeted(project, "pipeline.p") == (["prep", "report"], [api])
    assert _targeted(project, greeting) == ([], [greeting])
    assert _targeted(project) == (["prep", "report"], [api, greeting])
    unknown = project.run("plan", "--target", "pipeline.p.deployment.apx")
    assert unknown.code == 1
    assert f'Did you mean "{api}"?' in unknown.err

    applied = project.apply("--target", greeting)
    assert applied.code == 0, applied.both
    done = "Apply complete! 0 ran, 0 cached, 0 removed; 1 added, 0 changed, 0 destroyed."
    assert done in applied.out
    assert (project.root / "out/hello.txt").read_text() == "Hello\n"
    full = project.run("plan").out
    assert "Plan: 2 to run, 0 cached, 0 to remove; 1 to add, 0 to change, 0 to destroy." in full

    # A resource no longer declared is destroyed only by a plan that covers it.
    block = '  greeting "file" {\n    path = "out/hello.txt"\n    text = "Hello"\n  }\n'
    assert block in RESOURCES
    project.write("main.zc.hcl", RESOURCES.replace(block, ""))
    assert _targeted(project, "pipeline.p.step.prep") == (["prep"], [])
    assert _targeted(project, greeting) == ([], [greeting])
    destroyed = project.apply("--target", greeting)
    assert "0 added, 0 changed, 1 destroyed" in destroyed.out, destroyed.both
    assert not (project.root / "out/hello.txt").exists()


def _excluded(project: Project, *excludes: str) -> tuple[list[str], list[str]]:
    """The steps and resources a plan with these exclusions covers."""
    args = [arg for exclude in excludes for arg in ("--exclude", exclude)]
    return _covered(project, *args)


SERVABLE_PREP = """

class Numbers(list):
    def predict(self, rows):  # a model the deployment can serve
        return [len(self) for _ in rows]


def prep(raw, verbose=False):
    return Numbers(int(line) for line in raw.read_text().split())
"""


def test_exclude_leaves_out_resources_and_deployments_of_excluded_models(
    project: Project,
) -> None:
    project.write("main.zc.hcl", RESOURCES)
    steps = (project.root / "steps/pipeline.py").read_text()
    project.write("steps/pipeline.py", steps + SERVABLE_PREP)
    api, greeting = "pipeline.p.deployment.api", "stack.dev.greeting"
    # The deployment serves prep's model: excluding prep leaves it out with report.
    assert _excluded(project, "pipeline.p.step.prep") == ([], [greeting])
    assert _excluded(project, "pipeline.p.step.report") == (["prep"], [api, greeting])
    assert _excluded(project, api) == (["prep", "report"], [greeting])
    assert _excluded(project, "pipeline.p") == ([], [greeting])
    assert _excluded(project, greeting, api) == (["prep", "report"], [])
    applied = project.apply("--exclude", greeting)
    assert "2 ran, 0 cached, 0 removed; 1 added, 0 changed, 0 destroyed" in applied.out, (
        applied.both
    )
    assert not (project.root / "out/hello.txt").exists()
    destroyed = project.run("destroy", "--auto-approve")  # the model server it started
    assert destroyed.code == 0, destroyed.both
