"""A refused plan names what differs from the reviewed one, component by component: for a
saved plan (`apply FILE`) and for the pull-request comment (`apply --expect-plan-comment`)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import Project, Result

from zenctl.plan.basis import LISTED, differences, for_marker, listing

# What differs is worked out from plan documents, the same whatever database holds the state.

SECRET = {"ZENCTL_VAR_token": "tok-REVIEW-51c9a0"}
WIDE = {"COLUMNS": "1000"}  # one line per sentence of a diagnostic, for the assertions
TOKEN_CONFIG = 'variable "token" {\n  type      = string\n  sensitive = true\n}\n'


@pytest.fixture
def reviewed(project: Project, tmp_path: Path) -> tuple[Path, Path]:
    """After a first apply: a saved plan and a plan comment of the same plan, as CI makes
    them in the pull request (with a sensitive variable from the environment)."""
    project.write("secret.zc.hcl", TOKEN_CONFIG)
    assert project.apply(env=SECRET).code == 0
    saved, comment = tmp_path / "plan.json", tmp_path / "comment.md"
    assert project.run("plan", "--out", str(saved), env=SECRET).code == 0
    markdown = project.run("plan", "--format", "markdown", env=SECRET)
    assert markdown.code == 0, markdown.both
    assert SECRET["ZENCTL_VAR_token"] not in markdown.out  # the marker holds a keyed digest
    comment.write_text(markdown.out)
    return saved, comment


def _run(project: Project, *args: str, env: dict[str, str] | None = None) -> Result:
    result = project.run(*args, env={**SECRET, **WIDE, **(env or {})})
    assert "Traceback" not in result.both
    return result


def _refused(result: Result, summary: str) -> str:
    assert result.code == 1, result.both
    assert f"Error: {summary}" in result.err
    assert "Nothing was run." in result.err and "Apply complete" not in result.out
    return result.err


def _both_refused(
    project: Project, reviewed: tuple[Path, Path], env: dict[str, str] | None = None
) -> tuple[str, str]:
    """The refusals of the saved plan and of the comment's plan, in that order."""
    saved, comment = reviewed
    from_file = _run(project, "apply", str(saved), env=env)
    from_comment = _run(
        project, "apply", "--auto-approve", "--expect-plan-comment", str(comment), env=env
    )
    return (
        _refused(from_file, "Saved plan is stale"),
        _refused(from_comment, "Plan does not match the reviewed plan"),
    )


def _edit_config(project: Project) -> None:
    main = project.root / "main.zc.hcl"
    main.write_text(main.read_text().replace("bias = 0.5", "bias = 0.7"))


def _edit_code(project: Project) -> None:
    project.write("steps/helpers.py", "def scale_all(numbers, factor):\n    return numbers\n")


def _edit_data(project: Project) -> None:
    project.write("data/raw.txt", "5 4 3 2 1\n")


def _apply_in_between(project: Project) -> None:
    assert _run(project, "apply", "--auto-approve", "--var", "factor=5").code == 0


CHANGES: list[tuple[Callable[[Project], None], dict[str, str], str]] = [
    (_edit_config, {}, "config file main.zc.hcl changed"),
    (
        _edit_code,
        {},
        "code file steps/helpers.py changed (used by pipeline.demo.step.prep and 4 more)",
    ),
    (_edit_data, {}, "data input data/raw.txt changed (used by pipeline.demo.step.prep)"),
    (lambda project: None, {"ZENCTL_VAR_token": "tok-OTHER"}, "sensitive variable token has"),
]


@pytest.mark.parametrize(("change", "env", "named"), CHANGES)
def test_the_component_that_changed_is_named(
    project: Project,
    reviewed: tuple[Path, Path],
    change: Callable[[Project], None],
    env: dict[str, str],
    named: str,
) -> None:
    change(project)
    refusals = _both_refused(project, reviewed, env)
    for refusal in refusals:
        assert f": {named}" in refusal, refusal  # the one cause, inline
        assert "  - " not in refusal
    assert "tok-OTHER" not in "".join(refusals)


