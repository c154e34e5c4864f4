"""An apply that is killed or interrupted loses only the steps in flight; state stays usable."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from conftest import Project

SLOW = """
import time


def quick():
    return 1


def slow(x):
    time.sleep(30)
    return x
"""

MAIN = """
pipeline "p" {
  step "first" {
    run = "slowsteps:quick"
  }
  step "second" {
    run    = "slowsteps:slow"
    inputs = { x = step.first.outputs.output }
  }
}
"""


def start_slow_apply(project: Project, sigint_ignored: bool = False) -> subprocess.Popen[str]:
    project.write("slowsteps.py", SLOW)
    project.write("main.zc.hcl", MAIN)
    process = project.start_apply(sigint_ignored)
    assert process.stdout is not None
    for line in process.stdout:  # wait until the slow step is in flight
        if "pipeline.p.step.second: Running" in line:
            return process
    raise AssertionError("the slow step never started: " + process.stderr.read())  # type: ignore[union-attr]


def test_sigkill_mid_apply_keeps_finished_steps_and_replans_the_rest(project: Project) -> None:
    process = start_slow_apply(project)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    plan = project.run("plan")
    assert plan.code == 0, plan.both
    assert "= pipeline.p.step.first" in plan.out
    assert "+ pipeline.p.step.second" in plan.out
    assert "Plan: 1 to run, 1 cached, 0 to remove." in plan.out
    project.write("slowsteps.py", SLOW.replace("time.sleep(30)", "pass"))
    applied = project.apply()
    assert applied.code == 0, applied.both
    show = project.run("show", "pipeline.p.step.second")
    assert "status       succeeded" in show.out


@pytest.mark.parametrize("sigint_ignored", [False, True], ids=["foreground", "background-job"])
def test_ctrl_c_stops_gracefully_and_records_the_interruption(
    project: Project, sigint_ignored: bool
) -> None:
    """Also when started as a shell's background job, which inherits Ctrl-C ignored."""
    process = start_slow_apply(project, sigint_ignored)
    started = time.monotonic()
    os.kill(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert time.monotonic() - started < 15, "Ctrl-C waited for the step to finish"
    assert process.returncode == 130, out + err
    assert "Traceback" not in out + err
    assert "Apply interrupted." in out
    assert "nothing was changed" not in err  # it was: the interrupted step is recorded
    assert "pipeline.p.step.second" in out
    runs = project.run("runs")
    assert "interrupted" in runs.out
    show = project.run("show", "pipeline.p.step.second")  # cancelled in flight, recorded so
    assert "status       interrupted" in show.out, show.out
    assert "Plan: 1 to run, 1 cached, 0 to remove." in project.run("plan").out


def test_apply_with_nothing_to_do_closes_a_killed_applys_run(project: Project) -> None:
    """A killed apply leaves its run 'running'; the next apply closes it even with no changes."""
    assert project.apply().code == 0
    project.sql(
        "INSERT INTO runs (id, workspace, status, started_at, zenctl_version) "
        "VALUES ('dead-run', 'default', 'running', 0, '0.1.0')"
    )
    assert "No changes." in project.apply().out
    runs = project.run("runs").out
    assert "running" not in runs, runs
    assert "interrupted" in runs, runs


def test_ctrl_c_while_planning_says_nothing_was_changed(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """typer turns a KeyboardInterrupt inside a command into a silent exit 130: the user
    must still be told that nothing was changed."""
    from zenctl.application.project import Project as Loaded

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Loaded, "plan", interrupted)
    result = project.run("plan")
    assert result.code == 130
    assert "Interrupted: nothing was changed." in result.err
    assert "Traceback" not in result.both
