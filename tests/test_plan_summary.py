"""`plan --summary` (only what changes, grouped by reason) and a pull-request comment that stays
under GitHub's limit at any size while listing every step that must run."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import MAIN, Project

from zenctl.plan.model import (
    Action,
    Change,
    Digest,
    Placeholder,
    Plan,
    Reason,
    ReasonKind,
    Recorded,
    ResourceAction,
    ResourceChange,
    StageKind,
    StepPlan,
)
from zenctl.render.plan_json import from_document, to_document
from zenctl.render.plan_markdown import (
    COMMENT_BUDGET,
    COMMENT_LIMIT,
    github_length,
    render_markdown,
)
from zenctl.render.plan_text import plan_lines, summary_groups

# Renderings, the same whatever database holds the state.

MARKER = re.compile(r"<!-- zenctl-plan (\{.*?\}) -->")  # the regex of examples/ci/zenctl.yml
HASH = "0123456789abcdef" * 4


def _marker(comment: str) -> dict:  # type: ignore[type-arg]
    """The marker as the workflow reads it: one, on the last line, with valid JSON."""
    found = MARKER.findall(comment)
    assert len(found) == 1, comment[-500:]
    assert comment.rstrip("\n").rsplit("\n", 1)[1].startswith("<!-- zenctl-plan {")
    return json.loads(found[0])  # type: ignore[no-any-return]


def _check_comment(comment: str, plan_hash: str, must_show: list[str]) -> None:
    """Under GitHub's limit however it counts, every must-show address and the hash visible,
    the marker intact."""
    assert github_length(comment) <= COMMENT_BUDGET < COMMENT_LIMIT
    assert len(comment.encode("utf-16-le")) // 2 <= COMMENT_LIMIT  # UTF-16 units, as JavaScript
    for address in must_show:
        assert f"`{address}`" in comment, address
    assert f"Plan hash `{plan_hash}`\n<!-- zenctl-plan " in comment  # the full hash, visible
    assert _marker(comment)["plan_hash"] == plan_hash


def test_summary_lists_only_what_changes_grouped_by_reason(
    project: Project, tmp_path: Path
) -> None:
    project.apply()
    main = re.sub(r'\n  step "report" \{.*?\n  \}\n', "\n", MAIN, flags=re.S)
    extra = (
        '  step "extra" {\n    run    = "steps.pipeline:features"\n    params = { factor = 5 }\n'
    )
    extra += "    inputs = { numbers = step.prep.outputs.output }\n  }\n}\n"
    project.write("main.zc.hcl", main.replace("bias = 0.5", "bias = 0.7").rstrip()[:-1] + extra)
    saved = tmp_path / "plan.json"
    planned = project.run("plan", "--summary", "--out", str(saved), "--detailed-exitcode")
    assert planned.code == 2, planned.both
    for block in (
        "params (1):\n  ~ pipeline.demo.step.train\n",
        "upstream changes (1):\n  ~ pipeline.demo.step.evaluate\n",
        "new (1):\n  + pipeline.demo.step.extra\n",
        "no longer declared (1):\n  - pipeline.demo.step.report\n",
    ):
        assert block in planned.out, planned.out
    assert "pipeline.demo.step.prep" not in planned.out  # cached: only counted
    assert "params.bias" not in planned.out  # no diffs
    summary = "Plan: 2 to run, up to 1 more if outputs change, 2 cached, 1 to remove."
    printed = planned.out[: planned.out.index("\nSaved the plan to:")]
    assert printed.startswith("zenctl will perform the following actions, grouped by reason:\n")
    assert f"\n\n{summary}\n" in printed

    assert project.run("plan", "-summary").out == printed  # Terraform's spelling too
    shown = project.run("show", "-summary", str(saved))  # the saved plan, not planned again
    assert (shown.code, shown.out) == (0, printed)
    assert "~ params.bias: 0.5 -> 0.7" in project.run("show", str(saved)).out  # still whole

    for args in (("plan", "--summary", "--json"), ("show", "--summary", "--json", str(saved))):
        refused = project.run(*args)
        assert refused.code == 1 and "Error: Conflicting output options" in refused.err
    not_a_plan = project.run("show", "--summary", "pipeline.demo.step.train")
    assert not_a_plan.code == 1 and "--summary shows a saved plan only" in not_a_plan.err

    assert project.apply().code == 0
    quiet = project.run("plan", "--summary", "--detailed-exitcode")
    assert (quiet.code, quiet.out) == (0, "No changes. 5 steps cached.\n")


def _step(
    name: str,
    action: Action = Action.RUN,
    reasons: tuple[Reason, ...] = (),
    changes: tuple[Change, ...] = (),
    moved_from: str | None = None,
    pipeline: str = "p",
) -> StepPlan:
    # a step that may run has no fingerprint yet; one with reasons of its own has one
    fingerprint = None if reasons and reasons[-1].kind is ReasonKind.UPSTREAM else "f"
    return StepPlan(
        address=f"pipeline.{pipeline}.step.{name}",
        pipeline=pipeline,
        step=name,
        action=action,
        reasons=reasons,
        changes=changes,
        components={},
        fingerprint=fingerprint,
        depends_on=(),
        moved_from=moved_from,
    )


def _resource(name: str, action: ResourceAction) -> ResourceChange:
    return ResourceChange(
        f"stack.s.{name}", "serving", "local", action, (), (), (), False, None, None, None
    )


def _plan(
    steps: list[StepPlan],
    removed: tuple[StepPlan, ...] = (),
    resources: tuple[ResourceChange, ...] = (),
) -> Plan:
    return Plan("default", "lineage", 1, tuple(steps), removed, {"p": "default"}, resources)


CHANGED = (Reason(ReasonKind.CHANGED),)
UPSTREAM = (Reason(ReasonKind.UPSTREAM, "inputs known after apply"),)
CODE_AND_PARAMS = (
    Change("~", "code: steps/a.py"),
    Change("~", "code: steps/util.py"),
    Change("~", "params.lr", "0.01", "0.02"),
    Change("+", "params.extra.depth", after="3"),
)


def test_groups_partition_the_changes_by_the_reasons_the_plan_carries() -> None:
    plan = _plan(
        [
            _step("a", reasons=CHANGED, changes=CODE_AND_PARAMS),
            _step(
                "b", reasons=(*CHANGED, *UPSTREAM), changes=(Change("~", "source.raw: x changed"),)
            ),
            _step("c", reasons=UPSTREAM),
            _step("d", reasons=(Reason(ReasonKind.NEW, "last attempt failed"),)),
            _step("e", reasons=(Reason(ReasonKind.ARTIFACT_MISSING, "output model 1a2b"),)),
            _step("f", Action.CACHED, moved_from="pipeline.p.step.old_f"),
            _step("g", reasons=(Reason(ReasonKind.REPLACE),)),
            _step(
                "h",
                reasons=(
                    Reason(ReasonKind.CHANGED, "zenctl's fingerprint format changed: 1 -> 2"),
                ),
            ),
            _step("i", reasons=CHANGED),
            _step("j", Action.CACHED),
            _step("k", reasons=CHANGED, changes=(Change("-", "inputs.x", before="source.raw"),)),
            _step("a2", reasons=CHANGED, changes=CODE_AND_PARAMS),
            _step("n2", reasons=(Reason(ReasonKind.NEW),)),
            _step("e2", reasons=(Reason(ReasonKind.ARTIFACT_MISSING, "output data 9f8e"),)),
            _step("z", reasons=CHANGED, changes=(Change("~", "code: steps/__init__.py"),)),
        ],
        (_step("r", Action.REMOVE, (Reason(ReasonKind.REMOVED),)),),
        tuple(_resource(a.value, a) for a in ResourceAction),
    )
    groups = [
        (g.reason, g.symbol, g.may_run, [a.split(".")[-1] for a, _ in g.members])
        for g in summary_groups(plan)
    ]
    assert groups == [
        ("code: steps/a.py, code: steps/util.py, params", "~", False, ["a", "a2"]),
        ("data: source.raw, upstream changes", "~", False, ["b"]),
        ("upstream changes", "~", True, ["c"]),
        ("new", "+", False, ["d", "n2"]),  # notes that differ per step are left out
        ("artifact missing", "~", False, ["e", "e2"]),
        ("moved", "=", False, ["f"]),
        ("replace requested", "~", False, ["g"]),
        ("changed (zenctl's fingerprint format changed: 1 -> 2)", "~", False, ["h"]),
        ("changed", "~", False, ["i"]),
        ("inputs", "~", False, ["k"]),
        ("code: steps/__init__.py", "~", False, ["z"]),
        ("no longer declared", "-", False, ["r"]),
        ("create", "+", False, ["create"]),
        ("update in place", "~", False, ["update"]),
        ("replace", "-/+", False, ["replace"]),
        ("destroy", "-", False, ["delete"]),  # the no-op resource and cached j are left out
    ]
    moved = next(g for g in summary_groups(plan) if g.reason == "moved")
    assert moved.members == [("pipeline.p.step.f", "pipeline.p.step.old_f")]
    comment = render_markdown(plan, HASH, "p", summary=True)
    assert "**code: steps/a.py, code: steps/util.py, params (2)**\n" in comment
    assert "- `pipeline.p.step.f` (moved from `pipeline.p.step.old_f`)\n" in comment
    assert "**upstream changes (1)**\n- `pipeline.p.step.c`\n" in comment
    assert "**code: steps/\\_\\_init\\_\\_.py (1)**\n" in comment  # not bold `init`


def test_github_length_counts_the_strictest_unit() -> None:
    assert github_length("abc") == 3
    assert github_length("é") == 2  # UTF-8 bytes, more than its one code point
    assert github_length("😀") == 4  # more than its two UTF-16 units
    assert github_length("a\nb") == 4  # a line break may be stored as CRLF


def test_a_1000_step_plan_comment_lists_every_step_and_the_hash(tmp_path: Path) -> None:
    project = Project(tmp_path / "wide")
    project.write("steps/__init__.py", "")
    project.write("steps/chain.py", "def link(prev=None, i=0):\n    return (prev or 0) + i\n")
    blocks = []
    for i in range(1000):
        inputs = f"\n    inputs = {{ prev = step.step_{i - 1:04d}.outputs.output }}" if i else ""
        run = f'    run    = "steps.chain:link"{inputs}\n    params = {{ i = {i} }}'
        blocks.append(f'  step "step_{i:04d}" {{\n{run}\n  }}\n')
    project.write("main.zc.hcl", 'pipeline "training" {\n' + "\n".join(blocks) + "}\n")
    saved = tmp_path / "plan.json"
    planned = project.run("plan", "--format", "markdown", "--out", str(saved), "-detailed-exitcode")
    assert planned.code == 2, planned.err
    comment = planned.out
    addresses = [f"pipeline.training.step.step_{i:04d}" for i in range(1000)]
    plan_hash = json.loads(saved.read_text())["plan_hash"]  # the hash apply checks
    _check_comment(comment, plan_hash, addresses)
    assert "**Plan: 1000 to run, 0 cached, 0 to remove.**" in comment
    assert "> [!NOTE]\n> This plan is too long for one comment" in comment
    assert "- `pipeline.training.step.step_0500`: new\n" in comment  # with its reason
    assert "lines are cut in the middle" in comment  # the diff gave way, not the steps

    shown = project.run("show", "--summary", str(saved))
    assert shown.code == 0, shown.err
    assert shown.out.startswith(
        "zenctl will perform the following actions, grouped by reason:\n\nnew (1,000):\n"
    )
    assert all(f"  + {address}\n" in shown.out for address in addresses)


def _big_plan(
    count: int, must_every: int, pipeline: str = "churn_forecast", own_file: bool = False
) -> Plan:
    """A chain of `count` steps: every `must_every`-th changed (its code, and a long param
    with non-ASCII text), the next four may run, the rest cached; 3 removed, 2 resources."""
    steps = []
    for i in range(count):
        name = f"feature_{i:05d}"
        if i % must_every == 0:
            code = f"code: steps/f{i}.py" if own_file else "code: steps/features.py"
            changes = (
                Change("~", code),
                Change("~", "params.notes", '"' + "é😀" * 200 + '"', '"' + "ü" * 300 + '"'),
            )
            steps.append(_step(name, reasons=CHANGED, changes=changes, pipeline=pipeline))
        elif i % must_every <= 4:
            steps.append(_step(name, reasons=UPSTREAM, pipeline=pipeline))
        else:
            steps.append(_step(name, Action.CACHED, pipeline=pipeline))
    removed = tuple(
        _step(f"old_{i}", Action.REMOVE, (Reason(ReasonKind.REMOVED),), pipeline=pipeline)
        for i in range(3)
    )
    resources = (
        _resource("api", ResourceAction.CREATE),
        _resource("legacy", ResourceAction.DELETE),
    )
    return _plan(steps, removed, resources)


def _must_show(plan: Plan) -> list[str]:
    """Every address apply surely changes: steps that must run, removed ones, resources."""
    must = [step.address for step in plan.to_run if not step.conditional]
    return [*must, *(s.address for s in plan.removed), *(r.address for r in plan.resources)]


def test_a_10000_step_plan_comment_keeps_every_step_that_must_run() -> None:
    plan = _big_plan(10_000, 10)  # 1,000 must run, 4,000 may, 5,000 cached
    comment = render_markdown(plan, HASH, "churn")
    _check_comment(comment, HASH, _must_show(plan))
    assert "**Plan: 1000 to run, up to 4000 more if outputs change, 5000 cached" in comment
    assert "> [!CAUTION]\n> **3 steps will be removed.**" in comment
    assert "- `pipeline.churn_forecast.step.feature_09990`: changed\n" in comment
    assert "**May run, if upstream outputs change (4,000)**: not listed here.\n" in comment
    assert "**Cached (5,000)**: not listed here.\n" in comment
    assert "lines are cut in the middle" in comment and "[!WARNING]" not in comment

    plan = _big_plan(10_000, 9)  # 1,112 must run: with their reasons they no longer fit
    comment = render_markdown(plan, HASH, "churn")
    _check_comment(comment, HASH, _must_show(plan))
    assert "**code: steps/features.py, params (1,112)**\n" in comment  # grouped, without diffs
    assert "**upstream changes (4,444)**: not listed here.\n" in comment
    assert "**no longer declared (3)**\n" in comment and "**destroy (1)**\n" in comment
    assert "Full plan" not in comment and "[!WARNING]" not in comment
    # The note says what was folded: the cached list, the steps that may run, the diffs.
    note = comment[comment.index("> [!NOTE]") :].split("\n\n")[0]
    for folded in ("cached steps are counted", "steps that may run are counted", "grouped"):
        assert folded in note


def test_a_long_diff_is_cut_in_its_middle_and_the_steps_stay_listed() -> None:
    long_diff = tuple(Change("~", f"params.p{j:04d}", "0", "1" * 60) for j in range(2_000))
    plan = _plan(
        [_step(f"s{i}", reasons=CHANGED, changes=long_diff) for i in range(3)],
        resources=(_resource("api", ResourceAction.CREATE),),
    )
    comment = render_markdown(plan, HASH, "p")
    _check_comment(comment, HASH, _must_show(plan))
    assert "**To run (3)**\n- `pipeline.p.step.s0`: changed\n" in comment
    assert '**Resources to change (1)**\n- `stack.s.api`: create (serving "local")\n' in comment
    cut = re.search(r"\n… ([\d,]+) lines cut here …\n", comment)
    assert cut, comment[-2000:]
    assert f"so {cut[1]} of the full plan's 6,004 lines are cut in the middle" in comment
    assert "\n~     params.p0000: 0 -> 111" in comment  # the first lines of the diff
    assert '\n+   stack.s.api  create (serving "local")\n```' in comment  # and the last


def test_when_even_one_line_per_step_does_not_fit_the_comment_says_how_many_are_missing() -> None:
    long_name = "customer_lifetime_value_forecasting_with_seasonal_adjustments"
    plan = _big_plan(10_000, 1, pipeline=long_name)  # 10,000 steps to run, long addresses
    comment = render_markdown(plan, HASH, "churn")
    assert github_length(comment) <= COMMENT_BUDGET
    _marker(comment)
    assert f"Plan hash `{HASH}`" in comment
    listed = sum(f"`{address}`" in comment for address in _must_show(plan))
    missing = int(
        re.search(r"\*\*([\d,]+) of the changes are not listed\*\*", comment)[1].replace(",", "")
    )  # type: ignore[index]
    assert listed + missing == 10_005  # every one listed or counted
    assert github_length(comment) > COMMENT_BUDGET - 200  # as many listed as fit
    assert "**code: steps/features.py, params (10,000)**\n" in comment
    assert f"\n- … and {missing:,} more\n" in comment  # the big group's: the only one cut
    for address in _must_show(plan)[-5:]:  # the small groups are filled first
        assert f"`{address}`" in comment

    # So many reasons that not even their headings fit: the last line counts the rest.
    plan = _big_plan(10_000, 1, own_file=True)
    comment = render_markdown(plan, HASH, "churn")
    assert github_length(comment) <= COMMENT_BUDGET
    assert _marker(comment)["plan_hash"] == HASH
    assert re.search(r"\*\*… and [\d,]+ more, for [\d,]+ other reasons\*\*", comment)


def test_a_summary_comment_is_grouped_from_the_start() -> None:
    plan = _big_plan(100, 10)
    comment = render_markdown(plan, HASH, "churn", summary=True)
    _check_comment(comment, HASH, [s.address for s in plan.to_run] + _must_show(plan))
    assert "[!NOTE]" not in comment and "Full plan" not in comment  # asked for: no note
    assert "**upstream changes (40)**\n- `pipeline.churn_forecast.step.feature_00001`\n" in comment
    assert "**create (1)**\n- `stack.s.api`\n" in comment
    assert "**destroy (1)**\n- `stack.s.legacy`\n" in comment


def test_every_rendering_lists_the_stages_in_the_order_apply_carries_them_out() -> None:
    """A provider's stack resource first (steps may need it), then the steps, the steps to
    remove, the deployments (their models are made by the steps) and what is destroyed."""

    def resource(address: str, kind: str, action: ResourceAction) -> ResourceChange:
        return ResourceChange(address, kind, "t", action, (), (), (), False, None, None, None)

    api = resource("pipeline.p.deployment.api", "serving", ResourceAction.CREATE)
    bucket = resource("stack.s.bucket", "bucket", ResourceAction.CREATE)
    old = resource("stack.s.old", "queue", ResourceAction.DELETE)
    plan = _plan(  # resources by address, as they are planned
        [_step("a", reasons=CHANGED), _step("b", Action.CACHED)],
        (_step("r", Action.REMOVE, (Reason(ReasonKind.REMOVED),)),),
        (api, bucket, old),
    )
    assert [(stage.kind, stage.steps, stage.resources) for stage in plan.stages] == [
        (StageKind.RESOURCES, (), (bucket,)),
        (StageKind.STEPS, plan.steps, ()),
        (StageKind.REMOVALS, plan.removed, ()),
        (StageKind.RESOURCES, (), (api, old)),
    ]
    order = ["stack.s.bucket", "pipeline.p.step.a", "pipeline.p.step.b", "pipeline.p.step.r"]
    order += ["pipeline.p.deployment.api", "stack.s.old"]
    assert [line.subject.strip() for line in plan_lines(plan) if line.indent == 2] == order
    groups = [(g.reason, [a.split(".")[-1] for a, _ in g.members]) for g in summary_groups(plan)]
    assert groups == [
        ("create", ["bucket", "api"]),
        ("changed", ["a"]),
        ("no longer declared", ["r"]),
        ("destroy", ["old"]),
    ]
    comment = render_markdown(plan, HASH, "p")
    headings = [
        "**Resources to change before the steps (1)**\n- `stack.s.bucket`: create",
        "**To run (1)**\n- `pipeline.p.step.a`: changed",
        "**To remove (1)**\n- `pipeline.p.step.r`",
        '**Resources to change (2)**\n- `pipeline.p.deployment.api`: create (serving "t")\n'
        '- `stack.s.old`: destroy (queue "t")\n',
    ]
    found = [comment.find(heading) for heading in headings]
    assert -1 not in found and found == sorted(found), comment
    # The JSON plan keeps its resources by address, as scripts read them.
    addresses = [change["address"] for change in to_document(plan)["resource_changes"]]
    assert addresses == ["pipeline.p.deployment.api", "stack.s.bucket", "stack.s.old"]


def test_the_json_plan_words_values_as_shown_and_reads_back_as_the_same_plan() -> None:
    """The plan keeps full values; its JSON words each side of a diff line as the terminal
    does. Read back (`zenctl show FILE`), that text renders the same and makes the same JSON."""
    other = "fedcba9876543210" * 4
    changes = (
        Change("~", "inputs.x (step.a.outputs.output)", Digest(HASH), Digest(other)),
        Change("~", "params.token", Recorded({"sensitive": "k1"}), Recorded({"sensitive": "k2"})),
        Change("+", "params.lr", after=Recorded(0.01), origin="var.lr"),
        Change("-", "inputs.y", before="source.raw"),
    )
    damaged = Reason(ReasonKind.ARTIFACT_MISSING, outputs=(("model", Digest(HASH)),))
    step = _step("a", reasons=(*CHANGED, damaged), changes=changes)
    model = Change("~", "model", Digest(HASH), Placeholder.UNKNOWN)
    api = ResourceChange(
        "pipeline.p.deployment.api", "serving", "local", ResourceAction.UPDATE, (model,), (),
        (), False, {}, {}, None,
    )  # fmt: skip
    plan = _plan([step], resources=(api,))
    document = to_document(plan)
    (entry,) = document["steps"]
    assert [reason["note"] for reason in entry["reasons"]] == ["", "output model 0123456789"]
    assert [(c["before"], c["after"]) for c in entry["changes"]] == [
        ("0123456789", "fedcba9876"),
        ("(sensitive)", "(sensitive)"),
        (None, "0.01"),
        ("source.raw", None),
    ]
    assert document["resource_changes"][0]["changes"][0]["after"] == "(known after apply)"
    assert step.reasons[1].outputs == (("model", Digest(HASH)),)  # the model keeps it whole

    again = from_document(document)
    assert to_document(again) == document
    assert plan_lines(again) == plan_lines(plan)
    text = [f"{line.symbol} {line.subject}  {line.reason}".rstrip() for line in plan_lines(plan)]
    assert "~ pipeline.p.step.a  run: changed, artifact missing (output model 0123456789)" in text
    assert "~ inputs.x (step.a.outputs.output): 0123456789 -> fedcba9876" in text
    assert "+ params.lr: 0.01 (from var.lr)" in text
    assert "~ model: 0123456789 -> (known after apply)" in text
