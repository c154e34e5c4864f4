"""The state lock: applies never overlap, a held lock names its holder, a dead one is taken over."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid

import pytest
from conftest import ZENCTL, Project


def hold(project: Project, host: str, pid: int, heartbeat_age: float = 0.0) -> str:
    """Record a lock as another zenctl would, returning its ID."""
    lock_id = str(uuid.uuid4())
    now = time.time()
    project.sql(
        "INSERT INTO locks (name, id, operation, username, host, pid, created_at, heartbeat_at) "
        "VALUES ('default', :id, 'apply', 'alice', :host, :pid, :now, :beat)",
        id=lock_id,
        host=host,
        pid=pid,
        now=now - heartbeat_age,
        beat=now - heartbeat_age,
    )
    return lock_id


def test_a_held_lock_names_its_holder_and_force_unlock_releases_it(project: Project) -> None:
    project.apply()
    lock_id = hold(project, "ci-runner-7", 4242)

    blocked = project.run("apply", "--auto-approve", "--var", "factor=3", "-lock-timeout", "1s")
    assert blocked.code == 1
    for text in (
        "Error acquiring the state lock",
        f"ID:        {lock_id}",
        "Operation: apply",
        "alice@ci-runner-7, pid 4242",
        "waited for 1 s",
        f"zenctl force-unlock {lock_id}",
    ):
        assert text in blocked.err, blocked.err
    assert "Traceback" not in blocked.both
    planned = project.run("plan", "--var", "factor=3").out  # plan takes no lock
    assert "Plan: 1 to run, up to 2 more if outputs change" in planned

    assert "Force-unlock needs confirmation" in project.run("force-unlock", lock_id).err
    assert "No lock with ID nope" in project.run("force-unlock", "nope", "--force").err
    released = project.run("force-unlock", lock_id, "--force")
    assert released.code == 0 and f"Released the apply lock {lock_id}" in released.out
    assert project.apply("--var", "factor=3").code == 0
    assert project.sql("SELECT COUNT(*) FROM locks") == [(0,)]


def test_a_dead_holders_lock_is_taken_over(project: Project) -> None:
    project.apply()
    exited = subprocess.Popen(["true"])
    exited.wait()
    hold(project, socket.gethostname(), exited.pid)
    first = project.apply("--var", "factor=3")
    assert first.code == 0, first.both
    assert f"took over a stale state lock (process {exited.pid} on this host has exited)" in (
        first.err
    )

    hold(project, "gone-host", 1, heartbeat_age=300)
    second = project.apply("--var", "factor=4")
    assert second.code == 0, second.both
    assert "took over a stale state lock (no heartbeat for 30" in second.err
    assert project.sql("SELECT COUNT(*) FROM locks") == [(0,)]


COUNTING = """
variable "round" {
  type    = number
  default = 0
}

pipeline "left" {
  step "one" {
    run    = "counting:one"
    params = { round = var.round }
  }
  step "two" {
    run    = "counting:two"
    inputs = { x = step.one.outputs.output }
  }
}

pipeline "right" {
  step "three" {
    run    = "counting:three"
    params = { round = var.round }
  }
}
"""
COUNTING_STEPS = """
from pathlib import Path

LOG = Path(__file__).parent / "side_effects.log"


def _count(name, value):
    with LOG.open("a") as log:
        log.write(f"{name} {value}\\n")
    return value


def one(round):
    return _count("one", round)


def two(x):
    return _count("two", x)


def three(round):
    return _count("three", round)
"""
ROUNDS = 20


def test_simultaneous_applies_run_every_step_exactly_once(project: Project) -> None:
    project.write("main.zc.hcl", COUNTING)
    project.write("counting.py", COUNTING_STEPS)
    assert project.run("init").code == 0
    env = {**os.environ, "NO_COLOR": "1"}
    log = project.root / "side_effects.log"
    for round_ in range(1, ROUNDS + 1):
        command = [ZENCTL, "-C", str(project.root), "apply", "--auto-approve"]
        command += ["--var", f"round={round_}", "--lock-timeout", "2m", "--parallelism", "1"]
        applies = [
            subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            for _ in range(2)
        ]
        outputs = [apply.communicate(timeout=300)[0].decode() for apply in applies]
        for apply, output in zip(applies, outputs, strict=True):
            assert apply.returncode == 0, output
        # One did the work; the other waited for the lock, then found it all recorded.
        assert sorted("Apply complete! 3 ran" in output for output in outputs) == [False, True]
        assert any("No changes. 3 steps cached." in output for output in outputs), outputs
        lines = log.read_text().splitlines()
        assert sorted(line for line in lines if line.endswith(f" {round_}")) == [
            f"one {round_}",
            f"three {round_}",
            f"two {round_}",
        ]
    assert len(log.read_text().splitlines()) == 3 * ROUNDS
    statuses = project.sql("SELECT status, COUNT(*) FROM step_executions GROUP BY status")
    assert statuses == [("succeeded", 3 * ROUNDS)]
    assert project.sql("SELECT COUNT(*) FROM locks") == [(0,)]


@pytest.mark.parametrize(
    ("text", "seconds"), [("0s", 0), ("30s", 30), ("5m", 300), ("1m30s", 90), ("250ms", 0.25)]
)
def test_lock_timeouts_read_like_terraforms(text: str, seconds: float) -> None:
    from zenctl.state.lock import parse_duration

    assert parse_duration(text) == seconds


def test_a_bad_lock_timeout_is_a_clear_error() -> None:
    from zenctl.diagnostics import UserError
    from zenctl.state.lock import parse_duration

    with pytest.raises(UserError, match="Invalid --lock-timeout"):
        parse_duration("soon")


def test_gc_waits_for_the_state_lock_but_a_dry_run_does_not(project: Project) -> None:
    project.apply()
    hold(project, "ci-runner-7", 4242)
    blocked = project.run("gc", "--lock-timeout", "1s")
    assert blocked.code == 1 and "Error acquiring the state lock" in blocked.err, blocked.both
    listed = project.run("gc", "--dry-run")
    assert listed.code == 0 and "Kept" in listed.out, listed.both
