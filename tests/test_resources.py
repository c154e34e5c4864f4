"""`resources { gpus, memory, cpus }` on a step: distinct GPUs from the parent's
CUDA_VISIBLE_DEVICES, steps that wait for what they ask, plan-time refusals, and workers
started without forking zenctl (docs/resources.md)."""

from __future__ import annotations

import json
import os
import subprocess
from itertools import combinations
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import CONSOLE, ZENCTL, Project
from test_step_isolation import TRAINING_STACK

SPECS = Path(__file__).resolve().parents[1] / "specs"

# Each step leaves a record of where and when it ran, named after its `name` param.
STEPS = """
import json, multiprocessing, os, sys, time
from pathlib import Path

HERE = Path(__file__).parent

def record(name, nap=0.4):
    start = time.time()
    time.sleep(nap)
    seen = {
        "gpus": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "start": start,
        "end": time.time(),
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "planner_imported": "zenctl.plan.planner" in sys.modules,
    }
    (HERE / f"{name}.json").write_text(json.dumps(seen))
    return 0
"""


def _steps(*resources: str, on: str = "") -> str:
    """A pipeline of independent steps s0, s1... each with the resources block given;
    `on = "training"` runs them on a stack's training "local", one process per step."""
    where = f'    on = "{on}"\n' if on else ""
    blocks = [
        f'  step "s{i}" {{\n    run    = "rsteps:record"\n    params = {{ name = "s{i}" }}\n'
        f"    resources {{\n      {block}\n    }}\n{where}  }}\n"
        for i, block in enumerate(resources)
    ]
    if not on:
        return 'pipeline "p" {\n' + "".join(blocks) + "}\n"
    return TRAINING_STACK + 'pipeline "p" {\n  stack = stack.s\n' + "".join(blocks) + "}\n"


@pytest.fixture
def gpu_project(project: Project) -> Project:
    project.write("rsteps.py", STEPS)
    return project


def _records(project: Project, count: int) -> list[dict[str, Any]]:
    return [json.loads((project.root / f"s{i}.json").read_text()) for i in range(count)]


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a["start"] < b["end"] and b["start"] < a["end"]


def test_concurrent_steps_get_distinct_devices_from_the_parents_list(
    gpu_project: Project,
) -> None:
    gpu_project.write("main.zc.hcl", _steps("gpus = 1", "gpus = 1"))
    env = {"CUDA_VISIBLE_DEVICES": "2,3"}
    applied = gpu_project.apply("--parallelism", "4", env=env)
    assert applied.code == 0, applied.both
    first, second = _records(gpu_project, 2)
    assert "pipeline.p.step.s0: Running on GPU " in applied.out  # as each starts...
    assert _overlap(first, second)  # they ran at once...
    assert sorted([first["gpus"], second["gpus"]]) == ["2", "3"]  # ...each on its own device
    # and each execution records the device it got
    shown = {gpu_project.run("show", f"pipeline.p.step.s{i}").out for i in range(2)}
    assert {line.split()[-1] for out in shown for line in out.splitlines() if "gpus" in line} == {
        "2",
        "3",
    }


def test_a_third_step_waits_for_a_device_to_be_free(gpu_project: Project) -> None:
    gpu_project.write("main.zc.hcl", _steps("gpus = 1", "gpus = 1", "gpus = 1"))
    applied = gpu_project.apply("--parallelism", "4", env={"CUDA_VISIBLE_DEVICES": "2,3"})
    assert applied.code == 0, applied.both
    records = sorted(_records(gpu_project, 3), key=lambda seen: seen["start"])
    assert records[2]["start"] >= min(records[0]["end"], records[1]["end"])
    for a, b in combinations(records, 2):  # never one device for two steps at once
        assert not (_overlap(a, b) and a["gpus"] == b["gpus"]), records
    assert {seen["gpus"] for seen in records} <= {"2", "3"}


def test_a_training_step_gets_its_device_in_its_own_process(gpu_project: Project) -> None:
    """The training component's own `gpus` setting gives way to the step's resources."""
    gpu_project.write("main.zc.hcl", _steps("gpus = 1", "gpus = 1", on="training"))
    applied = gpu_project.apply("--parallelism", "4", env={"CUDA_VISIBLE_DEVICES": "6,7"})
    assert applied.code == 0, applied.both
    first, second = _records(gpu_project, 2)
    assert sorted([first["gpus"], second["gpus"]]) == ["6", "7"]


