"""What `zenctl runs` costs at 10,000 recorded runs: the default listing, and --where/--sort
over every run.

    python bench/runs.py [--runs 10000] [--rounds 5]

Seeds a project's SQLite store with one real apply, then `--runs` runs written with bulk SQL
as applies record them: five steps each (their params recorded with the run, one execution per
step that ran, of about 1 KiB with its components, train and evaluate with a metric each), a
param changing every few runs, one run in ten failed (metrics where the schema has them, 0007
on). Then times the `zenctl` program (Python's start-up included: what users pay) and prints
the medians beside `zenctl version`, the floor of any command.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ZENCTL = str(Path(sys.executable).parent / "zenctl")
STEPS = ("load", "split", "features", "train", "evaluate")
MAIN = """
pipeline "exp" {
  step "load" {
    run    = "steps:passthrough"
    params = { rows = 1000 }
  }
  step "split" {
    run    = "steps:passthrough"
    params = { rows = 1000, test_size = 0.2 }
  }
  step "features" {
    run    = "steps:passthrough"
    params = { rows = 1000, scale = true }
  }
  step "train" {
    run    = "steps:passthrough"
    params = { rows = 1000, lr = 0.01, epochs = 10 }
  }
  step "evaluate" {
    run    = "steps:passthrough"
    params = { rows = 1000 }
  }
}
"""
COMMANDS = {
    "zenctl version (start-up floor)": ["version"],
    "zenctl runs (newest 20)": ["runs"],
    "zenctl runs --where params.lr>=0.05 --sort=-params.lr": [
        "runs",
        "--where",
        "params.lr>=0.05",
        "--sort=-params.lr",
    ],
    "zenctl runs --where result=failed --sort params.epochs --limit 100": [
        "runs",
        "--where",
        "result=failed",
        "--sort",
        "params.epochs",
        "--limit",
        "100",
    ],
    "zenctl runs --sort=-metrics.accuracy --limit 10": [
        "runs",
        "--sort=-metrics.accuracy",
        "--limit",
        "10",
    ],
    "zenctl runs --json --limit 10000": ["runs", "--json", "--limit", "10000"],
}


def _project(root: Path) -> None:
    (root / "main.zc.hcl").write_text(MAIN)
    (root / "steps.py").write_text("def passthrough(**params):\n    return params\n")
    subprocess.run(
        [ZENCTL, "-C", str(root), "apply", "--auto-approve"], check=True, capture_output=True
    )


def _seed(database: Path, count: int) -> None:
    """`count` runs as applies record them, oldest a year ago, in one transaction."""
    rng = random.Random(7)
    started = time.time() - 365 * 86400
    params = {step: {"rows": 1000} for step in STEPS}
    runs, executions, metrics = [], [], []
    for index in range(count):
        if index % 3 == 0:  # someone tried another learning rate or epoch count
            params["train"] = {**params["train"], "lr": rng.choice([0.001, 0.01, 0.05, 0.1])}
            params["train"]["epochs"] = rng.choice([5, 10, 20])
        ran = STEPS[rng.randrange(len(STEPS)) :]
        failed = index % 10 == 0
        steps = {
            f"pipeline.exp.step.{step}": {"params": dict(params[step]), "reused": step not in ran}
            for step in STEPS
        }
        summary = {
            "ran": len(ran) - failed,
            "cached": len(STEPS) - len(ran),
            "failed": int(failed),
            "steps": steps,
        }
        run_id = str(uuid.uuid4())
        started += rng.uniform(600, 6000)
        runs.append(
            (
                run_id,
                "failed" if failed else "succeeded",
                started,
                started + rng.uniform(5, 600),
                json.dumps(summary, sort_keys=True),
            )
        )
        for step in ran:
            components = {"params": params[step], "code": {"steps.py": "ab" * 32}, "x": "y" * 700}
            execution_id = str(uuid.uuid4())
            if step in ("train", "evaluate"):  # their scores: a loss, an accuracy
                name = "loss" if step == "train" else "accuracy"
                value = round(rng.uniform(0.5, 1.0), 4)
                metrics.append((execution_id, "scores", name, value, json.dumps(value)))
            executions.append(
                (
                    execution_id,
                    run_id,
                    f"pipeline.exp.step.{step}",
                    len(executions) + 100,
                    "failed" if failed and step == ran[-1] else "succeeded",
                    json.dumps(components),
                    started,
                    started + 1,
                    1.0,
                    f"file:///logs/{run_id}/pipeline.exp.step.{step}.log",
                )
            )
    with sqlite3.connect(database) as connection:
        connection.executemany(
            "INSERT INTO runs (id, workspace, status, started_at, finished_at, git_sha, "
            "git_dirty, zenctl_version, username, host, summary) VALUES "
            "(?, 'default', ?, ?, ?, 'a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2', 0, '0.1.0', "
            "'bench', 'bench-host', ?)",
            runs,
        )
        connection.executemany(
            "INSERT INTO step_executions (id, run_id, workspace, address, serial, status, "
            "components, started_at, finished_at, duration, log_uri) VALUES "
            "(?, ?, 'default', ?, ?, ?, ?, ?, ?, ?, ?)",
            executions,
        )
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        if "metrics" in tables:  # schema 0007 on
            connection.executemany(
                "INSERT INTO metrics (execution_id, output, name, value, value_json) "
                "VALUES (?, ?, ?, ?, ?)",
                metrics,
            )


def _timed(root: Path, args: list[str], rounds: int) -> tuple[float, float]:
    """Median wall and CPU seconds of the command, which must succeed. The CPU time (user and
    system) hardly moves with the machine's load, which the wall time does."""
    walls, cpus = [], []
    for _ in range(rounds):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([ZENCTL, "-C", str(root), *args], check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return sorted(walls)[len(walls) // 2], sorted(cpus)[len(cpus) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10_000, help="runs to record")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per command (median)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        _project(root)
        _seed(root / ".zenctl" / "metadata.db", options.runs)
        print(f"{options.runs + 1} runs recorded; medians of {options.rounds} rounds")
        print(f"{'wall s':>7} {'cpu s':>7}  command")
        load = os.getloadavg()[0]
        for name, args in COMMANDS.items():
            wall, cpu = _timed(root, args, options.rounds)
            print(f"{wall:7.3f} {cpu:7.3f}  {name}")
        after = os.getloadavg()[0]
        print(f"load average {load:.1f} before, {after:.1f} after; {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
