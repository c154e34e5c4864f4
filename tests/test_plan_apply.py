"""The core promise, through the CLI: plan says what runs and why, apply runs only that."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from conftest import MAIN, Project

ADDR = "pipeline.demo.step."


def step_lines(output: str) -> dict[str, str]:
    """`{step name: its plan line}` from a rendered plan."""
    lines = {}
    for line in output.splitlines():
        match = re.match(rf"\s+([=+~-]) {re.escape(ADDR)}(\w+)\s+(.*)", line)
        if match:
            lines[match.group(2)] = f"{match.group(1)} {match.group(3)}"
    return lines


def test_first_apply_runs_everything_then_all_cached(project: Project) -> None:
    plan = project.run("plan")
    assert plan.code == 0, plan.both
    assert "Plan: 5 to run, 0 cached, 0 to remove." in plan.out
    assert all(line.startswith("+ run: new") for line in step_lines(plan.out).values())

    applied = project.apply()
    assert applied.code == 0, applied.both
    assert "Apply complete! 5 ran, 0 cached, 0 removed." in applied.out

    again = project.run("plan")
    assert again.code == 0
    assert "No changes. 5 steps cached." in again.out
    assert set(step_lines(again.out).values()) == {"= cached"}


def test_param_change_runs_that_step_and_downstream_with_diff(project: Project) -> None:
    project.apply()
    plan = project.run("plan", "--var", "factor=3")
    lines = step_lines(plan.out)
    assert lines["prep"] == "= cached"
    assert lines["report"] == "= cached"
    assert lines["features"].startswith("~ run: changed")
    assert "~ params.factor: 2 -> 3" in plan.out
    assert lines["train"].startswith("~ run: upstream changes")
    assert "known after apply" in lines["train"]
    assert lines["evaluate"].startswith("~ run: upstream changes")
    assert "Plan: 1 to run, up to 2 more if outputs change, 2 cached, 0 to remove." in plan.out

    applied = project.apply("-var", "factor=3")  # Terraform's single-dash spelling
    assert "3 ran, 2 cached" in applied.out
    assert "No changes. 5 steps cached." in project.run("plan", "--var", "factor=3").out


def test_summary_counts_what_must_run_apart_from_what_a_cut_off_may_spare(
    project: Project,
) -> None:
    project.apply()
    project.write("main.zc.hcl", MAIN.replace("verbose = false", "verbose = true"))
    summary = "Plan: 1 to run, up to 4 more if outputs change, 0 cached, 0 to remove."
    assert summary in project.run("plan").out
    document = json.loads(project.run("plan", "--json").out)
    assert (document["summary"]["to_run"], document["summary"]["may_run"]) == (1, 4)
    assert document["summary"]["text"] == summary
    comment = project.run("plan", "--format", "markdown").out
    assert f"**{summary}**" in comment
    assert "**To run (1)**\n- `pipeline.demo.step.prep`: changed\n" in comment
    assert "**May run, if upstream outputs change (4)**\n- `pipeline.demo.step.features`" in comment

    # prep prints more but returns the same numbers: the four after it are cut off
    applied = project.apply()
    assert "Apply complete! 1 ran, 4 cached, 0 removed." in applied.out, applied.both


def test_setting_a_param_back_reuses_the_earlier_execution(project: Project) -> None:
    project.apply()
    project.apply("--var", "factor=3")
    back = project.run("plan")
    assert "No changes. 5 steps cached." in back.out, back.out


def test_editing_an_imported_helper_reruns_the_step(project: Project) -> None:
    project.apply()
    project.write(
        "steps/helpers.py",
        "def scale_all(numbers, factor):\n    return [n * factor + 1 for n in numbers]\n",
    )
    plan = project.run("plan")
    assert "~ code: steps/helpers.py" in plan.out
    lines = step_lines(plan.out)
    # every step's module imports the helper, so all of them see the code change
    assert lines["features"].startswith("~ run: changed")
    applied = project.apply()
    assert applied.code == 0
    assert "No changes." in project.run("plan").out


def test_comment_and_formatting_edits_keep_the_cache(project: Project) -> None:
    project.apply()
    helpers = project.root / "steps/helpers.py"
    helpers.write_text(
        '# a comment\n"""Docstring."""\n\n\ndef scale_all(numbers,   factor):\n'
        "    return [n * factor for n in numbers]  # why\n"
    )
    assert "No changes. 5 steps cached." in project.run("plan").out


def test_touching_a_source_keeps_the_cache_changing_it_does_not(project: Project) -> None:
    project.apply()
    raw = project.root / "data/raw.txt"
    os.utime(raw, ns=(raw.stat().st_atime_ns, raw.stat().st_mtime_ns + 5_000_000_000))
    assert "No changes. 5 steps cached." in project.run("plan").out

    raw.write_text("1 2 3 4 5 6\n")
    plan = project.run("plan")
    assert "~ source.raw: data/raw.txt changed" in plan.out
    assert step_lines(plan.out)["prep"].startswith("~ run: changed")


def test_upstream_rerun_with_identical_output_keeps_downstream_cached(project: Project) -> None:
    project.apply()
    project.write(
        "main.zc.hcl",
        (project.root / "main.zc.hcl").read_text().replace("verbose = false", "verbose = true"),
    )
    plan = project.run("plan")
    assert "~ params.verbose: false -> true" in plan.out
    applied = project.apply()
    assert applied.code == 0, applied.both
    assert f"{ADDR}prep: Done" in applied.out
    for step in ("features", "evaluate", "report"):
        assert f"{ADDR}{step}: Cached (inputs unchanged after upstream re-run)" in applied.out
    assert f"{ADDR}features: Running" not in applied.out
    assert "No changes. 5 steps cached." in project.run("plan").out


def apply_with_failing_train(project: Project) -> None:
    """Apply with train pointed at `boom`: it fails with its log, evaluate (its dependent) is
    skipped, report (an independent branch) runs."""
    text = (project.root / "main.zc.hcl").read_text()
    text = text.replace(
        'run    = "steps.pipeline:train"', 'run    = "steps.pipeline:boom"'
    ).replace(
        "inputs = { features = step.features.outputs.output }\n    params = { bias = 0.5 }",
        "inputs = { numbers = step.features.outputs.output }",
    )
    project.write("main.zc.hcl", text)
    applied = project.apply()
    assert applied.code == 1
    assert "Traceback" not in applied.err
    assert f"{ADDR}train: Failed" in applied.out
    assert "ValueError: the model diverged" in applied.err
    assert f"{ADDR}evaluate: Skipped ({ADDR}train failed)" in applied.out
    assert f"{ADDR}report: Done" in applied.out
    log = re.search(r"log: (\S+\.log)", applied.err)
    assert log, applied.err
    log_text = (project.root / log.group(1)).read_text()  # relative paths: to the project
    assert "Traceback" in log_text and "the model diverged" in log_text


def test_failing_step_stops_dependents_and_independent_branch_finishes(project: Project) -> None:
    apply_with_failing_train(project)
    plan = project.run("plan")
    lines = step_lines(plan.out)
    assert lines["report"] == "= cached"
    assert lines["prep"] == "= cached"
    assert lines["train"].startswith("+ run: new (last attempt failed)")


def test_removed_step_is_planned_for_removal_then_gone(project: Project) -> None:
    project.apply()
    text = (project.root / "main.zc.hcl").read_text()
    start = text.index('  step "report"')
    project.write("main.zc.hcl", text[:start] + "}\n")
    plan = project.run("plan")
    assert f"- {ADDR}report" in plan.out
    assert "remove: no longer declared" in plan.out
    assert "Plan: 0 to run, 4 cached, 1 to remove." in plan.out
    applied = project.apply()
    assert "1 removed" in applied.out
    assert "No changes. 4 steps cached." in project.run("plan").out


def test_apply_without_a_terminal_refuses_without_auto_approve(project: Project) -> None:
    result = project.run("apply", stdin="")
    assert result.code == 1
    assert "Apply needs confirmation" in result.err
    assert "--auto-approve" in result.err
    assert "Running" not in result.out


def test_apply_logs_step_output_to_the_artifact_store(project: Project) -> None:
    project.apply()
    logs = list((project.root / ".zenctl/artifacts/logs").rglob(f"{ADDR}report.log"))
    assert len(logs) == 1
    assert "reporting on 5 numbers" in logs[0].read_text()


def test_state_and_artifacts_are_private_to_the_owner(project: Project) -> None:
    project.apply()
    files = (".zenctl/metadata.db",) if project.store.kind == "sqlite" else ()
    for path in (".zenctl", ".zenctl/artifacts", *files):
        mode = (project.root / path).stat().st_mode & 0o777
        assert mode & 0o077 == 0, f"{path} is {oct(mode)}"


def test_expected_duration_is_shown_once_history_exists(project: Project) -> None:
    project.apply()
    plan = project.run("plan", "--var", "factor=5")
    assert "Expected duration of the steps to run: ~" in plan.out


@pytest.mark.all_stores
def test_plan_reads_state_with_the_same_number_of_statements_at_any_size(project: Project) -> None:
    def statements(steps: int) -> int:
        blocks = "\n".join(
            f'  step "s{i}" {{\n    run = "steps.pipeline:features"\n'
            + (
                f"    inputs = {{ numbers = step.s{i - 1}.outputs.output }}\n"
                if i
                else "    inputs = { numbers = step.prep.outputs.output }\n"
            )
            + "    params = { factor = 1 }\n  }"
            for i in range(steps)
        )
        project.write(
            "main.zc.hcl",
            'pipeline "demo" {\n  source "raw" {\n    path = "data/raw.txt"\n  }\n'
            '  step "prep" {\n    run = "steps.pipeline:prep"\n'
            "    inputs = { raw = source.raw }\n  }\n" + blocks + "\n}\n",
        )
        project.apply()
        result = project.run("plan", env={"ZENCTL_TRACE": "1"})
        assert "No changes." in result.out, result.out
        found = re.search(r"sql-statements: (\d+)", result.err)
        assert found, result.err
        return int(found.group(1))

    assert statements(5) == statements(60)


HEAVY = ("hcl2", "lark", "pydantic", "sqlalchemy", "alembic", "zenctl_local.orchestrator")
HEAVY += ("zenctl_beam.executor", "apache_beam", "distributed", "google.cloud", "statistics")
HEAVY += ("importlib.metadata", "concurrent.futures")


def test_a_warm_plan_imports_only_what_it_uses(project: Project) -> None:
    """Speed without a timing assertion: a warm plan reads the cached configuration, so the
    HCL parser, pydantic, the ORM and providers' executors must stay unimported (beyond what
    parsing the command line imports by itself: typer 0.26+ checks options with pydantic)."""
    assert project.apply().code == 0

    def imported(root: str) -> tuple[str, set[str]]:
        script = (
            "import sys\nfrom zenctl.cli.app import main\n"
            f"sys.argv = ['zenctl', '-C', {root!r}, 'plan']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(' '.join(sorted(sys.modules)), file=sys.stderr)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
        )
        return done.stdout, set(done.stderr.splitlines()[-1].split())  # the last line

    for _ in range(2):  # the first also remembers the installed providers for this sys.path
        out, loaded = imported(str(project.root))
        assert "No changes. 5 steps cached." in out, out
    parsing = imported(str(project.root / "missing"))[1]  # refused once options are parsed
    assert not {
        m for m in loaded - parsing for heavy in HEAVY if m == heavy or m.startswith(heavy + ".")
    }
    assert "zenctl_local.artifact_store" in loaded  # cached outputs were checked
    # the decoder, its pydantic block schemas and the HCL lowering: only for a configuration that
    # is not cached (~45 ms of imports, whichever command imports the planner)
    decoder = {"zenctl.config.decoding", "zenctl.config.schemas", "zenctl.config.lowering"}
    assert not decoder & loaded