def test_an_apply_in_between_is_named_with_both_serials(
    project: Project, reviewed: tuple[Path, Path]
) -> None:
    state = json.loads(reviewed[0].read_text())["state"]
    _apply_in_between(project)
    now = project.sql("SELECT serial FROM zenctl_state")[0][0]
    assert now > state["serial"]
    for refusal in _both_refused(project, reviewed):
        assert (
            f": the state changed since it was planned: serial {state['serial']} -> {now} in "
            f"lineage {state['lineage']} (another apply landed). Nothing was run."
        ) in refusal


def test_every_difference_is_listed(project: Project, reviewed: tuple[Path, Path]) -> None:
    _edit_config(project)
    _edit_code(project)
    _edit_data(project)
    project.write("more.zc.hcl", 'variable "unused" {\n  default = 1\n}\n')
    file_refusal, comment_refusal = _both_refused(project, reviewed)
    for refusal in (file_refusal, comment_refusal):
        assert (
            "│   - config file main.zc.hcl changed\n"
            "│   - config file more.zc.hcl is new\n"
            "│   - code file steps/helpers.py changed (used by pipeline.demo.step.prep and 4 "
            "more)\n"
            "│   - data input data/raw.txt changed (used by pipeline.demo.step.prep)\n"
            "│   - variable unused is set now, not when it was planned\n"
        ) in refusal


def test_a_variable_set_otherwise_is_named_with_its_value_now(
    project: Project, reviewed: tuple[Path, Path]
) -> None:
    comment = reviewed[1]
    result = _run(
        project,
        "apply",
        "--auto-approve",
        "--expect-plan-comment",
        str(comment),
        "-var",
        "factor=3",
    )
    refusal = _refused(result, "Plan does not match the reviewed plan")
    assert f"the plan reviewed in {comment} is " in refusal
    assert ": variable factor has another value (3 now). Nothing was run." in refusal


