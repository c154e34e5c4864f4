"""A step runs the code the plan hashed: code edited during an apply fails the steps it reaches."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from conftest import Project

from zenctl.apply.task import CodeChanged, check_code
from zenctl.testing import step_task

STEPS = {
    "chain/__init__.py": "",
    "chain/first.py": """
        import time
        from pathlib import Path

        HERE = Path(__file__).parent


        def first(n):
            if (HERE / "hold").exists():
                (HERE / "first-started").write_text("")
                deadline = time.monotonic() + 60
                while not (HERE / "go").exists():  # the test edits the code, then says go
                    if time.monotonic() > deadline:
                        raise TimeoutError("go")
                    time.sleep(0.01)
            return n
        """,
    "chain/second.py": """
        from pathlib import Path

        from chain.helpers import double


        def second(x):
            (Path(__file__).parent / "second-ran").write_text("")
            return double(x)
        """,
    "chain/helpers.py": """
        def double(x):
            return x * 2
        """,
}

MAIN = """
variable "n" {
  default = 1
}

pipeline "p" {
  step "first" {
    run    = "chain.first:first"
    params = { n = var.n }
  }
  step "second" {
    run    = "chain.second:second"
    inputs = { x = step.first.outputs.output }
  }
}
"""

SECOND = "pipeline.p.step.second"


def _write(project: Project, main: str = MAIN) -> None:
    for name, text in STEPS.items():
        project.write(name, text)
    project.write("main.zc.hcl", main)


def _edit_while_the_first_step_runs(
    project: Project, path: str, old: str, new: str, *args: str
) -> str:
    """Apply; once the first step runs, edit `path`; the apply's output."""
    (project.root / "chain/hold").write_text("")
    process = project.start_apply(args=args)
    started = project.root / "chain/first-started"
    deadline = time.monotonic() + 60
    while not started.exists():
        assert process.poll() is None, "".join(process.communicate())
        assert time.monotonic() < deadline, "the first step never started"
        time.sleep(0.02)
    edited = project.root / path
    edited.write_text(edited.read_text().replace(old, new))
    (project.root / "chain/go").write_text("")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1, out + err
    assert "Traceback" not in out + err
    for name in ("hold", "go", "first-started"):
        (project.root / "chain" / name).unlink()
    return out + err


def test_a_step_module_edited_during_apply_fails_that_step(project: Project) -> None:
    _write(project)
    assert project.apply().code == 0
    ran = project.root / "chain/second-ran"
    ran.unlink()

    output = _edit_while_the_first_step_runs(
        project, "chain/second.py", "double(x)", "double(x) + 1", "--var", "n=2"
    )

    assert f"{SECOND}: Failed" in output
    assert "chain/second.py changed since the plan (edited during apply?)" in output
    assert not ran.exists()  # its function never ran
    shown = project.run("show", SECOND)
    assert "failed" in shown.out, shown.both
    assert "chain/second.py changed since the plan" in shown.out

    plan = project.run("plan", "--var", "n=2")
    assert "~ code: chain/second.py" in plan.out, plan.both
    assert "Plan: 1 to run, 1 cached" in plan.out

    # Back to the planned code: no execution was recorded with it and n=2, so the step runs.
    second = project.root / "chain/second.py"
    second.write_text(second.read_text().replace("double(x) + 1", "double(x)"))
    plan = project.run("plan", "--var", "n=2")
    assert "Plan: 1 to run, 1 cached" in plan.out, plan.both
    applied = project.apply("--var", "n=2")
    assert applied.code == 0, applied.both
    assert ran.exists()


def test_a_helper_edited_during_apply_fails_the_step_and_skips_its_dependents(
    project: Project,
) -> None:
    third = '  step "third" {\n    run    = "chain.helpers:double"\n'
    third += "    inputs = { x = step.second.outputs.output }\n  }\n}\n"
    _write(project, MAIN.rstrip()[:-1] + third)

    output = _edit_while_the_first_step_runs(project, "chain/helpers.py", "* 2", "* 3")

    assert f"{SECOND}: Failed" in output
    assert "chain/helpers.py changed since the plan (edited during apply?)" in output
    assert "pipeline.p.step.third: Skipped" in output
    assert not (project.root / "chain/second-ran").exists()
    shown = project.run("show", "pipeline.p.step.third")
    assert "skipped" in shown.out, shown.both


def _project(root: Path) -> None:
    (root / "steps").mkdir()
    (root / "steps/__init__.py").write_text("")
    (root / "steps/step.py").write_text("from steps.helpers import double\n\nSTEP = double\n")
    (root / "steps/helpers.py").write_text("def double(x):\n    return x * 2\n")


def test_check_names_an_edited_helper_and_ignores_a_comment(tmp_path: Path) -> None:
    _project(tmp_path)
    task = step_task(tmp_path, "steps.step:STEP")
    helpers = tmp_path / "steps/helpers.py"
    helpers.write_text("# a comment changes no token\n" + helpers.read_text())
    check_code(task)

    helpers.write_text(helpers.read_text().replace("* 2", "* 3"))
    with pytest.raises(CodeChanged, match=r"^steps/helpers\.py changed since the plan"):
        check_code(task)


def test_check_trusts_no_cache_entry_taken_within_the_files_timestamp_tick(
    tmp_path: Path,
) -> None:
    """Plan read the helper in the tick it was written; an edit of the same size in that tick
    leaves its stat as it was, and must still be caught."""
    _project(tmp_path)
    helpers = tmp_path / "steps/helpers.py"
    task = step_task(tmp_path, "steps.step:STEP")
    written = helpers.stat()
    helpers.write_text(helpers.read_text().replace("* 2", "* 3"))  # same size
    os.utime(helpers, ns=(written.st_atime_ns, written.st_mtime_ns))
    assert helpers.stat().st_size == written.st_size
    with pytest.raises(CodeChanged, match=r"^steps/helpers\.py changed"):
        check_code(task)


def test_check_names_a_module_imported_since_the_plan(tmp_path: Path) -> None:
    _project(tmp_path)
    task = step_task(tmp_path, "steps.step:STEP")
    (tmp_path / "steps/extra.py").write_text("X = 1\n")
    step = tmp_path / "steps/step.py"
    step.write_text("import steps.extra\n" + step.read_text())
    with pytest.raises(CodeChanged, match=r"^steps/extra\.py changed"):
        check_code(task)


def test_check_names_a_helper_deleted_since_the_plan(tmp_path: Path) -> None:
    _project(tmp_path)
    task = step_task(tmp_path, "steps.step:STEP")
    (tmp_path / "steps/helpers.py").unlink()
    with pytest.raises(CodeChanged, match=rf"^steps/helpers\.py not found under {tmp_path} \("):
        check_code(task)
