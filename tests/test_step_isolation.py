"""A step killed by a signal fails alone, named with its signal; zenctl's death ends its steps."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import Project
from test_interrupts import start_slow_apply

STEPS = """
import os
import signal
import time
from pathlib import Path


HERE = Path(__file__).parent


def _await(name):
    deadline = time.monotonic() + 60
    while not (HERE / name).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(name)
        time.sleep(0.01)


def victim(how):
    (HERE / "victim.pid").write_text(str(os.getpid()))
    if how == "self":
        os.kill(os.getpid(), signal.SIGKILL)
    if how == "exit":
        os._exit(3)
    time.sleep(60)
    return 0


def survivor():
    _await("victim.pid")  # the victim has started: both are in flight
    if (HERE / "external").exists():
        _await("go")  # the test kills the victim, then says go
    else:
        time.sleep(0.5)  # still running when the victim kills itself
    return 1


def after(x):
    return x + 1


def constant():
    return 1


def marker():
    (HERE / "started.pid").write_text(str(os.getpid()))
    time.sleep(3)
    (HERE / "marker").write_text("the step ran on after zenctl died")
    return 0
"""

MAIN = """
pipeline "p" {
  step "victim" {
    run    = "isolation:victim"
    params = { how = "HOW" }
  }
  step "survivor" {
    run = "isolation:survivor"
  }
  step "after" {
    run    = "isolation:after"
    inputs = { x = step.survivor.outputs.output }
  }
}
"""


def _running(pid: int) -> bool:
    """Whether the process exists and has not exited (a zombie has)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    if sys.platform == "linux" and stat.exists():
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def _ended(pid: int) -> bool:
    """Whether the process ends within 10 s."""
    deadline = time.monotonic() + 10
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not _running(pid)


def _await_file(path: Path) -> str:
    deadline = time.monotonic() + 60
    while not path.exists() or not path.read_text():
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.01)
    return path.read_text()


@pytest.mark.parametrize(
    ("how", "error"),
    [
        ("self", "killed by signal 9 (SIGKILL): out of memory?"),
        ("external", "killed by signal 15 (SIGTERM)"),
        ("exit", "its worker process exited with code 3 before it reported a result"),
    ],
    ids=["killed-itself", "killed-from-outside", "exited"],
)
def test_a_killed_step_fails_alone_and_names_its_signal(
    project: Project, how: str, error: str
) -> None:
    """The others finish and are recorded, their dependents run; only the victim re-plans."""
    project.write("isolation.py", STEPS)
    project.write("main.zc.hcl", MAIN.replace("HOW", how))
    if how == "external":
        (project.root / "external").touch()
    process = project.start_apply(args=("--parallelism", "3"))
    if how == "external":
        victim = int(_await_file(project.root / "victim.pid"))
        os.kill(victim, signal.SIGTERM)
        assert _ended(victim)
        (project.root / "go").touch()
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1, out + err
    assert "Traceback" not in out + err
    assert "BrokenProcessPool" not in out + err
    assert f"pipeline.p.step.victim: {error}" in err, err
    if how != "self":
        assert "out of memory" not in err, err
    log = re.search(r"  log: (\S+/pipeline\.p\.step\.victim\.log)", err)
    assert log, err
    assert error in (project.root / log.group(1)).read_text()
    assert "1 step(s) failed" in err, err
    for step in ("survivor", "after"):
        show = project.run("show", f"pipeline.p.step.{step}")
        assert "status       succeeded" in show.out, show.out
    assert "status       failed" in project.run("show", "pipeline.p.step.victim").out
    plan = project.run("plan")
    assert "+ pipeline.p.step.victim" in plan.out, plan.out
    assert "= pipeline.p.step.survivor" in plan.out, plan.out
    assert "Plan: 1 to run, 2 cached, 0 to remove." in plan.out, plan.out


