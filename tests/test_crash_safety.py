"""SIGKILL at random moments: state stays consistent and the next plan is exactly the rest.

Seeded, so a failing round reproduces: the failure message names the round and its delay.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import ZENCTL, Project

from zenctl.application.project import Project as ZenctlProject
from zenctl.config.variables import VariableInputs
from zenctl.fingerprint.files import hash_file

pytestmark = pytest.mark.gcs_store

STEPS = """
import time


def load(n):
    return list(range(n))


def work(x, salt, ms):
    time.sleep(ms / 1000)
    return [*x[-50:], salt]


def big(x):
    return bytes(x[-1] % 251 for _ in range(1 << 20))


def join(left, right):
    time.sleep(0.1)
    return len(left) + len(right)
"""

MAIN = """
variable "salt" {
  type    = number
  default = 0
}

pipeline "c" {
  step "load" {
    run    = "crashsteps:load"
    params = { n = 100 }
  }
  step "a" {
    run    = "crashsteps:work"
    inputs = { x = step.load.outputs.output }
    params = { salt = var.salt, ms = 150 }
  }
  step "b" {
    run    = "crashsteps:work"
    inputs = { x = step.load.outputs.output }
    params = { salt = var.salt, ms = 40 }
  }
  step "c" {
    run    = "crashsteps:work"
    inputs = { x = step.a.outputs.output }
    params = { salt = 1, ms = 300 }
  }
  step "d" {
    run    = "crashsteps:big"
    inputs = { x = step.b.outputs.output }
  }
  step "e" {
    run    = "crashsteps:join"
    inputs = { left = step.c.outputs.output, right = step.d.outputs.output }
  }
}
"""

ROUNDS = 32


def _salted(salt: int) -> VariableInputs:
    return VariableInputs((("var", f"salt={salt}"),), {})


def _check_consistent(root: Path, salt: int, planned: set[str], run_before: int) -> bool:
    """After a kill: the store opens, every success has its artifacts, none is partial, and
    the plan is exactly what the killed apply had left. True when the kill left work undone
    after some of it was recorded: the apply was killed mid-way, not before it began."""
    project = ZenctlProject.load(root, _salted(salt))
    store = project.open_state(create=False)
    assert store is not None
    try:
        objects = root / ".zenctl/artifacts/objects"
        for path in objects.rglob("*") if objects.exists() else []:
            if path.is_file() and not path.name.startswith(".tmp-"):
                assert hash_file(path) == path.name, f"partial or damaged object {path}"
        succeeded = store.db.query(
            "SELECT address, outputs FROM step_executions WHERE status = 'succeeded'"
        )
        newest_runs = store.db.query("SELECT id FROM runs ORDER BY started_at")[run_before:]
        killed_run = newest_runs[0]["id"] if newest_runs else None
        for row in succeeded:
            for item in json.loads(row["outputs"]).values():
                path = objects / item["hash"][:2] / item["hash"]
                assert path.exists(), f"{row['address']} succeeded without its artifact"
        finished = {
            row["address"]
            for row in store.db.query(
                "SELECT address FROM step_executions WHERE run_id = :run AND status = 'succeeded'",
                {"run": killed_run},
            )
        }
        plan = project.plan(store)
        assert {s.address for s in plan.to_run} == planned - finished
        everything = {s.address for s in plan.steps}
        assert {s.address for s in plan.cached} == everything - (planned - finished)
        return bool(finished) and finished != planned
    finally:
        store.close()


def _wait_for_progress(
    project: Project, runs_before: int, done: int, process: subprocess.Popen[bytes]
) -> None:
    """Block until the apply's run has recorded `done` finished steps (or the apply ended).

    Kill moments are drawn in units of progress rather than seconds, so that a loaded machine
    (slow start-up, slow steps) still gets kills before, between and during steps."""
    deadline = time.monotonic() + 60
    query = (
        "SELECT COUNT(*) FROM step_executions WHERE status = 'succeeded' AND run_id = "
        "(SELECT id FROM runs ORDER BY started_at DESC LIMIT 1)"
    )
    while process.poll() is None and time.monotonic() < deadline:
        [(runs,)] = project.sql("SELECT COUNT(*) FROM runs")
        if runs > runs_before and project.sql(query)[0][0] >= done:
            return
        time.sleep(0.005)


@pytest.mark.slow
def test_sigkill_at_random_moments_never_loses_or_corrupts_state(project: Project) -> None:
    project.write("crashsteps.py", STEPS)
    project.write("main.zc.hcl", MAIN)
    project.run("init")
    rng = random.Random(20261122)
    mid_apply = 0
    for round_ in range(ROUNDS):
        salt = round_ // 2  # each salt twice: a fresh apply, then one resuming it
        before = ZenctlProject.load(project.root, _salted(salt))
        store = before.open_state(create=False)
        planned = {s.address for s in before.plan(store).to_run}
        runs_before = len(store.db.query("SELECT id FROM runs"))
        store.close()
        done = rng.randrange(len(planned)) if planned else 0
        delay = rng.uniform(0.0, 0.3)
        process = subprocess.Popen(
            [ZENCTL, "-C", str(project.root), "apply", "--auto-approve", "--var", f"salt={salt}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        _wait_for_progress(project, runs_before, done, process)
        time.sleep(delay)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        try:
            mid_apply += _check_consistent(project.root, salt, planned, runs_before)
        except AssertionError as exc:
            raise AssertionError(
                f"round {round_} (killed {delay:.2f}s after {done} steps finished): {exc}"
            ) from exc
    assert mid_apply >= ROUNDS // 4, f"only {mid_apply} kills landed mid-apply: widen the delays"

    final = project.apply("--var", f"salt={salt}")
    assert final.code == 0, final.both
    assert "No changes." in project.run("plan", "--var", f"salt={salt}").out
    runs = project.run("runs", "--limit", "100").out
    assert " running " not in runs, runs  # runs of killed applies are closed as interrupted
