"""Caches that must never make a plan say "cached" wrongly: the stat caches, the parsed-config
cache, the code hash's normal form, numbers as written, and artifacts' bytes."""

from __future__ import annotations

import os
import time
from pathlib import Path

from conftest import Project
from test_plan_apply import step_lines


def _age(root: Path) -> None:
    """Date every file a minute back, so the stat caches trust what they record at once."""
    then = time.time_ns() - 60_000_000_000
    for path in root.rglob("*"):
        if path.is_file() and ".zenctl" not in path.parts:
            os.utime(path, ns=(then, then))


def test_a_file_both_source_and_code_keeps_its_imports(project: Project) -> None:
    for name in ("steps/pipeline.py", "steps/helpers.py", "data/raw.txt"):
        (project.root / name).unlink()
    project.write("steps/util.py", "def twice(x):\n    return 2 * x\n")
    project.write(
        "steps/helper.py", "from steps.util import twice\n\ndef double(x):\n    return twice(x)\n"
    )
    project.write(
        "steps/step.py",
        "from pathlib import Path\n\nfrom steps.helper import double\n\n\n"
        "def run(script: Path) -> int:\n    return double(len(script.read_text()))\n",
    )
    project.write(
        "main.zc.hcl",
        """
        pipeline "demo" {
          source "script" {
            path = "steps/helper.py"
          }
          step "use" {
            run    = "steps.step:run"
            inputs = { script = source.script }
          }
        }
        """,
    )
    _age(project.root)
    assert project.apply().code == 0
    assert "No changes. 1 steps cached." in project.run("plan").out

    project.write("steps/util.py", "def twice(x):\n    return 3 * x\n")
    plan = project.run("plan")
    assert step_lines(plan.out)["use"].startswith("~ run: changed"), plan.out
    assert "~ code: steps/util.py" in plan.out