def test_a_worker_that_ran_on_a_gpu_runs_nothing_else(gpu_project: Project) -> None:
    """CUDA reads CUDA_VISIBLE_DEVICES once: a reused worker would keep the first device."""
    gpu_project.write("main.zc.hcl", _steps("gpus = 1", "gpus = 1"))
    applied = gpu_project.apply("--parallelism", "1", env={"CUDA_VISIBLE_DEVICES": "0,1"})
    assert applied.code == 0, applied.both
    first, second = _records(gpu_project, 2)
    assert first["pid"] != second["pid"]


def test_gpus_0_hides_every_device(gpu_project: Project) -> None:
    gpu_project.write("main.zc.hcl", _steps("gpus = 0"))
    applied = gpu_project.apply(env={"CUDA_VISIBLE_DEVICES": "0,1"})
    assert applied.code == 0, applied.both
    assert _records(gpu_project, 1)[0]["gpus"] == ""


def test_more_gpus_than_the_pool_is_refused_at_plan(gpu_project: Project) -> None:
    gpu_project.write("main.zc.hcl", _steps("gpus = 3"))
    planned = gpu_project.run("plan", env={"CUDA_VISIBLE_DEVICES": "2,3"})
    assert planned.code == 1, planned.both
    assert "Step cannot fit on this machine" in planned.err
    assert "asks for 3 GPU(s), but CUDA_VISIBLE_DEVICES=2,3 names 2" in planned.err
    assert "main.zc.hcl line 2" in planned.err  # at the step


def test_gpus_without_cuda_visible_devices_is_refused_at_plan(
    gpu_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    gpu_project.write("main.zc.hcl", _steps("gpus = 1"))
    planned = gpu_project.run("plan")
    assert planned.code == 1, planned.both
    assert "CUDA_VISIBLE_DEVICES is unset" in planned.err
    assert "Traceback" not in planned.both


@pytest.mark.parametrize(
    ("asked", "env", "said"),
    [
        ('memory = "4TiB"', {}, "but this machine has "),
        ('memory = "4TiB"', {"ZENCTL_MEMORY": "8GiB"}, "but ZENCTL_MEMORY=8GiB gives steps 8GiB"),
        ("cpus = 5000", {}, "(set ZENCTL_CPUS if steps may use more)"),
        ("cpus = 3", {"ZENCTL_CPUS": "2"}, "asks for 3 CPUs, but ZENCTL_CPUS=2 gives steps 2 CPUs"),
    ],
)
def test_a_step_bigger_than_the_machine_says_where_the_limit_comes_from(
    gpu_project: Project,
    monkeypatch: pytest.MonkeyPatch,
    asked: str,
    env: dict[str, str],
    said: str,
) -> None:
    monkeypatch.delenv("ZENCTL_MEMORY", raising=False)
    monkeypatch.delenv("ZENCTL_CPUS", raising=False)
    gpu_project.write("main.zc.hcl", _steps(asked))
    planned = gpu_project.run("plan", env=env)
    assert planned.code == 1, planned.both
    assert "Step cannot fit on this machine" in planned.err
    assert said in " ".join(planned.err.split()), planned.err
    assert "could never start" in planned.err


@pytest.mark.parametrize(
    ("kind", "asked", "declared"),
    [("memory", '"6GiB"', {"ZENCTL_MEMORY": "10GiB"}), ("cpus", "3", {"ZENCTL_CPUS": "4"})],
)
def test_steps_that_together_ask_too_much_never_overlap(
    gpu_project: Project, kind: str, asked: str, declared: dict[str, str]
) -> None:
    gpu_project.write("main.zc.hcl", _steps(f"{kind} = {asked}", f"{kind} = {asked}"))
    applied = gpu_project.apply("--parallelism", "4", env=declared)
    assert applied.code == 0, applied.both
    first, second = _records(gpu_project, 2)
    assert not _overlap(first, second), (first, second)


def test_steps_that_fit_together_run_at_once(gpu_project: Project) -> None:
    gpu_project.write("main.zc.hcl", _steps('memory = "4GiB"', 'memory = "4GiB"'))
    applied = gpu_project.apply("--parallelism", "4", env={"ZENCTL_MEMORY": "10GiB"})
    assert applied.code == 0, applied.both
    assert _overlap(*_records(gpu_project, 2))


def test_plan_shows_what_each_step_asks_and_the_pool(gpu_project: Project) -> None:
    gpu_project.write("main.zc.hcl", _steps('gpus = 1\n      memory = "8GiB"'))
    env = {"CUDA_VISIBLE_DEVICES": "2,3", "ZENCTL_MEMORY": "16GiB", "ZENCTL_CPUS": "8"}
    planned = gpu_project.run("plan", env=env)
    assert planned.code == 0, planned.both
    assert "      = resources: gpus=1 memory=8GiB" in planned.out
    assert "gpus from CUDA_VISIBLE_DEVICES=2,3, memory 16GiB, 8 cpus" in planned.out
    document = json.loads(gpu_project.run("plan", "--json", env=env).out)
    jsonschema.validate(document, json.loads((SPECS / "plan.schema.json").read_text()))
    assert document["steps"][0]["resources"] == {"gpus": 1, "memory": 8 * 1024**3}
    assert document["capacity"] == {"gpus": ["2", "3"], "memory": 16 * 1024**3, "cpus": 8.0}


def test_resources_are_not_in_the_cache_key(gpu_project: Project) -> None:
    gpu_project.write("main.zc.hcl", _steps("cpus = 1"))
    assert gpu_project.apply(env={"ZENCTL_CPUS": "4"}).code == 0
    gpu_project.write("main.zc.hcl", _steps('cpus = 2\n      memory = "1GiB"'))
    planned = gpu_project.run("plan", env={"ZENCTL_CPUS": "4"})
    assert "No changes. 1 steps cached." in planned.out, planned.out


def test_resources_from_a_variable_are_checked_at_plan(gpu_project: Project) -> None:
    gpu_project.write(
        "main.zc.hcl", 'variable "gpus" {\n  default = 1\n}\n' + _steps("gpus = var.gpus")
    )
    env = {"CUDA_VISIBLE_DEVICES": "4"}
    assert "resources: gpus=1" in gpu_project.run("plan", env=env).out
    planned = gpu_project.run("plan", "--var", "gpus=-1", env=env)
    assert planned.code == 1, planned.both
    assert "gpus is a whole number of GPUs, 0 or more (gpus = 1), not -1." in planned.err
    assert "main.zc.hcl line 9" in planned.err  # at var.gpus, in the resources block


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("gpus = -1", "gpus is a whole number of GPUs, 0 or more (gpus = 1), not -1."),
        ("gpus = 1.5", "not 1.5"),
        ('gpus = "1"', 'not "1"'),
        ('memory = "8"', 'memory "8" is not a size. Write a size with its unit'),
        ("memory = 8", "memory is a size with its unit, not 8."),
        ("cpus = 0", "cpus is a number of CPU cores above 0 (cpus = 4, or 0.5), not 0."),
        ("disk = 1", 'An argument named "disk" is not expected here.'),
    ],
)
def test_bad_resources_are_errors_at_their_line(
    gpu_project: Project, written: str, said: str
) -> None:
    gpu_project.write("main.zc.hcl", _steps(written))
    validated = gpu_project.run("validate")
    assert validated.code == 1, validated.both
    assert said in validated.err
    assert "main.zc.hcl line 6" in validated.err  # the argument's own line
    assert "Traceback" not in validated.both