def test_a_lost_worker_is_replaced_for_the_steps_queued_behind_it(project: Project) -> None:
    """With one worker, the steps queued behind the killed one still run, on a new worker."""
    project.write("isolation.py", STEPS)
    project.write(
        "main.zc.hcl",
        'pipeline "p" {\n'
        '  step "victim" {\n    run    = "isolation:victim"\n    params = { how = "self" }\n  }\n'
        '  step "a" {\n    run = "isolation:constant"\n  }\n'
        '  step "b" {\n    run = "isolation:constant"\n  }\n}\n',
    )
    applied = project.apply("--parallelism", "1")
    assert applied.code == 1, applied.both
    assert "pipeline.p.step.victim: killed by signal 9 (SIGKILL)" in applied.err, applied.err
    for step in ("a", "b"):
        assert f"pipeline.p.step.{step}: Done" in applied.out, applied.out


TRAINING_STACK = """
stack "s" {
  orchestrator "local" {}
  artifact_store "local" {}
  metadata_store "sqlite" {}
  training "local" {}
}
"""


def _on_training(step: str, settings: str) -> str:
    """A pipeline of one step, run by `training "local"` in a process of its own."""
    return (
        f'{TRAINING_STACK}\npipeline "p" {{\n  stack = stack.s\n  step "{step}" {{\n'
        f'    {settings}\n    on = "training"\n  }}\n}}\n'
    )


def test_a_killed_training_process_names_its_signal(project: Project) -> None:
    project.write("isolation.py", STEPS)
    settings = 'run = "isolation:victim"\n    params = { how = "self" }'
    project.write("main.zc.hcl", _on_training("victim", settings))
    applied = project.apply()
    assert applied.code == 1, applied.both
    assert "pipeline.p.step.victim: killed by signal 9 (SIGKILL): out of memory?" in applied.err


@pytest.mark.parametrize("where", ["orchestrator", "training"])
def test_killing_zenctl_ends_its_steps(project: Project, where: str) -> None:
    """A worker that outlived zenctl would run on unseen, and a re-apply would run its step
    a second time at once. Also a step's own process (`on = "training"`)."""
    project.write("isolation.py", STEPS)
    project.write(
        "main.zc.hcl",
        _on_training("marker", 'run = "isolation:marker"')
        if where == "training"
        else 'pipeline "p" {\n  step "marker" {\n    run = "isolation:marker"\n  }\n}\n',
    )
    process = project.start_apply()
    worker = int(_await_file(project.root / "started.pid"))
    os.kill(process.pid, signal.SIGKILL)  # zenctl alone, as the OOM killer would
    process.wait(timeout=10)
    assert _ended(worker), "the step's worker outlived zenctl"
    assert not (project.root / "marker").exists()  # and a dead worker writes nothing more


def test_ctrl_c_in_a_terminal_reaches_the_workers_too_and_stops_gracefully(
    project: Project,
) -> None:
    """A terminal sends Ctrl-C's SIGINT to the whole foreground group, workers included."""
    process = start_slow_apply(project)
    os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 130, out + err
    assert "Traceback" not in out + err
    assert "Apply interrupted." in out, out
    show = project.run("show", "pipeline.p.step.second")
    assert "status       interrupted" in show.out, show.out
    assert "Plan: 1 to run, 1 cached, 0 to remove." in project.run("plan").out


def test_without_prctl_a_worker_notices_that_zenctl_is_gone() -> None:
    """The fallback where Linux's parent-death signal is not available (macOS)."""
    middle = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, time\n"
            "from zenctl.apply.lifeline import watch_parent\n"
            "parent = os.getpid()\n"
            "if os.fork() == 0:\n"
            "    print(os.getpid(), flush=True)\n"
            "    watch_parent(parent)\n"
            "time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert middle.stdout is not None
    worker = int(middle.stdout.readline())
    middle.kill()
    middle.wait()
    assert _ended(worker), "the worker outlived its parent"
