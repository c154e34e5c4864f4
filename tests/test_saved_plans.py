"""Plans people review: JSON with a schema, saved plans applied exactly or refused, exit codes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import Project

SCHEMA = json.loads((Path(__file__).parent.parent / "specs/plan.schema.json").read_text())


def plan_json(project: Project, *args: str) -> dict:  # type: ignore[type-arg]
    result = project.run("plan", "--json", *args)
    assert result.code == 0, result.both
    document = json.loads(result.out)
    jsonschema.validate(document, SCHEMA)
    return document  # type: ignore[no-any-return]


def test_plan_json_is_schema_valid_and_carries_reasons_and_unknowns(project: Project) -> None:
    first = plan_json(project)
    assert first["format_version"] == "1.9"
    assert first["summary"] == {
        "to_run": 5,
        "may_run": 0,
        "cached": 0,
        "to_remove": 0,
        "to_add": 0,
        "to_change": 0,
        "to_destroy": 0,
        "text": "Plan: 5 to run, 0 cached, 0 to remove.",
    }
    project.apply()
    changed = plan_json(project, "-var", "factor=4")
    steps = {step["step"]: step for step in changed["steps"]}
    assert steps["prep"]["action"] == "cached"
    features = steps["features"]
    assert features["action"] == "run"
    assert features["reasons"] == [{"kind": "changed", "note": ""}]
    factor = {
        "op": "~",
        "path": "params.factor",
        "before": "2",
        "after": "4",
        "origin": "var.factor",
    }
    assert factor in features["changes"]
    assert features["before"]["params"] == {"factor": 2}
    assert features["after"]["params"] == {"factor": 4}
    train = steps["train"]
    assert train["fingerprint"] is None
    assert train["after_unknown"] == {"inputs": {"features": True}}
    assert changed["execution_order"] == [
        "pipeline.demo.step.features",
        "pipeline.demo.step.train",
        "pipeline.demo.step.evaluate",
    ]


@pytest.mark.all_stores
def test_saved_plan_applies_exactly_and_is_then_spent(project: Project, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    result = project.run("plan", "--out", str(saved))
    assert result.code == 0 and f"zenctl apply {saved}" in result.out
    shown = project.run("show", str(saved))
    assert "Plan: 5 to run, 0 cached, 0 to remove." in shown.out
    assert json.loads(project.run("show", "--json", str(saved)).out)["plan_hash"]

    applied = project.run("apply", str(saved))  # no --auto-approve: a saved plan is approved
    assert applied.code == 0, applied.both
    assert "Apply complete! 5 ran" in applied.out
    again = project.run("apply", str(saved))
    assert again.code == 1
    assert "Saved plan is stale" in again.err
    assert "the state changed since it was planned: serial 0 -> " in again.err
    assert "Nothing was run." in again.err
    # a saved plan with nothing to do says so, as `apply` does
    nothing = tmp_path / "nothing.json"
    assert project.run("plan", "--out", str(nothing)).code == 0
    settled = project.run("apply", str(nothing))
    assert settled.code == 0 and "No changes. 5 steps cached." in settled.out, settled.both


def _saved(project: Project, tmp_path: Path, *args: str) -> Path:
    path = tmp_path / "plan.json"
    assert project.run("plan", "-out", str(path), *args).code == 0
    return path


def test_saved_plan_is_refused_after_a_config_change(project: Project, tmp_path: Path) -> None:
    saved = _saved(project, tmp_path)
    main = project.root / "main.zc.hcl"
    main.write_text(main.read_text().replace("bias = 0.5", "bias = 0.7"))
    result = project.run("apply", str(saved))
    assert result.code == 1
    assert "as reviewed: config file main.zc.hcl changed." in result.err


def test_saved_plan_is_refused_after_a_code_change(project: Project, tmp_path: Path) -> None:
    saved = _saved(project, tmp_path)
    project.write(
        "steps/helpers.py",
        "def scale_all(numbers, factor):\n    return [n * factor * 2 for n in numbers]\n",
    )
    result = project.run("apply", str(saved))
    assert result.code == 1
    assert "as reviewed: code file steps/helpers.py changed (used by pipeline" in result.err


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda text: text[: len(text) // 2], "Saved plan is corrupt"),
        (lambda text: text.replace('"factor":2', '"factor":9'), "Saved plan was modified"),
        (
            lambda text: text.replace('"zenctl_version":"0.1.0"', '"zenctl_version":"0.0.9"'),
            "Saved plan was modified",
        ),
        (lambda text: "[]", "Not a saved plan"),
        (lambda text: re.sub(r'"serial":\d+', '"serial":Infinity', text), "Saved plan is corrupt"),
    ],
)
def test_damaged_saved_plans_are_never_executed(
    project: Project, tmp_path: Path, damage, message
) -> None:  # type: ignore[no-untyped-def]
    saved = _saved(project, tmp_path)
    saved.write_text(damage(saved.read_text()))
    result = project.run("apply", str(saved))
    assert result.code == 1
    assert message in result.err
    assert "Running" not in result.out
    assert not (project.root / ".zenctl/artifacts/objects").exists()


def test_saved_plan_from_another_version_is_refused(project: Project, tmp_path: Path) -> None:
    from zenctl.plan.planfile import plan_hash

    saved = _saved(project, tmp_path)
    document = json.loads(saved.read_text())
    document["zenctl_version"] = "9.9.9"
    document["plan_hash"] = plan_hash(document)
    saved.write_text(json.dumps(document))
    result = project.run("apply", str(saved))
    assert "Saved plan was made by another zenctl version" in result.err


@pytest.mark.all_stores
def test_saved_plan_from_another_state_lineage_is_refused(project: Project, tmp_path: Path) -> None:
    project.apply()
    saved = _saved(project, tmp_path, "--var", "factor=3")
    project.reset_store()
    project.apply()  # a new store with a new lineage
    result = project.run("apply", str(saved))
    assert result.code == 1
    assert "state lineage" in result.err


def test_variables_cannot_be_set_when_applying_a_saved_plan(
    project: Project, tmp_path: Path
) -> None:
    saved = _saved(project, tmp_path, "--var", "factor=3")
    result = project.run("apply", str(saved), "--var", "factor=4")
    assert result.code == 1
    assert "Can't set variables when applying a saved plan" in result.err
    applied = project.run("apply", str(saved))
    assert applied.code == 0
    assert "No changes." in project.run("plan", "--var", "factor=3").out


def test_detailed_exit_codes(project: Project) -> None:
    assert project.run("plan", "--detailed-exitcode").code == 2
    assert project.run("apply", "--auto-approve", "-detailed-exitcode").code == 2
    assert project.run("plan", "--detailed-exitcode").code == 0
    assert project.run("apply", "--auto-approve", "--detailed-exitcode").code == 0
    project.write("main.zc.hcl", "pipeline {")
    assert project.run("plan", "--detailed-exitcode").code == 1


# -- a saved plan is applied only when it is exactly the plan computed now ------------------------


def _resealed(saved: Path, change) -> None:  # type: ignore[no-untyped-def]
    """Edit a saved plan and recompute its plan_hash, as anyone can: it is an unkeyed digest."""
    from zenctl.plan.planfile import plan_hash

    document = json.loads(saved.read_text())
    change(document)
    document["plan_hash"] = plan_hash(document)
    saved.write_text(json.dumps(document))


def _steps(document: dict) -> dict[str, int]:  # type: ignore[type-arg]
    return {step["step"]: index for index, step in enumerate(document["steps"])}


def _swap_cached_outputs(document: dict) -> None:  # type: ignore[type-arg]
    steps = document["steps"]
    prep, report = steps[_steps(document)["prep"]], steps[_steps(document)["report"]]
    prep["cached_outputs"], report["cached_outputs"] = (
        report["cached_outputs"],
        prep["cached_outputs"],
    )


def _point_at_passwd(document: dict) -> None:  # type: ignore[type-arg]
    prep = document["steps"][_steps(document)["prep"]]
    prep["cached_outputs"]["output"]["uri"] = "file:///etc/passwd"


@pytest.mark.parametrize(
    ("tamper", "field"),
    [
        (_swap_cached_outputs, "cached_outputs.output.hash"),
        (_point_at_passwd, "cached_outputs.output.uri"),
    ],
)
def test_a_resealed_saved_plan_is_refused_naming_the_field(
    project: Project, tmp_path: Path, tamper, field
) -> None:  # type: ignore[no-untyped-def]
    project.apply()
    saved = _saved(project, tmp_path, "--var", "factor=3")
    prep = _steps(json.loads(saved.read_text()))["prep"]
    _resealed(saved, tamper)
    runs = project.run("runs").out

    result = project.run("apply", str(saved))
    assert result.code == 1, result.both
    assert "Error: Saved plan does not match the plan computed now" in result.err
    assert f"steps[{prep}].{field}" in result.err
    assert "Nothing was run." in result.err
    assert "Running" not in result.out and "Traceback" not in result.both
    assert project.run("runs").out == runs  # nothing recorded
    assert (
        "Plan: 1 to run, up to 2 more if outputs change, 2 cached"
        in project.run("plan", "--var", "factor=3").out
    )


def _param_edited(document: dict) -> None:  # type: ignore[type-arg]
    step = document["steps"][_steps(document)["prep"]]
    step["after"]["params"] = {**step["after"]["params"], "edited": 1}


def _action_edited(document: dict) -> None:  # type: ignore[type-arg]
    step = document["steps"][_steps(document)["report"]]
    step["action"] = "cached" if step["action"] == "run" else "run"


@pytest.mark.parametrize("tamper", [_param_edited, _action_edited])
def test_an_edited_and_rehashed_plan_is_called_edited_not_stale(
    project: Project, tmp_path: Path, tamper
) -> None:  # type: ignore[no-untyped-def]
    """Its seal is keyed by the metadata store's secret: nothing the file says is taken for
    a change of the project (an invented "its params changed")."""
    project.apply()
    saved = _saved(project, tmp_path, "--var", "factor=3")
    assert len(json.loads(saved.read_text())["plan_seal"]) == 64
    _resealed(saved, tamper)
    result = project.run("apply", str(saved))
    assert result.code == 1, result.both
    assert "Error: Saved plan does not match the plan computed now" in result.err
    assert "was edited after `zenctl plan --out` wrote it" in result.err
    assert "stale" not in result.err and "Running" not in result.out


def _keys_reversed(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _keys_reversed(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [_keys_reversed(item) for item in value]
    return value


def test_resealed_mutations_are_refused_and_only_a_same_meaning_plan_applies(
    project: Project, tmp_path: Path
) -> None:
    from hypothesis import given, settings
    from test_bad_input import FUZZ, _rehash, mutated

    from zenctl.fingerprint.canonical import canonical_json

    project.apply()
    saved = _saved(project, tmp_path, "--var", "factor=3")
    document = json.loads(saved.read_text())
    runs = project.run("runs").out
    damaged = tmp_path / "damaged.json"

    @settings(FUZZ, max_examples=20)
    @given(raw=mutated(document, _rehash, ("retype", "delete", "swap")))
    def refused(raw: bytes) -> None:
        if raw == canonical_json(document).encode():
            return  # the value drawn was the one already there: nothing to refuse
        damaged.write_bytes(raw)
        result = project.run("apply", str(damaged))
        assert result.code == 1, result.both
        assert re.search(r"Error: (Saved plan|Not a saved plan)", result.err), result.err
        assert "Traceback" not in result.both and "crashed" not in result.both
        assert "Running" not in result.out

    refused()
    assert project.run("runs").out == runs  # none of them recorded anything
    # the same plan with its keys in another order means the same: it is applied
    saved.write_text(json.dumps(_keys_reversed(document), indent=1))
    applied = project.run("apply", str(saved))
    assert applied.code == 0, applied.both
    assert "Apply complete! 3 ran, 2 cached" in applied.out


class _Seen:
    """A walker reporter that keeps what it was told."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    def started(self, step: Any, note: str = "") -> None:
        self.ran.append(step.step)

    def reused(self, step: Any, note: str) -> None: ...
    def succeeded(self, step: Any, result: Any) -> None: ...
    def failed(self, step: Any, error: str, log_path: str) -> None: ...
    def skipped(self, step: Any, because: str) -> None: ...


