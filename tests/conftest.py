"""Test helpers: a project in a temporary folder, driven through the real `zenctl` command."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ZENCTL = str(Path(sys.executable).parent / "zenctl")


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def both(self) -> str:
        return self.out + self.err


class Project:
    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
        return path

    def run(
        self, *args: str, env: dict[str, str] | None = None, stdin: str | None = None
    ) -> Result:
        environment = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
        done = subprocess.run(
            [ZENCTL, "-C", str(self.root), *args],
            capture_output=True,
            text=True,
            env=environment,
            input=stdin,
            timeout=120,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def start_apply(self) -> subprocess.Popen[str]:
        """An apply in the background, in its own session, for a test to interrupt."""
        return subprocess.Popen(
            [ZENCTL, "-C", str(self.root), "apply", "--auto-approve"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "NO_COLOR": "1"},
            start_new_session=True,
        )

    def apply(self, *args: str) -> Result:
        result = self.run("apply", "--auto-approve", *args)
        assert "Traceback" not in result.both, result.both
        return result


PIPELINE_STEPS = '''
"""Steps of the test pipeline: small, fast, deterministic."""

from pathlib import Path

from steps.helpers import scale_all


def prep(raw: Path, verbose: bool = False) -> list[int]:
    numbers = [int(line) for line in raw.read_text().split()]
    if verbose:
        print("read", len(numbers), "numbers")
    return numbers


def features(numbers: list[int], factor: int) -> list[int]:
    return scale_all(numbers, factor)


def train(features: list[int], bias: float) -> dict:
    return {"weights": [x + bias for x in features]}


def evaluate(model: dict, numbers: list[int]) -> dict:
    return {"score": sum(model["weights"]) / max(1, len(numbers))}


def report(numbers: list[int]) -> str:
    print("reporting on", len(numbers), "numbers")
    return f"{len(numbers)} numbers, max {max(numbers)}"


def boom(numbers: list[int]) -> int:
    raise ValueError("the model diverged")
'''

HELPERS = """
def scale_all(numbers, factor):
    return [n * factor for n in numbers]
"""

MAIN = """
variable "factor" {
  type    = number
  default = 2
}

pipeline "demo" {
  source "raw" {
    path = "data/raw.txt"
  }

  step "prep" {
    run    = "steps.pipeline:prep"
    inputs = { raw = source.raw }
    params = { verbose = false }
  }

  step "features" {
    run    = "steps.pipeline:features"
    inputs = { numbers = step.prep.outputs.output }
    params = { factor = var.factor }
  }

  step "train" {
    run    = "steps.pipeline:train"
    inputs = { features = step.features.outputs.output }
    params = { bias = 0.5 }
  }

  step "evaluate" {
    run    = "steps.pipeline:evaluate"
    inputs = { model = step.train.outputs.output, numbers = step.prep.outputs.output }
  }

  step "report" {
    run    = "steps.pipeline:report"
    inputs = { numbers = step.prep.outputs.output }
  }
}
"""


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A five-step pipeline with a source, a helper module and an independent branch."""
    p = Project(tmp_path)
    p.write("steps/__init__.py", "")
    p.write("steps/pipeline.py", PIPELINE_STEPS)
    p.write("steps/helpers.py", HELPERS)
    p.write("data/raw.txt", "1 2 3 4 5\n")
    p.write("main.zc.hcl", MAIN)
    return p
