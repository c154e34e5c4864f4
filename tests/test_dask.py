"""orchestrator "dask": the test pipeline on a Dask cluster, through the CLI."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Project
from test_interrupts import start_slow_apply
from test_plan_apply import apply_with_failing_train

# The orchestrator is under test; the metadata store's database is not.

distributed = pytest.importorskip("distributed", reason="providers/dask is not installed")
dask_config = pytest.importorskip("dask.config")

ADDR = "pipeline.demo.step."


def dask_stack(settings: str) -> str:
    return f"""
    stack "dask" {{
      orchestrator "dask" {{
        {settings}
      }}
      artifact_store "local" {{}}
      metadata_store "sqlite" {{}}
    }}
    """


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A cluster of two worker processes, as `dask scheduler` and `dask worker` would run."""
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    ) as cluster:
        yield str(cluster.scheduler_address)


def stored_objects(project: Project) -> set[str]:
    return {path.name for path in (project.root / ".zenctl/artifacts/objects").rglob("*")}


def test_dask_cluster_produces_the_same_artifacts_as_local_processes(
    project: Project, scheduler: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    local = Project(tmp_path_factory.mktemp("local"))
    for name in ("steps/__init__.py", "steps/pipeline.py", "steps/helpers.py", "data/raw.txt"):
        local.write(name, (project.root / name).read_text())
    local.write("main.zc.hcl", (project.root / "main.zc.hcl").read_text())
    assert local.apply().code == 0

    project.write("stack.zc.hcl", dask_stack(f'scheduler = "{scheduler}"'))
    applied = project.apply()
    assert applied.code == 0, applied.both
    assert "Apply complete! 5 ran" in applied.out
    assert stored_objects(project) == stored_objects(local)
    log = next((project.root / ".zenctl/artifacts/logs").rglob(f"{ADDR}report.log"))
    assert "reporting on 5 numbers" in log.read_text()
    assert "No changes. 5 steps cached." in project.run("plan").out

    # a worker keeps no stale copy of the project's code between applies: with the helper
    # scaling by 1, features now returns prep's numbers, the very same artifact
    project.write("steps/helpers.py", "def scale_all(numbers, factor):\n    return numbers\n")
    assert project.apply().code == 0
    outputs = {
        step["address"]: step["cached_outputs"]["output"]["hash"]
        for step in json.loads(project.run("plan", "--json").out)["steps"]
    }
    assert outputs[f"{ADDR}features"] == outputs[f"{ADDR}prep"]


def test_failing_step_on_the_cluster_fails_with_its_log(project: Project, scheduler: str) -> None:
    project.write("stack.zc.hcl", dask_stack(f'scheduler = "{scheduler}"'))
    apply_with_failing_train(project)


def test_unreachable_scheduler_is_a_diagnostic_and_records_no_run(project: Project) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    project.write(
        "stack.zc.hcl", dask_stack(f'scheduler = "tcp://127.0.0.1:{port}"\nconnect_timeout = 1')
    )
    applied = project.apply()
    assert applied.code == 1
    assert f"Error: Cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in applied.err
    assert "Running" not in applied.out
    assert "No runs yet" in project.run("runs").out


def test_bad_settings_name_the_block_and_the_setting() -> None:
    from zenctl_dask.orchestrator import DaskOrchestrator

    from zenctl.diagnostics import UserError

    for settings, problem in (
        ({"schedular": "tcp://127.0.0.1:8786"}, "schedular: Extra inputs are not permitted"),
        ({"scheduler": "tcp://127.0.0.1:8786", "workers": 2}, "`workers` shapes the local"),
        (
            {"scheduler": "tcp://127.0.0.1:8786", "worker_resources": {"GPU": 1}},
            "`worker_resources` shapes the local cluster",
        ),
        ({"connect_timeout": 0}, "connect_timeout: Input should be greater than 0"),
    ):
        with pytest.raises(UserError) as raised:
            DaskOrchestrator.from_settings(settings, Path("."))
        assert raised.value.diagnostic.summary == 'Invalid settings in orchestrator "dask"'
        assert problem in raised.value.diagnostic.detail


def test_bad_settings_are_a_diagnostic_at_their_line(project: Project) -> None:
    project.write("stack.zc.hcl", dask_stack('schedular = "tcp://127.0.0.1:8786"'))
    applied = project.apply()
    assert applied.code == 1
    assert "Error: Unsupported argument" in applied.err
    assert "on stack.zc.hcl line 3" in applied.err
    assert 'An argument named "schedular" is not expected here. Did you mean "scheduler"?' in (
        applied.err
    )


def test_worker_returns_the_log_and_forgets_the_project_code(tmp_path: Path) -> None:
    """The log goes back to a client that cannot see the worker's disk; the next step, maybe
    another project's, imports its own code."""
    from zenctl_dask.orchestrator import run_step

    from zenctl.testing import step_task

    (tmp_path / "stepmod.py").write_text(
        "import os\n\ndef hello():\n    os.write(1, b'hello from the worker\\n')\n"
    )
    task = step_task(
        tmp_path,
        "stepmod:hello",
        artifact_store=("local", {"path": str(tmp_path / "store")}),  # the worker builds it
        log_path=tmp_path / "worker-disk" / "hello.log",
    )
    result, log = run_step(task, tmp_path)
    assert result.ok, result.error
    assert log == b"hello from the worker\n"
    assert "stepmod" not in sys.modules
    assert str(tmp_path) not in sys.path


def test_ctrl_c_cancels_the_apply_on_the_cluster(project: Project, scheduler: str) -> None:
    project.write("stack.zc.hcl", dask_stack(f'scheduler = "{scheduler}"'))
    process = start_slow_apply(project)
    os.kill(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130, out + err
    assert "Traceback" not in out + err
    assert "interrupted: pipeline.p.step.second" in out
    assert "Plan: 1 to run, 1 cached, 0 to remove." in project.run("plan").out


def test_lost_scheduler_fails_the_step_in_flight_and_keeps_the_rest(project: Project) -> None:
    cluster = distributed.LocalCluster(
        n_workers=1, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0"
    )
    project.write("stack.zc.hcl", dask_stack(f'scheduler = "{cluster.scheduler_address}"'))
    process = start_slow_apply(project)
    cluster.close()
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1, out + err
    assert "Traceback" not in out + err
    assert "was lost or restarted; apply again" in err
    assert "Plan: 1 to run, 1 cached, 0 to remove." in project.run("plan").out


# -- a cluster that shares no filesystem with the project ----------------------------------------

WHERE = """
import os
import sys

from steps.helper import double


def where():
    from distributed import get_worker

    from steps import helper

    print("free:", get_worker().state.available_resources)  # what the others may still take
    print("helper:", helper.__file__)
    print("cwd:", os.getcwd())
    print("path:", os.pathsep.join(sys.path))
    return double(21)


def again():
    return where()


def die():
    os._exit(3)
"""

ELSEWHERE = """
pipeline "p" {
  step "where" {
    run = "steps.where:where"
  }
  step "again" {
    run = "steps.where:again"
  }
  step "die" {
    run = "steps.where:die"
  }
}
"""


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """Workers started in a folder of their own, as on another machine: the project is neither
    their working directory nor on their sys.path. A task whose worker dies is tried once more
    (allowed-failures 1): Dask counts every task assigned to a worker that dies as one death,
    the ones waiting behind the step that killed it too, which a second try lets finish."""
    workdir = tmp_path_factory.mktemp("worker-machine")
    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        with (
            dask_config.set({"distributed.scheduler.allowed-failures": 1}),
            distributed.LocalCluster(
                n_workers=3,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0",
                local_directory=str(workdir / "scratch"),
            ) as cluster,
        ):
            os.chdir(cwd)
            yield str(cluster.scheduler_address), workdir
    finally:
        os.chdir(cwd)


def test_code_reaches_workers_without_the_project_and_a_dead_worker_fails_one_step(
    tmp_path: Path, elsewhere: tuple[str, Path]
) -> None:
    address, workdir = elsewhere
    project = Project(tmp_path / "project")
    project.write("steps/__init__.py", "")
    project.write("steps/where.py", WHERE)
    project.write("steps/helper.py", "def double(n):\n    return 2 * n\n")
    project.write("main.zc.hcl", ELSEWHERE)
    project.write("stack.zc.hcl", dask_stack(f'scheduler = "{address}"'))
    applied = project.apply()
    assert applied.code == 1, applied.both
    assert "pipeline.p.step.where: Done" in applied.out, applied.both
    assert "pipeline.p.step.again: Done" in applied.out
    log = next((project.root / ".zenctl/artifacts/logs").rglob("pipeline.p.step.where.log"))
    text = log.read_text()
    assert f"helper: {workdir / 'scratch'}" in text  # imported from the copy the worker got
    assert "/zenctl-code/" in text
    assert str(project.root) not in text  # neither its cwd nor its sys.path
    # the three steps run the same code: sent to the workers once
    with distributed.Client(address) as client:
        plugins = client.run_on_scheduler(
            lambda dask_scheduler: [n for n in dask_scheduler.worker_plugins if "zenctl" in n]
        )
    assert len(plugins) == 1, plugins

    # the worker that died is named; the other steps finished and are recorded
    assert "pipeline.p.step.die: Failed" in applied.out
    assert "its Dask worker tcp://127.0.0.1:" in applied.err
    assert (
        "died while running it (killed, out of memory, or the step ended the process), as did 1 "
        "before it (distributed.scheduler.allowed-failures = 1); that worker's log says why"
    ) in applied.err
    assert "Traceback" not in applied.both
    assert "Plan: 1 to run, 2 cached, 0 to remove." in project.run("plan").out


def test_workers_with_other_versions_are_named_in_one_error() -> None:
    from zenctl_dask.versions import check_versions, compared

    from zenctl.diagnostics import UserError

    packages = {"python": "3.11.7.final.0", "zenctl": "0.1.1", "dask": "2026.8.0"}
    here = compared(packages)
    assert here["Python"] == "3.11" and here["distributed"] == "(not installed)"
    older = compared({**packages, "zenctl": "0.1.0", "python": "3.11.2.final.0"})
    other_python = compared({**packages, "python": "3.12.1.final.0"})
    check_versions(here, {"tcp://10.0.0.7:4000": older | {"zenctl": "0.1.1"}}, "tcp://s:8786")
    with pytest.raises(UserError) as raised:
        check_versions(
            here,
            {"tcp://10.0.0.7:4000": here, "tcp://10.0.0.8:4000": older, "tcp://10.0.0.9:4000": {}},
            "tcp://10.0.0.5:8786",
        )
    diagnostic = raised.value.diagnostic
    assert diagnostic.summary == (
        "The Dask workers of tcp://10.0.0.5:8786 run other versions than this machine"
    )
    assert diagnostic.detail.startswith(
        "worker tcp://10.0.0.8:4000 has zenctl 0.1.0, this machine 0.1.1; "
        "worker tcp://10.0.0.9:4000 has Python (no answer), this machine 3.11; "
    )
    assert "10.0.0.7" not in diagnostic.detail
    with pytest.raises(UserError) as raised:
        check_versions(here, {"tcp://10.0.0.8:4000": other_python}, "tcp://10.0.0.5:8786")
    assert "has Python 3.12, this machine 3.11. Install" in raised.value.diagnostic.detail


def test_step_resources_are_dask_worker_resources_and_unmet_ones_are_refused() -> None:
    from zenctl_dask.resources import dask_resources, unmet

    needed = dask_resources({"gpus": 1, "memory": 8 << 30, "cpus": 0})
    assert needed == {"GPU": 1, "memory": 8 << 30}
    gpu_box = {"GPU": 2, "memory": 64 << 30}
    assert unmet(needed, {"tcp://a:1": {}, "tcp://b:1": gpu_box}) is None
    why = unmet(needed, {"tcp://a:1": {}, "tcp://b:1": {"GPU": 2, "memory": 4 << 30}})
    assert why is not None
    assert why.startswith(
        "no worker of the Dask cluster has the resources it asks for (GPU=1 memory=8589934592)"
    )
    assert "tcp://a:1: none; tcp://b:1: GPU=2 memory=4294967296" in why
    assert '--resources "GPU=1 memory=8589934592"' in why


def test_a_worker_killed_after_retries_names_the_last_and_how_many_died() -> None:
    from types import SimpleNamespace

    from zenctl_dask.orchestrator import _killed

    killed = distributed.KilledWorker("k", SimpleNamespace(address="tcp://10.0.0.8:40125"), 3)
    assert _killed(killed) == (
        "its Dask worker tcp://10.0.0.8:40125 died while running it (killed, out of memory, or "
        "the step ended the process), as did 3 before it "
        "(distributed.scheduler.allowed-failures = 3); that worker's log says why"
    )


def test_a_local_cluster_leaves_the_logging_configuration_alone(project: Project) -> None:
    """zenctl called from a program that configured logging: after an apply on a local
    cluster, the root logger and Dask's loggers and handlers are as the program set them."""
    root_logger, dask_logger = logging.getLogger(), logging.getLogger("distributed")
    handler = logging.StreamHandler()
    root_logger.addHandler(handler)
    saved = root_logger.level
    root_logger.setLevel(logging.DEBUG)
    try:

        def configuration() -> tuple[object, ...]:
            handlers = [(h, h.level) for h in [*root_logger.handlers, *dask_logger.handlers]]
            return root_logger.level, dask_logger.level, handlers

        before = configuration()
        project.write("stack.zc.hcl", dask_stack("workers = 2"))
        applied = project.apply()
        assert applied.code == 0, applied.both
        assert configuration() == before
    finally:
        root_logger.removeHandler(handler)
        root_logger.setLevel(saved)


KEPT = """
import json, logging, sys

logging.basicConfig(level=logging.DEBUG)
logging.getLogger("tornado").setLevel(logging.INFO)
before = {
    name: [logging.getLogger(name).level, len(logging.getLogger(name).handlers)]
    for name in ("", "tornado", "distributed", "bokeh")
}
from zenctl.cli.app import run

code = run(["-C", sys.argv[1], "apply", "--auto-approve"])
after = {
    name: [logging.getLogger(name).level, len(logging.getLogger(name).handlers)]
    for name in before
}
imported = "distributed" in sys.modules
print(json.dumps({"code": code, "before": before, "after": after, "imported": imported}))
"""


def test_importing_dask_leaves_the_programs_logging_as_it_was(project: Project) -> None:
    """In a fresh interpreter that configured logging and has not imported Dask: importing
    `distributed` sets `tornado`, `bokeh` and `distributed` levels and adds a handler; after
    the apply every logger is as the program left it (Dask's as no one configured them)."""
    import subprocess

    project.write("stack.zc.hcl", dask_stack("workers = 1"))
    done = subprocess.run(
        [sys.executable, "-c", KEPT, str(project.root)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        timeout=300,
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["code"] == 0 and seen["imported"], done.stderr[-2000:]
    assert seen["after"] == seen["before"], seen
    assert seen["after"]["tornado"] == [logging.INFO, 0]


def test_a_scheduler_without_workers_is_refused_before_anything_runs(project: Project) -> None:
    with distributed.LocalCluster(
        n_workers=0, host="127.0.0.1", dashboard_address="127.0.0.1:0"
    ) as cluster:
        project.write("stack.zc.hcl", dask_stack(f'scheduler = "{cluster.scheduler_address}"'))
        applied = project.apply()
    assert applied.code == 1, applied.both
    assert f"No Dask worker is connected to {cluster.scheduler_address}" in applied.err
    assert "Running" not in applied.out
    assert project.sql("SELECT COUNT(*) FROM step_executions") == [(0,)]


RESOURCES = """
pipeline "p" {
  step "plain" {
    run = "steps.where:again"
  }
  step "placed" {
    run = "steps.where:where"
    resources {
      cpus = 1
    }
  }
}
"""


def test_step_resources_go_to_dask_and_are_refused_when_no_worker_has_them(
    tmp_path: Path,
) -> None:
    project = Project(tmp_path)
    project.write("steps/__init__.py", "")
    project.write("steps/where.py", WHERE)
    project.write("steps/helper.py", "def double(n):\n    return 2 * n\n")
    project.write("main.zc.hcl", RESOURCES)
    project.write("stack.zc.hcl", dask_stack("workers = 1"))
    refused = project.apply()
    assert refused.code == 1, refused.both
    assert "pipeline.p.step.plain: Done" in refused.out
    assert "pipeline.p.step.placed: Failed" in refused.out
    assert (
        "no worker of the Dask cluster has the resources it asks for (CPU=1); the workers "
        "declare: tcp://127.0.0.1:"
    ) in " ".join(refused.err.split())
    shown = project.run("logs", "placed")  # the log the failure points at says why
    assert shown.code == 0 and "did not run on the Dask cluster: no worker" in shown.out

    project.write("stack.zc.hcl", dask_stack("workers = 1\nworker_resources = { CPU = 2 }"))
    applied = project.apply()
    assert applied.code == 0, applied.both
    assert "pipeline.p.step.placed: Done" in applied.out
    logs = (project.root / ".zenctl/artifacts/logs").rglob("pipeline.p.step.placed.log")
    log = max(logs, key=lambda path: path.stat().st_mtime_ns)  # this run's, not the refused one
    assert "free: {'CPU': 1.0}" in log.read_text()  # the step holds one of the worker's two


def test_a_dask_steps_resources_are_the_workers_not_this_machines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """This machine knows no GPU and one CPU; the cluster's worker declares a GPU and eight
    CPUs: the step is planned and runs there (the local capacity would refuse it)."""
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    project = Project(tmp_path)
    project.write("steps/__init__.py", "")
    project.write("steps/where.py", WHERE)
    project.write("steps/helper.py", "def double(n):\n    return 2 * n\n")
    project.write("main.zc.hcl", RESOURCES.replace("cpus = 1", "gpus = 1\n      cpus = 8"))
    project.write(
        "stack.zc.hcl", dask_stack("workers = 1\nworker_resources = { GPU = 1, CPU = 8 }")
    )
    saved = str(tmp_path / "plan.json")
    planned = project.run("plan", "--out", saved, env={"ZENCTL_CPUS": "1"})
    assert planned.code == 0, planned.both
    assert "Resources:" not in planned.out  # nothing to run here asks for this machine's
    # a plan saved on a laptop applies in CI, whose GPUs and CPUs are others
    applied = project.run("apply", saved, env={"ZENCTL_CPUS": "4", "CUDA_VISIBLE_DEVICES": "0"})
    assert applied.code == 0, applied.both
    assert "pipeline.p.step.placed: Done" in applied.out
