"""A step's current state (what the last apply left in place) is the one baseline that plan
diffs, `show`, `state show` and the PR comment read; `moved` blocks carry it over a rename;
gc keeps what the current configuration would reuse."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from conftest import MAIN, Project
from test_plan_apply import step_lines

FEATURES = "pipeline.demo.step.features"


def revert_factor(project: Project) -> None:
    """factor 2, then 3, then back to 2: the last apply reuses the first run's executions."""
    assert project.apply().code == 0
    assert project.apply("--var", "factor=3").code == 0
    assert project.apply().code == 0


def test_after_a_revert_an_upstream_edit_shows_no_phantom_param_diff(project: Project) -> None:
    revert_factor(project)
    project.write("data/raw.txt", "1 2 3 4 5 6\n")
    for args in (("plan",), ("plan", "--format", "markdown")):
        result = project.run(*args)
        assert result.code == 0, result.both
        assert "params.factor" not in result.out, result.out
        assert FEATURES in result.out


def test_show_and_state_show_print_the_execution_in_place_after_a_revert(
    project: Project,
) -> None:
    revert_factor(project)
    for args in (("show", FEATURES), ("state", "show", FEATURES)):
        result = project.run(*args)
        assert result.code == 0, result.both
        assert "factor = 2" in result.out, result.out
        assert "factor = 3" not in result.out


def test_show_prints_the_execution_in_place_after_a_failed_attempt(project: Project) -> None:
    assert project.apply().code == 0
    project.write("steps/helpers.py", "def scale_all(numbers, factor):\n    raise ValueError\n")
    assert project.apply().code == 1
    features = project.run("show", FEATURES)
    assert "status       succeeded" in features.out, features.out
    assert "last attempt failed" in features.out
    train = project.run("show", "pipeline.demo.step.train")
    assert "status       succeeded" in train.out, train.out
    assert "last attempt skipped" in train.out
    assert "status skipped" not in train.out


@pytest.mark.all_stores
def test_an_upgraded_store_starts_from_the_latest_settled_execution(
    project: Project, tmp_path: Path
) -> None:
    """Schema 0006 records each step's current state; a store made before derives it from
    what was read as the step's state then, so the upgrade changes no plan."""
    from test_stores import create_at_first_revision, export

    assert project.apply().code == 0
    assert project.apply("--var", "factor=3").code == 0
    document = export(project, tmp_path / "before.json")
    project.reset_store()
    create_at_first_revision(project, document)
    assert project.run("state", "upgrade").code == 0

    assert "factor = 3" in project.run("state", "show", FEATURES).out
    assert len(project.run("state", "list").out.split()) == 5
    plan = project.run("plan", "--var", "factor=4")
    assert "~ params.factor: 3 -> 4" in plan.out, plan.out
    assert "No changes" in project.run("plan", "--var", "factor=3").out


@pytest.mark.all_stores
def test_export_and_import_carry_the_current_state(project: Project, tmp_path: Path) -> None:
    from test_stores import export

    revert_factor(project)
    document = export(project, tmp_path / "history.json")
    assert {entry["address"] for entry in document["current"]} >= {FEATURES}
    project.reset_store()
    imported = project.run("state", "import", str(tmp_path / "history.json"))
    assert imported.code == 0, imported.both
    assert "factor = 2" in project.run("state", "show", FEATURES).out
    project.write("data/raw.txt", "1 2 3 4 5 6\n")
    assert "params.factor" not in project.run("plan").out


def test_gc_keeps_the_execution_in_place_after_a_revert(project: Project) -> None:
    from test_gc import _backdate

    revert_factor(project)
    _backdate(project)
    # the newest execution of features, train and evaluate is factor=3's: in use are factor=2's
    assert project.run("gc", "--keep-last", "1").code == 0
    plan = project.run("plan")
    assert plan.out.strip().endswith("No changes. 5 steps cached."), plan.out


# -- renames and `moved` -----------------------------------------------------------------------

TRAIN, FIT = "pipeline.demo.step.train", "pipeline.demo.step.fit"
MOVED = "\nmoved {\n  from = pipeline.demo.step.train\n  to   = pipeline.demo.step.fit\n}\n"


def rename_train(project: Project, moved: bool) -> None:
    """Rename step "train" to "fit", and what reads it, with or without a moved block."""
    text = MAIN.replace('step "train"', 'step "fit"').replace("step.train.", "step.fit.")
    project.write("main.zc.hcl", text + (MOVED if moved else ""))