def test_another_store_is_named_with_both_lineages_and_its_url(
    project: Project, reviewed: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The apply job pointed at another metadata store than the plan job: here a copy of the
    checkout, with its own SQLite store."""
    state = json.loads(reviewed[0].read_text())["state"]
    elsewhere = Project(tmp_path_factory.mktemp("elsewhere") / "project")
    shutil.copytree(project.root, elsewhere.root, ignore=shutil.ignore_patterns(".zenctl"))
    assert _run(elsewhere, "init").code == 0
    other = elsewhere.sql("SELECT lineage FROM zenctl_state")[0][0]
    store = f"sqlite:///{elsewhere.root / '.zenctl/metadata.db'}"
    for refusal in _both_refused(elsewhere, reviewed):
        assert (
            f": it was planned against state lineage {state['lineage']} (serial "
            f"{state['serial']}), but this store ({store}) is lineage {other} (serial 0): "
            "another metadata store, or a re-created one. Nothing was run."
        ) in refusal
        # the secret is the same: its hash differs only because each store has its own key


def test_another_workspace_and_other_options_are_named(
    project: Project, reviewed: tuple[Path, Path]
) -> None:
    assert _run(project, "workspace", "new", "staging").code == 0
    workspace = ': it was planned in workspace "default", the current workspace is "staging".'
    for refusal in _both_refused(project, reviewed):
        assert workspace in refusal

    assert _run(project, "workspace", "select", "default").code == 0
    targeted = _run(
        project,
        "apply",
        "--auto-approve",
        "--expect-plan-comment",
        str(reviewed[1]),
        "-target",
        "pipeline.demo.step.prep",
    )
    assert (
        ": it was planned with no --target, this apply has --target pipeline.demo.step.prep."
    ) in _refused(targeted, "Plan does not match the reviewed plan")


def test_damaged_artifacts_are_named(project: Project, reviewed: tuple[Path, Path]) -> None:
    prep = json.loads(reviewed[0].read_text())["steps"][0]
    assert prep["address"] == "pipeline.demo.step.prep"
    digest = prep["cached_outputs"]["output"]["hash"]
    (project.root / ".zenctl/artifacts/objects" / digest[:2] / digest).unlink()
    for refusal in _both_refused(project, reviewed):
        # its downstream steps would run because it does: the cause is its artifact alone
        assert re.search(
            r": pipeline\.demo\.step\.prep would now run: artifact missing \(output output "
            r"[0-9a-f]{10}\)\. Nothing was run\.",
            refusal,
        )


def test_a_saved_plan_checked_against_the_comment_names_what_differs(
    project: Project, reviewed: tuple[Path, Path], tmp_path: Path
) -> None:
    _edit_config(project)
    later = tmp_path / "later.json"
    assert _run(project, "plan", "--out", str(later)).code == 0
    result = _run(project, "apply", str(later), "--expect-plan-comment", str(reviewed[1]))
    refusal = _refused(result, "Plan does not match the reviewed plan")
    assert f"but {later} has plan hash" in refusal
    assert ": config file main.zc.hcl changed. Nothing was run." in refusal


def test_another_zenctl_version_is_named(project: Project, reviewed: tuple[Path, Path]) -> None:
    comment = reviewed[1]
    marker = re.search(r"<!-- zenctl-plan (\{.*?\}) -->", comment.read_text())
    assert marker
    document = json.loads(marker[1])
    assert document["format_version"] == "1.1"
    document["basis"]["zenctl"] = "0.0.9"
    document["plan_hash"] = "0" * 64  # as a plan made by that version hashes otherwise
    comment.write_text(f"<!-- zenctl-plan {json.dumps(document)} -->\n")
    result = _run(project, "apply", "--auto-approve", "--expect-plan-comment", str(comment))
    refusal = _refused(result, "Plan does not match the reviewed plan")
    assert ": it was planned with zenctl 0.0.9, this is zenctl 0.1.0. Nothing" in refusal


def test_a_marker_whose_basis_matches_another_hash_is_called_edited(
    project: Project, reviewed: tuple[Path, Path]
) -> None:
    comment = reviewed[1]
    text = comment.read_text()
    plan_hash = json.loads(reviewed[0].read_text())["plan_hash"]
    comment.write_text(text.replace(plan_hash, "f" * 64))
    result = _run(project, "apply", "--auto-approve", "--expect-plan-comment", str(comment))
    assert "the comment's marker was probably edited. Nothing was run." in _refused(
        result, "Plan does not match the reviewed plan"
    )


def test_a_hash_alone_says_how_to_have_the_cause_named(
    project: Project, reviewed: tuple[Path, Path], tmp_path: Path
) -> None:
    saved, comment = reviewed
    plan_hash = json.loads(saved.read_text())["plan_hash"]
    _edit_config(project)
    alone = _run(project, "apply", "--auto-approve", "--expect-plan-hash", plan_hash)
    assert "give the reviewed comment with --expect-plan-comment FILE" in _refused(
        alone, "Plan does not match the reviewed plan"
    )
    both = _run(
        project, "apply", "--expect-plan-hash", plan_hash, "--expect-plan-comment", str(comment)
    )
    assert both.code == 1 and "Error: Conflicting expected plans" in both.err
    missing = _run(project, "apply", "--expect-plan-comment", str(tmp_path / "nope.md"))
    assert missing.code == 1 and "Error: Cannot read the reviewed plan comment" in missing.err


@pytest.mark.parametrize(
    ("text", "summary"),
    [
        ("LGTM, ship it\n", "No reviewed plan in the comment"),
        ("<!-- zenctl-plan {} -->\n<!-- zenctl-plan {} -->\n", "Several plans in the comment"),
        ("<!-- zenctl-plan {not json} -->\n", "The plan comment's marker is malformed"),
        ('<!-- zenctl-plan {"plan_hash": "abc"} -->\n', "The plan comment's marker is malformed"),
        (
            f'<!-- zenctl-plan {{"plan_hash": "{"a" * 64}", "basis": {{"zenctl": 1}}}} -->',
            "The plan comment's marker is malformed",
        ),
    ],
)
def test_a_comment_without_a_usable_marker_is_refused(
    project: Project, tmp_path: Path, text: str, summary: str
) -> None:
    comment = tmp_path / "comment.md"
    comment.write_text(text)
    result = _run(project, "apply", "--auto-approve", "--expect-plan-comment", str(comment))
    assert result.code == 1 and f"Error: {summary}" in result.err
    assert "Apply complete" not in result.out


# -- what differs, from plan documents -------------------------------------------------------


def _basis(**changed: Any) -> dict[str, Any]:
    return {
        "zenctl": "0.1.0",
        "workspace": "default",
        "state": {"lineage": "L1", "serial": 3},
        "options": {"targets": [], "excludes": [], "replace": []},
        "config": {"main.zc.hcl": "c1"},
        "code": {f"steps/s{i}.py": f"h{i}" for i in range(400)},
        "data": {"data/raw.txt": "d1"},
        "variables": {"token": "k1", "factor": "v1"},
        "artifacts": {},
        "resources": {},
        **changed,
    }


FRESH = {
    "steps": [{"address": "pipeline.p.step.s", "after": None, "reasons": []}],
    "variables": {"token": {"sensitive": "keyed"}, "factor": {"value": 4}},
    "resource_changes": [],
}


def test_a_marker_folds_its_largest_categories_and_still_sees_them_move() -> None:
    full = _basis()
    folded = for_marker(full, budget=2_000)
    assert isinstance(folded["code"], str) and folded["config"] == full["config"]
    assert len(json.dumps(folded)) < 2_000
    assert for_marker(full) == full  # within the default budget
    assert differences(folded, full, FRESH, "sqlite:///x") == []
    moved = _basis(code={**full["code"], "steps/s7.py": "other"})
    assert differences(folded, moved, FRESH, "sqlite:///x") == [
        "one of the 400 code files changed (the plan comment holds too many to say which: "
        "`zenctl plan` shows why)"
    ]


def test_secrets_are_not_compared_across_stores_and_odd_names_are_quoted() -> None:
    elsewhere = _basis(state={"lineage": "L2", "serial": 0}, variables={"token": "k2"})
    causes = differences(_basis(), elsewhere, FRESH, "postgresql://ml:***@db/zenctl")
    assert causes == [
        "it was planned against state lineage L1 (serial 3), but this store "
        "(postgresql://ml:***@db/zenctl) is lineage L2 (serial 0): another metadata store, "
        "or a re-created one",
        "variable factor is no longer set",
    ]
    # an apply in between explains a resource that moved: only the state is named
    applied = _basis(state={"lineage": "L1", "serial": 4}, resources={"api": "r2"})
    assert differences(_basis(resources={"api": "r1"}), applied, FRESH, "sqlite:///x") == [
        "the state changed since it was planned: serial 3 -> 4 in lineage L1 (another apply landed)"
    ]
    forged = _basis(config={"x.zc.hcl\n│ Error: all fine": "c1"})
    named = differences(forged, _basis(), FRESH, "sqlite:///x")
    assert 'config file "x.zc.hcl\\n\\u2502 Error: all fine" was removed' in named


def test_a_refusal_names_the_first_causes_and_counts_the_rest() -> None:
    causes = [f"cause {i}" for i in range(LISTED + 3)]
    text = listing(causes)
    assert text.count("\n  - cause") == LISTED
    assert text.endswith(f"\n  - cause {LISTED - 1}\n  - and 3 more\n")
    assert listing(["one"]) == ": one. "
