"""A step's current state (what the last apply left in place) is the one baseline that plan
diffs, `show`, `state show` and the PR comment read; `moved` blocks carry it over a rename;
gc keeps what the current configuration would reuse."""

from __future__ import annotations

from pathlib import Path

from conftest import Project

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
