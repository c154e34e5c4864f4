"""Workspaces: separate runs and cache views in one store, selected or set by ZENCTL_WORKSPACE."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Project

from zenctl.diagnostics import UserError
from zenctl.workspaces import check_name


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "is empty"),
        ("a" * 65, "is 65 characters long; the limit is 64"),
        ("../prod", "may only hold letters"),
        ("team/dev", "may only hold letters"),
        ("dev\0", "may only hold letters"),
        (".hidden", "must start with a letter or digit"),
    ],
)
def test_workspace_names_that_could_escape_a_folder_are_refused(name: str, problem: str) -> None:
    with pytest.raises(UserError) as caught:
        check_name(name)
    assert problem in caught.value.diagnostic.detail


def test_valid_workspace_names() -> None:
    for name in ("dev", "pr-123", "exp_2.b", "a" * 64):
        assert check_name(name) == name


@pytest.mark.all_stores
def test_each_workspace_has_its_own_runs_and_cache(project: Project, tmp_path: Path) -> None:
    assert "Apply complete! 5 ran" in project.apply().out
    created = project.run("workspace", "new", "dev")
    assert created.code == 0 and 'switched to workspace "dev"' in created.out
    assert (project.root / ".zenctl/environment").read_text().strip() == "dev"

    plan = project.run("plan")
    assert plan.out.startswith("Workspace: dev")
    assert "Plan: 5 to run, 0 cached" in plan.out  # default's history does not leak in
    applied = project.apply("--target", "pipeline.demo.step.prep")
    assert "Apply complete! 1 ran" in applied.out
    dev_runs = project.run("runs").out
    default_runs = project.run("runs", env={"ZENCTL_WORKSPACE": "default"}).out
    assert len(dev_runs.splitlines()) == len(default_runs.splitlines()) == 2  # header + 1 run
    assert dev_runs.splitlines()[1][:8] != default_runs.splitlines()[1][:8]
    assert project.run("workspace", "list").out == "  default\n* dev\n"
    shown = project.run("workspace", "show", env={"ZENCTL_WORKSPACE": "pr-7"})
    assert shown.out == "pr-7\n"  # the environment wins over the selection

    saved = tmp_path / "dev.plan"
    assert project.run("plan", "--out", str(saved)).code == 0
    assert project.run("workspace", "select", "default").code == 0
    refused = project.run("apply", str(saved))
    assert 'planned in workspace "dev", the current workspace is "default"' in refused.err
    assert "No changes. 5 steps cached." in project.run("plan").out

    assert "Can't delete the default workspace" in project.run("workspace", "delete", "default").err
    in_use = project.run("workspace", "delete", "dev", env={"ZENCTL_WORKSPACE": "dev"})
    assert "Can't delete the current workspace" in in_use.err
    with_runs = project.run("workspace", "delete", "dev")
    assert with_runs.code == 1 and 'Workspace "dev" has 1 recorded run(s)' in with_runs.err
    forced = project.run("workspace", "delete", "dev", "--force")
    assert forced.out == 'Deleted workspace "dev" and its 1 run(s).\n'
    assert project.run("workspace", "list").out == "* default\n"
    assert "No changes. 5 steps cached." in project.run("plan").out  # default untouched


def test_bad_workspace_names_are_clear_errors(project: Project) -> None:
    bad = project.run("workspace", "new", "../prod")
    assert bad.code == 1 and "Error: Invalid workspace name" in bad.err
    from_env = project.run("plan", env={"ZENCTL_WORKSPACE": "a/b"})
    assert from_env.code == 1
    assert "The ZENCTL_WORKSPACE environment variable 'a/b' may only hold" in from_env.err
    missing = project.run("workspace", "select", "qa")
    assert 'Workspace "qa" doesn\'t exist' in missing.err and "workspace new qa" in missing.err
    assert project.run("workspace", "select", "-or-create", "qa").code == 0