def test_workers_are_not_forks_of_zenctl(gpu_project: Project) -> None:
    """A fork would copy zenctl's threads' locks mid-use and a CUDA context: workers start
    from the fork server, which never imported what zenctl imports to plan."""
    gpu_project.write("main.zc.hcl", _steps("cpus = 1"))
    assert gpu_project.apply().code == 0
    seen = _records(gpu_project, 1)[0]
    assert seen["ppid"] != os.getpid()  # zenctl (this process) is not its parent
    assert not seen["planner_imported"]


def test_workers_import_zenctl_from_where_zenctl_did(gpu_project: Project, tmp_path: Path) -> None:
    """Run from a folder holding another `zenctl` package (a checkout), the fork server must
    not import that one: the workers would run other code than zenctl's."""
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "zenctl").mkdir(parents=True)
    (elsewhere / "zenctl" / "__init__.py").write_text("raise SystemExit('the wrong zenctl')\n")
    gpu_project.write("main.zc.hcl", _steps("cpus = 1"))
    applied = subprocess.run(
        [ZENCTL, "-C", str(gpu_project.root), "apply", "--auto-approve"],
        cwd=elsewhere,
        env={**os.environ, **CONSOLE},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert (gpu_project.root / "s0.json").exists()  # the step ran


def test_one_resources_block_and_no_other_block_in_a_step(gpu_project: Project) -> None:
    gpu_project.write(
        "main.zc.hcl",
        'pipeline "p" {\n  step "s0" {\n    run = "rsteps:record"\n'
        "    resources {\n      gpus = 1\n    }\n    resources {\n      cpus = 1\n    }\n"
        "    limits {\n    }\n  }\n}\n",
    )
    validated = gpu_project.run("validate")
    assert validated.code == 1, validated.both
    assert 'Step "s0" may have one resources block: merge them.' in validated.err
    assert "on main.zc.hcl line 7" in validated.err
    assert 'Blocks of type "limits" are not expected here. Expected resources.' in validated.err


def test_a_saved_plan_applies_only_where_the_same_resources_are(gpu_project: Project) -> None:
    gpu_project.write("main.zc.hcl", _steps("gpus = 1"))
    saved = str(gpu_project.root / "plan.json")
    planned = gpu_project.run("plan", "--out", saved, env={"CUDA_VISIBLE_DEVICES": "2,3"})
    assert planned.code == 0, planned.both
    applied = gpu_project.run("apply", saved, env={"CUDA_VISIBLE_DEVICES": "4,5"})
    assert applied.code == 1, applied.both
    assert "Saved plan is stale" in applied.err
    assert "this machine offers other resources (CUDA_VISIBLE_DEVICES" in applied.err
    applied = gpu_project.run("apply", saved, env={"CUDA_VISIBLE_DEVICES": "2,3"})
    assert applied.code == 0, applied.both


@pytest.mark.parametrize(
    ("text", "size", "shown"),
    [
        ("8GiB", 8 * 1024**3, "8GiB"),
        ("1.5GiB", 3 * 512 * 1024**2, "1.5GiB"),
        ("512MiB", 512 * 1024**2, "512MiB"),
        ("2GB", 2 * 1000**3, "1.863GiB"),
        ("100B", 100, "100B"),
    ],
)
def test_sizes_read_and_shown_as_written(text: str, size: int, shown: str) -> None:
    from zenctl.sizes import format_size, parse_size

    assert parse_size(text, "memory") == size
    assert format_size(size) == shown


@pytest.mark.parametrize("text", ["8", "8 GiBs", "GiB", "-1GiB", "8gib", ""])
def test_a_size_without_its_unit_is_refused(text: str) -> None:
    from zenctl.diagnostics import UserError
    from zenctl.sizes import parse_size

    with pytest.raises(UserError, match="Invalid memory") as refused:
        parse_size(text, "memory")
    assert "Write a size with its unit" in refused.value.diagnostic.detail


CHAINED = """
import json, os
from pathlib import Path


def seen(name, after=0):
    seen = {"gpus": os.environ.get("CUDA_VISIBLE_DEVICES"), "pid": os.getpid()}
    (Path(__file__).parent / f"{name}.json").write_text(json.dumps(seen))
    return 0
"""


@pytest.mark.parametrize("gpus", ["1", "0"])
def test_a_step_with_its_own_devices_never_runs_in_a_worker_that_ran_another(
    project: Project, gpus: str
) -> None:
    """The earlier step may have initialised CUDA with the parent's devices: the GPU step
    would still see them (and `gpus = 0` would not hide them)."""
    project.write("chained.py", CHAINED)
    project.write(
        "main.zc.hcl",
        'pipeline "p" {\n'
        '  step "s0" {\n    run    = "chained:seen"\n    params = { name = "s0" }\n  }\n'
        '  step "s1" {\n    run    = "chained:seen"\n    params = { name = "s1" }\n'
        "    inputs = { after = step.s0.outputs.output }\n"
        f"    resources {{\n      gpus = {gpus}\n    }}\n  }}\n}}\n",
    )
    applied = project.apply("--parallelism", "1", env={"CUDA_VISIBLE_DEVICES": "4,5"})
    assert applied.code == 0, applied.both
    first, second = _records(project, 2)
    assert first["gpus"] == "4,5" and second["gpus"] == ("4" if gpus == "1" else "")
    assert first["pid"] != second["pid"]


@pytest.mark.parametrize(
    ("visible", "planned"),
    [
        ("0,0", "It names device 0 more than once"),
        ("1,2,1", "It names device 1 more than once"),
        ("-1", "asks for 1 GPU(s), but CUDA_VISIBLE_DEVICES=-1 names no device"),
        ("3,-1,4", "Running on GPU 3"),  # CUDA stops at the first invalid id
    ],
)
def test_cuda_visible_devices_is_read_as_cuda_reads_it(
    gpu_project: Project, visible: str, planned: str
) -> None:
    gpu_project.write("main.zc.hcl", _steps("gpus = 1"))
    applied = gpu_project.apply(env={"CUDA_VISIBLE_DEVICES": visible})
    assert planned in " ".join(applied.both.split()), applied.both
    assert applied.code == (0 if "Running" in planned else 1), applied.both
    assert "Traceback" not in applied.both
