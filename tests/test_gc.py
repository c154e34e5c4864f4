"""`zenctl gc` removes only what no kept execution references; the plan stays cached."""

from __future__ import annotations

import os
import time

import pytest
from conftest import MAIN, Project
from test_plan_apply import step_lines


def _backdate(project: Project) -> None:
    """Age everything stored by an hour, past gc's grace period for applies in progress."""
    then = time.time() - 3600
    for path in (project.root / ".zenctl/artifacts").rglob("*"):
        os.utime(path, (then, then))


def _objects(project: Project) -> set[str]:
    return {p.name for p in (project.root / ".zenctl/artifacts/objects").rglob("*") if p.is_file()}


@pytest.mark.all_stores
def test_gc_keeps_the_last_executions_and_removes_the_rest(project: Project) -> None:
    for factor in ("2", "3", "4"):
        assert project.apply("--var", f"factor={factor}").code == 0
    leftover = project.root / ".zenctl/artifacts/objects/00/.tmp-killed"
    leftover.parent.mkdir(exist_ok=True)
    leftover.write_bytes(b"half an artifact")
    _backdate(project)
    before = _objects(project)

    # gc keeps what the configuration would reuse: the one applied last, factor=4
    dry = project.run("gc", "-keep-last", "1", "-dry-run", "--var", "factor=4")
    assert dry.code == 0, dry.both
    # features, train, evaluate ran for factors 2 and 3: six objects, plus the leftover
    assert "Would remove 7 item(s)" in dry.out, dry.out
    assert dry.out.count("  object ") == 6
    assert "temporary objects/00/.tmp-killed  16 B" in dry.out
    assert _objects(project) == before

    default = project.run("gc", "--var", "factor=4").out  # the last 3 kept: only the leftover goes
    assert "Removed 1 item(s), 16 B:\n  temporary objects/00/.tmp-killed" in default, default
    assert not leftover.exists()

    done = project.run("gc", "--keep-last", "1", "--var", "factor=4")
    assert "Removed 6 item(s)" in done.out, done.out
    assert len(_objects(project)) == len(before) - 7
    assert "No changes. 5 steps cached." in project.run("plan", "--var", "factor=4").out

    # the executions for factor=2 are still recorded, their artifacts are not: re-run them
    back = step_lines(project.run("plan").out)
    assert back["features"].startswith("~ run: changed, artifact missing"), back
    assert back["prep"] == "= cached"
    assert project.apply().code == 0


def test_gc_leaves_what_an_apply_may_be_recording(project: Project) -> None:
    project.apply()
    project.apply("--var", "factor=3")
    result = project.run("gc", "--keep-last", "1", "--var", "factor=3")
    assert "Nothing to remove." in result.out
    assert "3 unreferenced one(s) younger than 15 minutes" in result.out


def test_gc_finds_an_artifact_store_whose_path_is_a_variable(project: Project) -> None:
    """The variables the stores' settings use come from --var, the environment and their
    defaults, as for `plan`."""
    project.write(
        "stack.zc.hcl",
        """
        variable "artifacts" {
          type    = string
          default = "store"
        }

        stack "dev" {
          orchestrator "local" {}
          artifact_store "local" {
            path = var.artifacts
          }
          metadata_store "sqlite" {}
        }
        """,
    )
    project.write(
        "main.zc.hcl",
        MAIN.replace('pipeline "demo" {', 'pipeline "demo" {\n  stack = stack.dev', 1),
    )
    for factor in ("2", "3"):
        assert project.apply("--var", f"factor={factor}").code == 0
    then = time.time() - 3600
    for path in (project.root / "store").rglob("*"):
        os.utime(path, (then, then))
    dry = project.run("gc", "--keep-last", "1", "--dry-run", "--var", "factor=3")
    assert dry.code == 0, dry.both
    assert "Would remove 3 item(s)" in dry.out, dry.out
    elsewhere = project.run(
        "gc",
        "--keep-last",
        "1",
        "--dry-run",
        "--var",
        "factor=3",
        env={"ZENCTL_VAR_artifacts": "x"},
    )
    assert "Nothing to remove." in elsewhere.out, elsewhere.both
