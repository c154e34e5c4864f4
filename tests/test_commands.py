"""The other commands: init, validate, graph, runs, show, version, help, single-dash flags."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from conftest import ZENCTL, Project

ZENCTL_ROOT = Path(__file__).parent.parent


def test_init_creates_a_runnable_starter_project(tmp_path) -> None:  # type: ignore[no-untyped-def]
    project = Project(tmp_path)
    result = project.run("init")
    assert result.code == 0, result.both
    assert (tmp_path / "main.zc.hcl").exists()
    assert (tmp_path / ".zenctl/metadata.db").exists()
    applied = project.apply()
    assert "Apply complete! 2 ran" in applied.out
    assert project.run("init").code == 0  # idempotent: keeps the existing files
    assert "No changes. 2 steps cached." in project.run("plan").out


def test_init_creates_the_project_folder_it_is_pointed_at(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """As its help's example says: `zenctl init --chdir my-project`."""
    folder = tmp_path / "my-project"
    project = Project(folder)  # runs with -C FOLDER, which does not exist yet
    result = project.run("init")
    assert result.code == 0, result.both
    assert f"Created the folder {folder}" in result.out
    assert (folder / "main.zc.hcl").exists() and (folder / ".zenctl/metadata.db").exists()
    assert project.run("plan").code == 0
    missing = Project(tmp_path / "elsewhere").run("plan")  # only init creates it
    assert missing.code == 1 and "Project folder not found" in missing.err


def test_validate_succeeds_on_a_valid_project_and_touches_no_state(project: Project) -> None:
    result = project.run("validate")
    assert result.code == 0
    assert "The configuration is valid." in result.out
    assert not (project.root / ".zenctl/metadata.db").exists()


def test_plan_before_any_apply_creates_no_state(project: Project) -> None:
    assert project.run("plan").code == 0
    assert not (project.root / ".zenctl/metadata.db").exists()


def test_graph_in_three_formats(project: Project) -> None:
    text = project.run("graph").out
    assert "  step.evaluate  <- step.train, step.prep\n" in text
    assert "  step.prep      <- source.raw\n" in text  # aligned
    mermaid = project.run("graph", "--format", "mermaid").out
    assert mermaid.startswith("flowchart TD")
    assert "demo_train -->|output| demo_evaluate" in mermaid
    dot = project.run("graph", "-format", "dot").out
    assert '"demo.step.prep" -> "demo.step.features";' in dot
    bad = project.run("graph", "--format", "png")
    assert bad.code == 1 and "Choose one of text, mermaid, dot" in bad.err
    import json

    import jsonschema

    document = json.loads(project.run("graph", "-json").out)
    schema = json.loads((ZENCTL_ROOT / "specs/graph.schema.json").read_text())
    jsonschema.validate(document, schema)
    (demo,) = document["pipelines"]
    steps = {step["address"].rsplit(".", 1)[1]: step for step in demo["steps"]}
    assert steps["evaluate"]["upstream"] == ["pipeline.demo.step.train", "pipeline.demo.step.prep"]
    assert steps["prep"]["inputs"] == {"raw": "source.raw"}
    order = [step["address"] for step in demo["steps"]]
    assert order.index("pipeline.demo.step.train") < order.index("pipeline.demo.step.evaluate")


@pytest.mark.all_stores
def test_runs_and_show_give_lineage(project: Project) -> None:
    subprocess.run(["git", "init", "-q", str(project.root)], check=True)
    subprocess.run(
        [
            "git",
            "-C",
            str(project.root),
            "-c",
            "user.email=a@b",
            "-c",
            "user.name=t",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "init",
        ],
        check=True,
    )
    sha = subprocess.run(
        ["git", "-C", str(project.root), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    project.apply()
    runs = project.run("runs")
    assert "succeeded" in runs.out and sha[:12] in runs.out

    step = project.run("show", "pipeline.demo.step.features")
    assert step.code == 0, step.both
    assert f"commit       {sha[:12]} (uncommitted changes)" in step.out
    assert "factor = 2" in step.out
    assert "steps/helpers.py" in step.out
    assert "numbers <- step.prep.outputs.output" in step.out

    run_id = re.search(r"^(\w{8}) ", runs.out, re.M)
    assert run_id, runs.out
    run = project.run("show", run_id.group(1))
    assert "succeeded    pipeline.demo.step.report" in run.out

    artifact = re.search(r"^    output\s+([0-9a-f]{10})", step.out, re.M)
    assert artifact, step.out
    shown = project.run("show", artifact.group(1))
    assert "produced by   pipeline.demo.step.features" in shown.out
    assert "consumed by   pipeline.demo.step.train" in shown.out

    missing = project.run("show", "pipeline.demo.step.nope")
    assert missing.code == 1 and "No executions recorded" in missing.err
    misspelt = project.run("show", "pipeline.demo.step.trian")
    assert 'Did you mean "pipeline.demo.step.train"?' in " ".join(misspelt.err.split())


def test_version_lists_the_local_provider() -> None:
    out = subprocess.run([ZENCTL, "version"], capture_output=True, text=True).stdout
    assert out.startswith("zenctl 0.1.0")
    assert 'provider local 0.1.0: orchestrator "local", artifact_store "local"' in out


def test_every_command_has_help_with_an_example() -> None:
    for command in ("init", "validate", "plan", "apply", "runs", "show", "logs", "graph", "report"):
        out = subprocess.run([ZENCTL, command, "-help"], capture_output=True, text=True).stdout
        assert "Example: `zenctl" in out, command


def test_usage_errors_are_clear_and_exit_non_zero(project: Project) -> None:
    """Whichever typer parses (its click, or click itself): exit 2, the usage and the error
    in its words, never a crash. The wording differs between typer versions; what is wrong
    is named in both."""
    for args, wrong in (
        (("plan", "--no-such-flag"), ["No such option", "--no-such-flag"]),
        (("no-such-command",), ["No such command", "no-such-command"]),
        (("show",), ["Missing argument", "TARGET"]),
        (("apply", "--parallelism", "0"), ["Invalid value", "--parallelism"]),
    ):
        result = project.run(*args)
        assert result.code == 2, result.both
        assert result.err.startswith("Usage: zenctl"), result.err
        assert all(words.lower() in result.err.lower() for words in wrong), result.err
        assert "Traceback" not in result.both and "crashed" not in result.both