def test_a_moved_step_keeps_its_state_and_its_dependents_stay_cached(
    project: Project, tmp_path: Path
) -> None:
    assert project.apply().code == 0
    rename_train(project, moved=True)

    plan = project.run("plan", "--detailed-exitcode")
    assert plan.code == 2, plan.both  # a move is a change to apply, as in Terraform
    assert "zenctl will perform the following actions" in plan.out
    assert "Plan: 0 to run, 5 cached, 0 to remove." in plan.out
    lines = step_lines(plan.out)
    assert lines["fit"] == f"= cached (moved from {TRAIN})", plan.out
    assert lines["evaluate"] == "= cached", plan.out
    assert "train" not in lines and "inputs.model" not in plan.out
    markdown = project.run("plan", "--format", "markdown").out
    assert f"- `{FIT}` (moved from `{TRAIN}`)" in markdown, markdown
    document = json.loads(project.run("plan", "--json").out)
    schema = json.loads((Path(__file__).parent.parent / "specs/plan.schema.json").read_text())
    jsonschema.validate(document, schema)
    (fit,) = [step for step in document["steps"] if step["address"] == FIT]
    assert fit["moved_from"] == TRAIN and fit["action"] == "cached"
    assert all("moved_from" not in step for step in document["steps"] if step is not fit)
    assert "moved from" in project.run("show", FIT).out  # before the apply records the move

    assert project.apply().code == 0
    assert FIT in project.run("state", "list").out.split()
    assert TRAIN not in project.run("state", "list").out.split()
    shown = project.run("show", FIT)
    assert shown.code == 0, shown.both
    assert f"moved from   {TRAIN}" in shown.out and "bias = 0.5" in shown.out
    assert "bias = 0.5" in project.run("state", "show", FIT).out
    after = project.run("plan").out
    assert after.strip().endswith("No changes. 5 steps cached.") and "moved" not in after

    rename_train(project, moved=False)  # the move is recorded: the block may go
    assert project.run("plan").out.strip().endswith("No changes. 5 steps cached.")
    project.write("main.zc.hcl", MAIN.replace("bias = 0.5", "bias = 1.5"))  # renamed back
    assert "~ params.bias" not in project.run("plan").out  # train has no state: new


@pytest.mark.parametrize("moved", [True, False], ids=["moved", "renamed"])
def test_after_a_rename_a_cut_off_upstream_reuses_what_is_in_place(
    project: Project, moved: bool
) -> None:
    assert project.apply().code == 0
    rename_train(project, moved=moved)
    assert project.apply().code == 0
    # prep prints more but returns the same numbers; evaluate's input now comes from "fit",
    # whose bytes are those its current state was made from under the name "train"
    text = (project.root / "main.zc.hcl").read_text()
    project.write("main.zc.hcl", text.replace("verbose = false", "verbose = true"))
    applied = project.apply()
    assert "Apply complete! 1 ran, 4 cached" in applied.out, applied.both
    assert "evaluate: Cached (inputs unchanged after upstream re-run)" in applied.out


def test_a_moved_step_that_changed_diffs_against_its_old_state(project: Project) -> None:
    assert project.apply().code == 0
    rename_train(project, moved=True)
    project.write("main.zc.hcl", (project.root / "main.zc.hcl").read_text().replace("0.5", "0.25"))
    plan = project.run("plan").out
    assert step_lines(plan)["fit"].startswith(f"~ run: changed (moved from {TRAIN})"), plan
    assert "~ params.bias: 0.5 -> 0.25" in plan
    assert TRAIN not in plan.replace(f"(moved from {TRAIN})", "")


def test_a_rename_without_moved_reuses_history_and_shows_no_phantom_diff(
    project: Project,
) -> None:
    assert project.apply().code == 0
    rename_train(project, moved=False)
    plan = project.run("plan")
    lines = step_lines(plan.out)
    assert lines["fit"] == "= cached", plan.out  # the same fingerprint: found in history
    assert lines["train"] == "- remove: no longer declared"
    assert lines["evaluate"] == "= cached", plan.out  # same bytes from a renamed producer
    assert "inputs.model" not in plan.out

    replaced = project.run("plan", "--replace", "pipeline.demo.step.evaluate").out
    assert "~ inputs.model.ref: step.train.outputs.output -> step.fit.outputs.output" in replaced
    rename_train(project, moved=True)
    replaced = project.run("plan", "--replace", "pipeline.demo.step.evaluate").out
    assert "inputs.model" not in replaced, replaced  # only the address moved


def test_gc_keeps_what_a_renamed_step_reuses(project: Project) -> None:
    """Renamed without `moved`, a step is new, yet its fingerprint finds the old address's
    execution: gc keeps it, though no kept execution of the new address references it."""
    from test_gc import _backdate

    assert project.apply().code == 0
    assert project.apply("--var", "factor=3").code == 0  # train's newest: factor=3's
    rename_train(project, moved=False)
    _backdate(project)
    collected = project.run("gc", "--keep-last", "1")
    assert collected.code == 0, collected.both
    plan = project.run("plan")
    assert "artifact missing" not in plan.out, plan.out
    assert step_lines(plan.out)["fit"] == "= cached", plan.out


