"""`zenctl logs`: a step's log from the last run or a named one, the failed step by default,
and -f following a step that is still running until it ends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time

from conftest import CONSOLE, MAIN, ZENCTL, Project

FAILING = MAIN.replace(
    'run    = "steps.pipeline:report"', 'run    = "steps.pipeline:boom"'
).replace('step "report"', 'step "boom"')


def test_logs_of_the_failed_step_by_default(project: Project) -> None:
    project.write("main.zc.hcl", FAILING)
    assert project.apply().code == 1
    shown = project.run("logs")
    assert shown.code == 0, shown.both
    assert "ValueError: the model diverged" in shown.out and "Traceback" in shown.out
    # a step by name, of the same run
    assert project.run("logs", "prep").out == ""  # prep prints nothing
    assert project.run("logs", "demo.prep").code == 0

    project.write("main.zc.hcl", MAIN)
    assert project.apply("--var", "factor=3").code == 0  # 4 ran, none failed: which one?
    which = project.run("logs")
    assert which.code == 1
    assert "Several steps of run" in which.err and "pipeline.demo.step.report" in which.err
    assert "reporting on 5 numbers" in project.run("logs", "report").out
    # the failed run is still there by its ID
    failed = json.loads(project.run("runs", "--json", "--where", "result=failed").out)
    earlier = project.run("logs", "--run", failed["runs"][0]["id"][:8])
    assert "the model diverged" in earlier.out

    unknown = project.run("logs", "nope")
    assert unknown.code == 1 and "No step 'nope' with a log in run" in unknown.err
    assert project.run("logs", "--run", "0000").code == 1


def test_no_runs_yet(project: Project) -> None:
    result = project.run("logs")
    assert result.code == 1 and "No runs yet" in result.err


TALKING = """
pipeline "p" {
  step "talk" {
    run = "talk:talk"
  }
  step "after" {
    run    = "talk:after"
    inputs = { said = step.talk.outputs.output }
  }
}
"""

TALK = """
import time
from pathlib import Path

HERE = Path(__file__).parent


def talk():
    print("first line", flush=True)
    (HERE / "started").write_text("yes")
    while not (HERE / "go").exists():
        time.sleep(0.05)
    print("last line", flush=True)
    return 1


def after(said):
    print("after says", said, flush=True)
    return said
"""


def _talking(project: Project) -> subprocess.Popen[str]:
    """An apply in the background, inside `talk` once this returns (its first line logged)."""
    project.write("main.zc.hcl", TALKING)
    project.write("talk.py", TALK)
    process = project.start_apply()
    deadline = time.monotonic() + 60
    while not (project.root / "started").exists():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    return process


def test_follow_prints_a_running_step_until_it_ends(project: Project) -> None:
    process = _talking(project)
    go = threading.Timer(1.0, (project.root / "go").write_text, args=("now",))
    go.start()
    followed = project.run("logs", "-f")  # the run's one running step
    go.join()
    assert followed.code == 0, followed.both
    assert followed.out == "first line\nlast line\n"
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, out + err


def test_follow_waits_for_a_named_step_the_run_has_yet_to_start(project: Project) -> None:
    process = _talking(project)
    run_id = json.loads(project.run("runs", "--json").out)["runs"][0]["id"]
    go = threading.Timer(1.0, (project.root / "go").write_text, args=("now",))
    go.start()
    followed = project.run("logs", "after", "-f", "--run", run_id[:8])
    go.join()
    assert followed.code == 0, followed.both
    assert followed.out == "after says 1\n"
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, out + err
    # a step the run does not have is an error at once, -f or not
    assert project.run("logs", "nope", "-f").code == 1


def test_ctrl_c_stops_following_quietly(project: Project) -> None:
    process = _talking(project)
    follower = subprocess.Popen(
        [ZENCTL, "-C", str(project.root), "logs", "talk", "--follow"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **CONSOLE},
    )
    try:
        time.sleep(2)  # it started, printed what there is, and waits for more
        assert follower.poll() is None
        follower.send_signal(signal.SIGINT)
        out, err = follower.communicate(timeout=30)
        assert follower.returncode == 130
        assert out == "first line\n" and err == ""
    finally:
        (project.root / "go").write_text("now")
        process.communicate(timeout=60)
