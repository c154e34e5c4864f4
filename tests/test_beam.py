"""processing "beam": a step's PTransform runs over its inputs; examples/beam end to end."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import Project

pytest.importorskip("apache_beam")

EXAMPLE = Path(__file__).parent.parent / "examples" / "beam"

STEPS = """
def numbers(count: int) -> list:
    return list(range(count))


def total(squares: list) -> int:
    return sum(squares)
"""

BEAM_STEPS = """
import apache_beam as beam


def square(offset: int) -> beam.PTransform:
    return beam.Map(lambda n: n * n + offset)


def not_a_transform(offset: int) -> int:
    return offset
"""

MAIN = """
stack "local" {{
  orchestrator   "local"  {{}}
  artifact_store "local"  {{}}
  metadata_store "sqlite" {{}}
  processing     "beam"   {{ runner = "{runner}" }}
}}

pipeline "p" {{
  step "numbers" {{
    run    = "steps:numbers"
    params = {{ count = 40 }}
  }}
  step "square" {{
    run    = "beamsteps:{transform}"
    inputs = {{ numbers = step.numbers.outputs.output }}
    params = {{ offset = 1 }}
    on     = "processing"
  }}
  step "total" {{
    run    = "steps:total"
    inputs = {{ squares = step.square.outputs.output }}
  }}
}}
"""


def _beam_project(tmp_path: Path, runner: str, transform: str = "square") -> Project:
    project = Project(tmp_path)
    project.write("steps.py", STEPS)
    project.write("beamsteps.py", BEAM_STEPS)
    project.write("main.zc.hcl", MAIN.format(runner=runner, transform=transform))
    return project


def _artifact(show: str, name: str = "output") -> object:
    found = re.search(rf"^    {name}\s+\S+\s+json\s+\d+ bytes\s+file://(\S+)", show, re.M)
    assert found, show
    return json.loads(Path(found.group(1)).read_text())


def test_a_beam_step_transforms_its_input_and_its_output_is_content_addressed(
    tmp_path: Path,
) -> None:
    project = _beam_project(tmp_path, "BundleBasedDirectRunner")
    applied = project.apply()
    assert applied.code == 0, applied.both
    shown = project.run("show", "pipeline.p.step.square").out
    assert "beam runner  BundleBasedDirectRunner" in shown
    squares = _artifact(shown)
    assert isinstance(squares, list)
    assert sorted(squares) == [n * n + 1 for n in range(40)]
    assert squares == sorted(squares, key=lambda n: str(n))  # canonical: by serialised bytes
    assert _artifact(project.run("show", "pipeline.p.step.total").out) == sum(
        n * n + 1 for n in range(40)
    )

    # New code re-runs the Beam step, on another runner, with its elements in another order:
    # the same elements give the same bytes, so `total` is reused.
    project.write("main.zc.hcl", MAIN.format(runner="FnApiRunner", transform="square"))
    project.write("beamsteps.py", BEAM_STEPS.replace("n * n + offset", "n**2 + offset"))
    applied = project.apply()
    assert applied.code == 0, applied.both
    assert "pipeline.p.step.total: Cached (inputs unchanged after upstream re-run)" in applied.out


def test_a_beam_step_that_returns_no_transform_fails_clearly(tmp_path: Path) -> None:
    applied = _beam_project(tmp_path, "FnApiRunner", "not_a_transform").apply()
    assert applied.code == 1
    assert "beamsteps:not_a_transform runs on a Beam processing component and must return a" in (
        applied.both
    )


def test_the_prism_downloading_direct_runner_is_refused(tmp_path: Path) -> None:
    applied = _beam_project(tmp_path, "DirectRunner").apply()
    assert applied.code == 1
    assert 'Inappropriate value for "runner": processing "beam" cannot use runner "Direct' in (
        applied.err
    )
    assert "FnApiRunner" in applied.both


def test_beam_example_trains_on_beam_features_and_plans_its_gcp_stack(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "beam", ignore=shutil.ignore_patterns(".zenctl"))
    project = Project(tmp_path / "beam")
    applied = project.apply()
    assert applied.code == 0, applied.both
    assert "Apply complete! 3 ran, 0 cached" in applied.out

    preprocess = project.run("show", "pipeline.houses.step.preprocess").out
    train, test = _artifact(preprocess, "train"), _artifact(preprocess, "test")
    assert isinstance(train, list) and isinstance(test, list)
    assert len(train) + len(test) == 400 and 60 < len(test) < 140  # about 25% held out
    assert not {row["id"] for row in train} & {row["id"] for row in test}
    means = [sum(row["x"][i] for row in train + test) / 400 for i in range(4)]
    assert all(abs(mean) < 1e-3 for mean in means)  # standardised features
    metrics = _artifact(project.run("show", "pipeline.houses.step.evaluate").out)
    assert isinstance(metrics, dict) and metrics["accuracy"] > 0.8
    assert "No changes. 3 steps cached." in project.run("plan").out

    # The same pipeline on the GCP stack: valid, and planned without contacting anything.
    main = project.root / "main.zc.hcl"
    main.write_text(main.read_text().replace("stack = stack.local", "stack = stack.gcp"))
    assert project.run("validate").code == 0
    plan = project.run("plan", "--var", "bucket=example-bucket")
    assert plan.code == 0, plan.both
    assert "Plan: 3 to run, 0 cached, 0 to remove." in plan.out