def test_gc_keeps_what_the_configuration_would_reuse_from_history(project: Project) -> None:
    from test_gc import _backdate

    assert project.apply().code == 0
    assert project.apply("--var", "factor=3").code == 0
    _backdate(project)
    # the configuration (factor = 2 by default) reuses the first apply's executions
    assert project.run("gc", "--keep-last", "1").code == 0
    assert project.run("plan").out.strip().endswith("No changes. 5 steps cached.")
    with_three = project.run("gc", "--keep-last", "1", "--var", "factor=3")
    assert "Removed 3 item(s)" in with_three.out, with_three.out


def test_bad_moved_blocks_are_located_errors(project: Project) -> None:
    cases = {
        'moved {\n  from = "pipeline.demo.step.old"\n  to = pipeline.demo.step.train\n}\n': (
            "Invalid step address",
            'The "from" of a moved block must be a step address',
            "line 2",
        ),
        "moved {\n  from = pipeline.demo.step.old\n  to = pipeline.demo.step.nope\n}\n": (
            "Moved to an undeclared step",
            "pipeline.demo.step.old is moved to pipeline.demo.step.nope, which is not declared",
            "line 1",
        ),
        "moved {\n  from = pipeline.demo.step.prep\n  to = pipeline.demo.step.train\n}\n": (
            "Moved object still exists",
            "pipeline.demo.step.prep is moved to pipeline.demo.step.train, but it is still",
            "line 1",
        ),
        "moved {\n  from = pipeline.demo.step.a\n  to = pipeline.demo.step.b\n}\n"
        "moved {\n  from = pipeline.demo.step.b\n  to = pipeline.demo.step.a\n}\n": (
            "Cyclic moves",
            "pipeline.demo.step.a -> pipeline.demo.step.b -> pipeline.demo.step.a",
            "line 1",
        ),
        "moved {\n  to = pipeline.demo.step.train\n}\n": (
            "Missing required argument",
            'A moved block needs "from"',
            "line 1",
        ),
    }
    for text, (summary, detail, line) in cases.items():
        project.write("moved.zc.hcl", text)
        result = project.run("validate")
        assert result.code == 1, result.both
        assert result.err.count("Error: ") == 1, result.err
        assert summary in result.err and detail in " ".join(result.err.split()), result.err
        assert f"on moved.zc.hcl {line}" in result.err, result.err
        assert "Traceback" not in result.both


def test_chained_moves_reach_the_declared_step(project: Project) -> None:
    assert project.apply().code == 0
    rename_train(project, moved=True)
    project.write(
        "moved.zc.hcl",
        "moved {\n  from = pipeline.demo.step.older\n  to = pipeline.demo.step.train\n}\n",
    )
    plan = project.run("plan")
    assert plan.code == 0, plan.both
    assert step_lines(plan.out)["fit"] == f"= cached (moved from {TRAIN})", plan.out


def test_a_moved_step_that_runs_is_recorded_at_its_new_address(project: Project) -> None:
    assert project.apply().code == 0
    rename_train(project, moved=True)
    project.write("data/raw.txt", "1 2 3 4 5 6\n")
    plan = project.run("plan").out
    assert f"(known after apply) (moved from {TRAIN})" in step_lines(plan)["fit"], plan
    applied = project.apply()
    assert applied.code == 0, applied.both
    listed = project.run("state", "list").out.split()
    assert FIT in listed and TRAIN not in listed
    shown = project.run("show", FIT).out
    assert "status       succeeded" in shown and "moved from" not in shown, shown
    assert project.run("plan").out.strip().endswith("No changes. 5 steps cached.")


def test_gc_keeps_what_the_configuration_would_reuse_in_every_workspace(
    project: Project,
) -> None:
    from test_gc import _backdate

    assert project.apply("--var", "factor=3").code == 0
    assert project.run("workspace", "new", "dev").code == 0
    assert project.apply().code == 0
    assert project.apply("--var", "factor=3").code == 0  # dev's current: factor=3's
    assert project.run("workspace", "select", "default").code == 0
    _backdate(project)
    assert project.run("gc", "--keep-last", "1").code == 0
    assert project.run("workspace", "select", "dev").code == 0
    plan = project.run("plan")  # factor = 2: dev's first apply, reused from its history
    assert plan.out.strip().endswith("No changes. 5 steps cached."), plan.out
