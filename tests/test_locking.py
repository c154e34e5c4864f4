"""The state lock: applies never overlap, a held lock names its holder, a dead one is taken over."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import uuid

import pytest
from conftest import HOLDING_STEPS, ZENCTL, Project, gcs_bucket, wait_until_started

from zenctl.state.lock import host_identity

# Concurrency is what a lock is for: on the bucket store as on the SQL ones.
pytestmark = pytest.mark.gcs_store


def hold(project: Project, host: str, pid: int, heartbeat_age: float = 0.0) -> str:
    """Record a lock as another zenctl would, returning its ID."""
    lock_id = str(uuid.uuid4())
    since = time.time() - heartbeat_age
    row = {"name": "default", "id": lock_id, "operation": "apply", "username": "alice"}
    row |= {"host": host, "pid": pid, "created_at": since, "heartbeat_at": since}
    if project.store.kind == "gcs":
        lock = gcs_bucket().blob(f"{project.store.database}/locks/default.json")
        lock.upload_from_string(json.dumps(row))
    else:
        project.sql(
            "INSERT INTO locks (name, id, operation, username, host, pid, created_at, "
            "heartbeat_at) VALUES (:name, :id, :operation, :username, :host, :pid, "
            ":created_at, :heartbeat_at)",
            **row,
        )
    return lock_id


def lock_ids(project: Project) -> list[str]:
    """The IDs of the locks held in the project's store."""
    if project.store.kind == "gcs":
        folder = f"{project.store.database}/locks/"
        return [
            json.loads(b.download_as_bytes())["id"] for b in gcs_bucket().list_blobs(prefix=folder)
        ]
    return [lock_id for (lock_id,) in project.sql("SELECT id FROM locks ORDER BY name")]


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
    assert lock_ids(project) == []


def test_a_dead_holders_lock_is_taken_over(project: Project) -> None:
    project.apply()
    exited = subprocess.Popen(["true"])
    exited.wait()
    hold(project, host_identity(), exited.pid)
    first = project.apply("--var", "factor=3")
    assert first.code == 0, first.both
    assert f"took over a stale state lock (process {exited.pid} on this host has exited)" in (
        first.err
    )

    hold(project, "gone-host", 1, heartbeat_age=300)
    second = project.apply("--var", "factor=4")
    assert second.code == 0, second.both
    assert "took over a stale state lock (no heartbeat for 30" in second.err
    assert lock_ids(project) == []


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


@pytest.mark.slow
def test_simultaneous_applies_run_every_step_exactly_once(project: Project) -> None:
    project.write("main.zc.hcl", COUNTING)
    project.write("counting.py", COUNTING_STEPS)
    assert project.run("init").code == 0
    env = {**os.environ, "NO_COLOR": "1"}
    log = project.root / "side_effects.log"
    rounds = 6 if project.store.kind == "gcs" else ROUNDS  # each start imports the GCS client
    for round_ in range(1, rounds + 1):
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
    assert len(log.read_text().splitlines()) == 3 * rounds
    statuses = project.sql("SELECT status, COUNT(*) FROM step_executions GROUP BY status")
    assert statuses == [("succeeded", 3 * rounds)]
    assert lock_ids(project) == []


@pytest.mark.parametrize(
    ("text", "seconds"), [("0s", 0), ("30s", 30), ("5m", 300), ("1m30s", 90), ("250ms", 0.25)]
)
def test_lock_timeouts_read_like_terraforms(text: str, seconds: float) -> None:
    from zenctl.durations import parse_duration

    assert parse_duration(text, "--lock-timeout") == seconds


def test_a_bad_lock_timeout_is_a_clear_error() -> None:
    from zenctl.diagnostics import UserError
    from zenctl.durations import parse_duration

    with pytest.raises(UserError, match="Invalid --lock-timeout"):
        parse_duration("soon", "--lock-timeout")


def test_gc_waits_for_the_state_lock_but_a_dry_run_does_not(project: Project) -> None:
    project.apply()
    hold(project, "ci-runner-7", 4242)
    blocked = project.run("gc", "--lock-timeout", "1s")
    assert blocked.code == 1 and "Error acquiring the state lock" in blocked.err, blocked.both
    listed = project.run("gc", "--dry-run")
    assert listed.code == 0 and "Kept" in listed.out, listed.both


FENCED = """
pipeline "p" {
  step "slow" {
    run = "fenced:slow"
  }
  step "after" {
    run    = "fenced:after"
    inputs = { x = step.slow.outputs.output }
  }
}
"""


def test_a_holder_that_lost_its_lock_stops_before_its_next_write(project: Project) -> None:
    """Someone took the lock over while the apply was stalled: it must not write again."""
    project.write("main.zc.hcl", FENCED)
    project.write("fenced.py", HOLDING_STEPS)
    process = project.start_apply()
    wait_until_started(project, process)
    [lock_id] = lock_ids(project)
    assert project.run("force-unlock", lock_id, "--force").code == 0
    usurper = hold(project, "other-runner", 99)  # a second apply took the lock meanwhile
    (project.root / "go").write_text("now")
    out, err = process.communicate(timeout=120)

    assert process.returncode == 1, out + err
    assert "Error: Lost the state lock" in err
    assert "no longer holds the state lock" in err and "Traceback" not in out + err
    assert not (project.root / "after_ran").exists()  # stopped before its next step, too
    assert lock_ids(project) == [usurper]  # the usurper's lock is intact
    # nothing of the lost holder's was written after the takeover: the step is still open
    slow = "SELECT status FROM step_executions WHERE address = 'pipeline.p.step.slow'"
    assert project.sql(slow) == [("running",)]


def test_same_hostname_in_another_pid_namespace_is_not_taken_over(project: Project) -> None:
    """Containers sharing a hostname do not share PIDs: a pid missing here says nothing."""
    project.apply()
    exited = subprocess.Popen(["true"])
    exited.wait()
    lock_id = hold(project, socket.gethostname() + " (boot 00000000, pid namespace 1)", exited.pid)
    blocked = project.run("apply", "--auto-approve", "--var", "factor=3", "-lock-timeout", "0s")
    assert blocked.code == 1 and "Error acquiring the state lock" in blocked.err, blocked.both
    assert lock_id in blocked.err


def test_a_lock_records_the_boot_and_pid_namespace() -> None:
    identity = host_identity()
    assert identity.startswith(socket.gethostname())
    if os.path.exists("/proc/self/ns/pid"):
        assert f"pid namespace {os.stat('/proc/self/ns/pid').st_ino})" in identity
