"""`zenctl report`: one HTML file, opened in headless Chromium as a person opens it from CI
artifacts: it loads with no console error, draws one box per step with the status a fresh plan
and the last apply give it, one timeline bar per step that ran, and fetches nothing."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import MAIN, PIPELINE_STEPS, Project
from test_plan_apply import apply_with_failing_train

ADDR = "pipeline.demo.step."
STEPS = ("prep", "features", "train", "evaluate", "report")
ARTIFACTS = Path(
    os.environ.get("ZENCTL_TEST_ARTIFACTS") or Path(__file__).parents[1] / "test-artifacts"
)
# Debian's package (CI installs it, .ci/run); playwright drives it, downloading no browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def write_report(project: Project, *args: str) -> str:
    out = project.root / "out" / "report.html"
    out.parent.mkdir(exist_ok=True)
    result = project.run("report", "-o", str(out), *args)
    assert result.code == 0, result.both
    assert f"Wrote the report to {out}" in result.out
    return out.read_text()


def step_classes(html: str) -> dict[str, str]:
    """`{step name: its status}` from the graph's boxes."""
    found = re.findall(rf'class="step status-([\w-]+)" data-step="{re.escape(ADDR)}(\w+)"', html)
    return {name: status for status, name in found}


def test_statuses_after_a_failed_apply_and_a_param_change(project: Project) -> None:
    apply_with_failing_train(project)
    html = write_report(project, "--var", "factor=3")
    assert step_classes(html) == {
        "prep": "cached",
        "features": "run",  # params.factor: 2 -> 3
        "train": "failed",  # in the last apply; it runs again
        "evaluate": "run",  # skipped in the last apply: never ran
        "report": "cached",
    }
    assert "~ params.factor: 2 -&gt; 3" in html  # the box's tooltip says why
    assert "failed, will run" in html and "failed in the last apply" in html
    assert "ValueError: the model diverged" in html


def test_no_apply_yet_is_a_report_that_says_so(project: Project) -> None:
    html = write_report(project)
    assert set(step_classes(html).values()) == {"run"}
    assert "No apply recorded yet" in html
    assert "nothing applied yet" in html
    assert not (project.root / ".zenctl" / "metadata.db").exists()  # a report creates no store


def test_after_an_apply_every_step_is_cached_with_its_row_in_the_timeline(
    project: Project,
) -> None:
    project.apply()
    project.apply()  # nothing to do: no run recorded, the timeline stays the first apply's
    html = write_report(project)
    assert set(step_classes(html).values()) == {"cached"}
    assert sorted(re.findall(rf'data-execution="{re.escape(ADDR)}(\w+)"', html)) == sorted(STEPS)
    assert "No metrics recorded in these runs." in html


def test_metrics_of_each_apply_are_charted_oldest_first(project: Project) -> None:
    project.write(
        "main.zc.hcl",
        MAIN.replace(
            "numbers = step.prep.outputs.output }\n  }",
            'numbers = step.prep.outputs.output }\n    metrics = ["output"]\n  }',
            1,
        ),
    )
    for factor in ("2", "3", "4"):
        assert project.apply("--var", f"factor={factor}").code == 0
    html = write_report(project, "--var", "factor=4", "--runs", "2")
    data = json.loads(
        re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html)[1]
    )
    # evaluate's score: sum((x * factor + 0.5) for 1..5) / 5 = 3 * factor + 0.5
    assert data["metrics"]["series"] == {f"{ADDR}evaluate output.score": [9.5, 12.5]}
    assert len(data["metrics"]["runs"]) == 2  # --runs 2: the last two applies
    assert f'data-series="{ADDR}evaluate output.score"' in html


def test_a_variable_without_a_value_gives_a_report_without_a_plan(project: Project) -> None:
    project.write("main.zc.hcl", MAIN.replace("default = 2", 'description = "scale"'))
    out = project.root / "report.html"
    result = project.run("report", "--out", str(out))
    assert result.code == 0, result.both
    assert "Warning: The report has no plan" in result.err
    html = out.read_text()
    assert set(step_classes(html).values()) == {"unplanned"}
    assert "No plan could be made: " in html and "factor" in html


def test_user_strings_are_escaped_and_secrets_never_shown(project: Project) -> None:
    attack = "</script><script>alert(1)</script>"
    project.write(
        "steps/pipeline.py",
        PIPELINE_STEPS.replace(
            "verbose: bool = False", "verbose: bool = False, note: str = ''"
        ).replace("bias: float", "bias: float, token: str = ''"),
    )
    project.write(
        "main.zc.hcl",
        MAIN.replace(
            "params = { verbose = false }", f'params = {{ verbose = false, note = "{attack}" }}'
        )
        .replace(
            'variable "factor" {',
            'variable "token" {\n  type      = string\n  sensitive = true\n}\n\n'
            'variable "factor" {',
        )
        .replace("params = { bias = 0.5 }", "params = { bias = 0.5, token = var.token }"),
    )
    html = write_report(project, "--var", "token=hunter2-very-secret", "-runs", "5")
    assert "hunter2" not in html
    assert "<script>alert(1)" not in html
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the params table
    assert html.count("<script") == 3  # the page's data, Chart.js and its own: no other
    assert html.count("(sensitive)") == 2  # the param and the variable