def _with_components(plan: Any, name: str, **changed: Any) -> Any:
    import dataclasses

    steps = tuple(
        dataclasses.replace(step, components={**step.components, **changed})
        if step.step == name
        else step
        for step in plan.steps
    )
    return dataclasses.replace(plan, steps=steps)


def test_the_walker_runs_the_planned_components_and_refuses_params_that_moved(
    project: Project,
) -> None:
    """Through the CLI the plan applied is the one just computed, so this guards the walker
    itself: it runs the plan's `run`, and a step whose params no longer evaluate to the
    planned ones fails, named, before it runs."""
    from zenctl.application.apply import apply_plan
    from zenctl.application.project import Project as Loaded
    from zenctl.cli.inputs import variable_inputs

    project.apply()
    loaded = Loaded.load(project.root, variable_inputs(["factor=3"], None, []))
    store = loaded.open_state(create=True)
    try:
        plan = loaded.plan(store)
        seen = _Seen()
        moved = _with_components(plan, "features", params={"factor": 4})
        result = apply_plan(loaded, store, moved, 1, seen, lambda address, message: None)
        assert seen.ran == []
        (failed,) = result.failed
        assert failed[0] == "pipeline.demo.step.features"
        assert failed[1] == (
            'not run: it is not the planned step (its params are {"factor":3}, the plan had '
            '{"factor":4})'
        )
        assert result.skipped == ["pipeline.demo.step.train", "pipeline.demo.step.evaluate"]

        boom = "steps.pipeline:boom"
        code = loaded.fingerprinter(store).code.closure(boom)  # what the check expects of boom
        other = _with_components(loaded.plan(store), "features", run=boom, code=code)
        result = apply_plan(loaded, store, other, 1, seen, lambda address, message: None)
        assert seen.ran == ["features"]
        assert "boom() got an unexpected keyword argument" in result.failed[0][1]
    finally:
        store.close()
