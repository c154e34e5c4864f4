"""A missing or damaged artifact is never used: plan re-runs its producer, apply refuses it."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from conftest import Project
from test_plan_apply import step_lines

# Artifact checks; the state queries they use are test_plan_apply's.

PREP = "pipeline.demo.step.prep"


def _object(project: Project, step: str) -> Path:
    """The stored object of a step's latest recorded output."""
    ((outputs,),) = project.sql(
        "SELECT outputs FROM step_executions WHERE address = :address AND status = 'succeeded' "
        "ORDER BY serial DESC LIMIT 1",
        address=f"pipeline.demo.step.{step}",
    )
    digest = json.loads(outputs)["output"]["hash"]
    return project.root / ".zenctl/artifacts/objects" / digest[:2] / digest


def _age(path: Path) -> None:
    """Make a file look written an hour ago, so the verified-at cache trusts its stat."""
    then = path.stat().st_mtime_ns - 3600 * 10**9
    os.utime(path, ns=(then, then))


def _assert_private(project: Project) -> None:
    zenctl = project.root / ".zenctl"
    folders = [zenctl, zenctl / "artifacts", zenctl / "artifacts/objects", zenctl / "cache"]
    for folder in folders:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    files = [zenctl / "metadata.db", *(zenctl / "artifacts/objects").rglob("*")]
    files += (zenctl / "artifacts/logs").rglob("*.log")
    for file in files:
        if file.is_file():
            assert stat.S_IMODE(file.stat().st_mode) & 0o077 == 0, file


def test_missing_artifact_reruns_its_producer_and_dependents_follow(project: Project) -> None:
    project.apply()
    _assert_private(project)  # the store, objects and logs are the owner's only
    _object(project, "prep").unlink()
    plan = project.run("plan")
    lines = step_lines(plan.out)
    assert lines["prep"].startswith("~ run: artifact missing (output output "), plan.out
    for dependent in ("features", "train", "evaluate", "report"):
        assert lines[dependent].startswith("~ run: upstream changes"), plan.out
    reasons = {
        s["address"]: s["reasons"] for s in json.loads(project.run("plan", "--json").out)["steps"]
    }
    assert reasons[PREP][0]["kind"] == "artifact missing"

    applied = project.apply()
    assert applied.code == 0, applied.both
    # prep reproduces the same bytes, so everything downstream is reused, not re-run
    assert "1 ran, 4 cached" in applied.out
    assert "No changes. 5 steps cached." in project.run("plan").out


def test_reuse_decided_at_apply_checks_the_artifacts_too(project: Project) -> None:
    project.apply()
    _object(project, "features").unlink()
    _object(project, "prep").unlink()
    applied = project.apply()
    assert applied.code == 0, applied.both
    # features' earlier execution matches once prep re-ran, but its output is gone: it runs
    assert "2 ran, 3 cached" in applied.out
    assert "No changes. 5 steps cached." in project.run("plan").out


def test_changed_artifact_is_reported_corrupt_and_replaced(project: Project) -> None:
    project.apply()
    target = _object(project, "prep")
    target.write_bytes(b"[9,9,9,9,9]")  # same size, other bytes
    plan = project.run("plan", "--json")
    document = json.loads(plan.out)
    prep = next(s for s in document["steps"] if s["address"] == PREP)
    assert prep["action"] == "run"
    assert [r["kind"] for r in prep["reasons"]] == ["artifact corrupt"]
    assert project.apply().code == 0
    assert "No changes. 5 steps cached." in project.run("plan").out
    assert target.read_bytes() == b"[1,2,3,4,5]"


def test_silent_corruption_is_caught_on_read_and_quarantined(project: Project) -> None:
    """Bit rot keeps size and mtime: the plan trusts its verified stat, the read does not."""
    project.apply()
    target = _object(project, "prep")
    _age(target)
    assert "No changes." in project.run("plan").out  # verified now, stat recorded as trusted
    before = target.stat()
    with target.open("r+b") as handle:
        handle.write(b"[7")
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert "No changes." in project.run("plan").out

    applied = project.apply("--var", "factor=5")  # features runs and reads prep's output
    assert applied.code == 1
    assert "is corrupt (its bytes no longer match their hash)" in applied.both
    assert not target.exists()
    plan = project.run("plan", "--var", "factor=5")
    assert step_lines(plan.out)["prep"].startswith("~ run: artifact corrupt"), plan.out
    assert project.apply("--var", "factor=5").code == 0
    assert target.read_bytes() == b"[1,2,3,4,5]"


def test_two_sources_with_the_same_bytes_both_reach_their_steps(project: Project) -> None:
    """Snapshots are filed by content hash; a second name for the same bytes must not fail the
    step that reads it (found by tests/test_model.py)."""
    project.write("data/copy.txt", (project.root / "data/raw.txt").read_text())
    main = (project.root / "main.zc.hcl").read_text()
    project.write(
        "main.zc.hcl",
        main.replace(
            '  step "prep" {',
            '  source "copy" {\n    path = "data/copy.txt"\n  }\n\n'
            '  step "prep_copy" {\n    run    = "steps.pipeline:prep"\n'
            "    inputs = { raw = source.copy }\n  }\n\n"
            '  step "prep" {',
        ),
    )
    applied = project.apply("--parallelism", "1")
    assert applied.code == 0, applied.both
    assert "Apply complete! 6 ran" in applied.out