def test_the_page_fetches_nothing(project: Project) -> None:
    project.apply()
    html = write_report(project)
    without_comments = re.sub(r"/\*.*?\*/|<!--.*?-->", "", html, flags=re.DOTALL)
    assert not re.search(r"https?://", without_comments)
    assert not re.search(r"<(script|link|img|iframe)[^>]*\b(src|href)=", html)
    assert "default-src 'none'" in html  # the browser refuses any request too


@pytest.mark.parametrize(
    ("command", "where", "said"),
    [
        (["report", "-out"], "nowhere/report.html", "No such file or directory: create its folder"),
        (["report", "--out"], "", "is a folder: give a file name in it"),
        (["plan", "-out"], "nowhere/p.plan", "No such file or directory: create its folder"),
        (["plan", "--out"], "", "is a folder: give a file name in it"),
        (["state", "export"], "", "is a folder: give a file name in it"),
    ],
)
def test_an_output_file_that_cannot_be_written_is_a_clear_error(
    project: Project, command: list[str], where: str, said: str
) -> None:
    project.apply()
    result = project.run(*command, str(project.root / where))
    assert result.code == 1, result.both
    assert "Cannot write the" in result.err and said in " ".join(result.err.split())
    assert "Traceback" not in result.both and "crashed" not in result.both


@pytest.fixture
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.skip("no chromium on PATH: install Debian's `chromium` package (CI does)")
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def test_chromium_draws_the_report_with_no_errors(project: Project, browser: Any) -> None:
    apply_with_failing_train(project)
    write_report(project, "--var", "factor=3")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto((project.root / "out" / "report.html").as_uri())
    page.wait_for_function("window.zenctlReport !== undefined")
    assert errors == []
    assert requests == [(project.root / "out" / "report.html").as_uri()]  # the page itself only

    assert page.locator("[data-step]").count() == len(STEPS)
    for name, status in (("train", "failed"), ("features", "run"), ("prep", "cached")):
        assert "status-" + status in page.locator(f'[data-step="{ADDR}{name}"]').get_attribute(
            "class"
        )
    # the last apply ran all but evaluate (skipped after train failed): one bar each, as drawn
    bars = page.evaluate("window.zenctlReport.timeline.getDatasetMeta(0).data.length")
    labels = page.evaluate("window.zenctlReport.timeline.data.labels")
    assert bars == 4 and set(labels) == {f"{ADDR}{name}" for name in STEPS} - {f"{ADDR}evaluate"}

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "report.png", full_page=True)
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000


def test_layers_put_each_edge_between_neighbouring_layers() -> None:
    from zenctl.graph.layout import Waypoint, layers

    parents = {"raw": (), "prep": ("raw",), "train": ("prep",), "eval": ("train", "prep", "raw")}
    found = layers(parents)
    assert [[s for s in layer if isinstance(s, str)] for layer in found] == [
        ["raw"],
        ["prep"],
        ["train"],
        ["eval"],
    ]
    layer_of = {slot: index for index, layer in enumerate(found) for slot in layer}
    # prep -> eval crosses train's layer, raw -> eval two layers: one waypoint in each
    assert layer_of[Waypoint("prep", "eval", 2)] == 2
    assert [layer_of[Waypoint("raw", "eval", n)] for n in (1, 2)] == [1, 2]
    assert len(layer_of) == 4 + 3
    assert layers(parents) == found  # the same picture every time


def test_metrics_are_line_charts_across_runs(tmp_path: Path, browser: Any) -> None:
    from zenctl.render.report_html import ReportData, RunMetrics, render_report
    from zenctl.state.records import Run

    def run(n: int, values: dict[str, float]) -> RunMetrics:
        recorded = Run(f"run{n}-0000", "default", "succeeded", 1.7e9 + n * 60, None, None, None,
                       "0.1.0", None, None, {})  # fmt: skip
        return RunMetrics(recorded, values)

    score, loss = "pipeline.demo.step.evaluate metrics.score", "pipeline.demo.step.train <loss>"
    metrics = [run(1, {score: 0.5}), run(2, {score: 0.75, loss: 2.0}), run(3, {loss: 1.5})]
    page_file = tmp_path / "report.html"
    page_file.write_text(
        render_report(
            ReportData("demo", "default", 1.7e9, [], None, "no store", None, [], {}, metrics)
        )
    )
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(page_file.as_uri())
    page.wait_for_function("window.zenctlReport !== undefined")
    assert errors == []
    drawn = page.evaluate(
        "window.zenctlReport.metrics.map(c => [c.options.plugins.title.text, "
        "c.data.datasets[0].data])"
    )
    # one chart a series, one point a run: a run without the metric leaves a gap
    assert drawn == [[score, [0.5, 0.75, None]], [loss, [None, 2.0, 1.5]]]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "report-metrics.png", full_page=True)
