"""The Python API (docs/python-api.md): `zenctl.load`, `zenctl.runs`, `zenctl.metrics` and
`zenctl.plan` read what the command line recorded, change nothing, and fail with the command
line's words; and the notebook of examples/iris, run in a real Jupyter kernel, shows the model
it loads."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import Project

import zenctl
from zenctl.plan.model import Action, Plan, ReasonKind
from zenctl.render.history_json import RUN_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "iris"
WEIGHTS = {"weights": [2.5, 4.5, 6.5, 8.5, 10.5]}  # the fixture's train step, factor 2


def test_import_zenctl_imports_nothing_more() -> None:
    """Every command starts with `import zenctl`: the API is imported on first use only."""
    code = (
        "import sys, zenctl\n"
        "print(sorted(name for name in sys.modules if name.startswith('zenctl')))\n"
        "print(sorted(set(dir(zenctl)) & set(zenctl.__all__)))\n"
        "import zenctl.plan.model\n"  # the plan stage's package first, as a command imports it
        "print('zenctl.api' in sys.modules)\n"
        "print(zenctl.plan.__module__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.splitlines() == [
        "['zenctl']",
        "['ZenctlError', 'load', 'metrics', 'plan', 'runs']",
        "False",
        "zenctl.api",  # zenctl.plan is the API's function, not the plan stage's package
    ]


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'lod'"):
        zenctl.lod  # noqa: B018


def test_load_returns_the_value_the_next_step_gets(project: Project) -> None:
    assert project.apply().code == 0
    for address in (
        "train",
        "train.output",
        "step.train.outputs.output",
        "pipeline.demo.step.train",
        "pipeline.demo.step.train.outputs.output",
    ):
        assert zenctl.load(address, path=project.root) == WEIGHTS, address
    assert zenctl.load("report", path=project.root) == "5 numbers, max 5"


def test_load_finds_the_project_in_the_current_folder(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert project.apply().code == 0
    monkeypatch.chdir(project.root)
    assert zenctl.load("prep") == [1, 2, 3, 4, 5]


def test_load_unpickles_a_class_of_the_project(project: Project) -> None:
    """An object of a class the steps define is loaded with the project's modules importable,
    as a step gets it; and the process's import path is left as it was."""
    project.write(
        "steps/model.py",
        """
        class Model:
            def __init__(self, weight):
                self.weight = weight


        def fit():
            return Model(3)
        """,
    )
    with (project.root / "main.zc.hcl").open("a") as main:
        main.write('pipeline "custom" {\n  step "fit" {\n    run = "steps.model:fit"\n  }\n}\n')
    assert project.apply().code == 0
    path = list(sys.path)
    try:
        assert zenctl.load("fit", path=project.root).weight == 3
    finally:
        for name in [name for name in sys.modules if name == "steps" or name.startswith("steps.")]:
            del sys.modules[name]  # the next test's project has its own `steps`
    assert sys.path == path


def test_load_of_a_directory_is_a_path_to_a_fresh_copy(project: Project) -> None:
    project.write(
        "steps/folder.py",
        """
        import tempfile
        from pathlib import Path


        def weights():
            out = Path(tempfile.mkdtemp())
            (out / "weights.bin").write_bytes(b"0123")
            return out
        """,
    )
    project.write(
        "main.zc.hcl",
        'pipeline "d" {\n  step "weights" {\n    run = "steps.folder:weights"\n  }\n}\n',
    )
    assert project.apply().code == 0
    first = zenctl.load("weights", path=project.root)
    assert (first / "weights.bin").read_bytes() == b"0123" and first.name == "output"
    (first / "weights.bin").write_bytes(b"changed")  # the caller's copy: the store's is intact
    second = zenctl.load("weights", path=project.root)
    assert (second / "weights.bin").read_bytes() == b"0123"
    for copy in (first, second):
        shutil.rmtree(copy.parent)


def test_load_of_a_workspace(project: Project) -> None:
    assert project.apply().code == 0
    assert project.run("workspace", "new", "scaled").code == 0
    assert project.apply("--var", "factor=3").code == 0
    assert zenctl.load("features", path=project.root) == [3, 6, 9, 12, 15]
    assert zenctl.load("features", path=project.root, workspace="default") == [2, 4, 6, 8, 10]
    with pytest.raises(zenctl.ZenctlError, match='not run in workspace "empty" yet'):
        zenctl.load("features", path=project.root, workspace="empty")


def test_load_at_a_revision(project: Project) -> None:
    """`rev=` reads the value a run, or another workspace, left: as `zenctl metrics show`
    resolves its target."""
    assert project.apply().code == 0
    assert project.apply("--var", "factor=3").code == 0
    latest, first = zenctl.runs(path=project.root)["id"]
    assert zenctl.load("features", path=project.root) == [3, 6, 9, 12, 15]
    assert zenctl.load("features", path=project.root, rev=first) == [2, 4, 6, 8, 10]
    assert zenctl.load("features", path=project.root, rev=f"run:{latest[:8]}") == [3, 6, 9, 12, 15]
    assert project.run("workspace", "new", "other").code == 0
    assert zenctl.load("prep", path=project.root, rev="default") == [1, 2, 3, 4, 5]
    with pytest.raises(zenctl.ZenctlError, match='has not run in workspace "other" yet'):
        zenctl.load("prep", path=project.root)
    with pytest.raises(zenctl.ZenctlError) as unknown:
        zenctl.load("prep", path=project.root, rev="nowhere")
    assert unknown.value.diagnostics[0].summary.startswith('"nowhere" is not a known ')


def test_load_says_what_is_wrong_with_the_command_lines_words(project: Project) -> None:
    with pytest.raises(zenctl.ZenctlError) as nothing_yet:
        zenctl.load("train", path=project.root)
    assert str(nothing_yet.value) == (
        "No output recorded for pipeline.demo.step.train\n"
        'The step has not run in workspace "default" yet (or was removed). Run `zenctl apply` '
        "first; `zenctl show pipeline.demo.step.train` shows its history."
    )
    assert project.apply().code == 0
    with pytest.raises(zenctl.ZenctlError, match='did you mean "train"') as typo:
        zenctl.load("trian", path=project.root)
    assert typo.value.diagnostics[0].summary == "No such step output"
    with pytest.raises(zenctl.ZenctlError) as no_such:
        zenctl.load("train.model", path=project.root)
    assert str(no_such.value) == (
        "pipeline.demo.step.train has no output 'model'\nIts outputs are: train.output."
    )
    with pytest.raises(zenctl.ZenctlError, match="Project folder not found"):
        zenctl.load("train", path=project.root / "nowhere")
    with pytest.raises(zenctl.ZenctlError, match="Invalid workspace name"):
        zenctl.load("train", path=project.root, workspace="no/slash")


def test_a_step_of_several_outputs_needs_one_named(project: Project) -> None:
    project.write(
        "main.zc.hcl",
        """
        pipeline "a" {
          step "split" {
            run     = "steps.split:split"
            outputs = ["left", "right"]
          }
        }

        pipeline "b" {
          step "split" {
            run     = "steps.split:split"
            outputs = ["left", "right"]
          }
        }
        """,
    )
    project.write("steps/split.py", "def split():\n    return {'left': 1, 'right': 2}\n")
    assert project.apply().code == 0
    assert zenctl.load("pipeline.b.step.split.outputs.right", path=project.root) == 2
    with pytest.raises(zenctl.ZenctlError) as ambiguous:
        zenctl.load("split.left", path=project.root)
    assert str(ambiguous.value) == (
        "More than one step is named 'split'\nPipelines a, b each have one. Give the pipeline "
        "too: pipeline.a.step.split.outputs.left or pipeline.b.step.split.outputs.left."
    )
    with pytest.raises(zenctl.ZenctlError) as several:
        zenctl.load("pipeline.a.step.split", path=project.root)
    assert str(several.value) == (
        "pipeline.a.step.split has 2 outputs\nName one: split.left, split.right."
    )


def test_load_refuses_a_damaged_artifact(project: Project) -> None:
    assert project.apply().code == 0
    digest = json.loads(
        project.sql(
            "SELECT outputs FROM step_executions WHERE address = :a", a="pipeline.demo.step.train"
        )[0][0]
    )["output"]["hash"]
    stored = project.root / ".zenctl" / "artifacts" / "objects" / digest[:2] / digest
    stored.write_text('{"weights": [0]}')
    with pytest.raises(zenctl.ZenctlError, match="is corrupt") as damaged:
        zenctl.load("train", path=project.root)
    assert str(damaged.value).startswith(
        "The output pipeline.demo.step.train.outputs.output cannot be read\n"
    )


def test_runs_is_the_workspaces_history_as_a_table(project: Project) -> None:
    empty = zenctl.runs(path=project.root)
    assert list(empty.columns) == list(RUN_COLUMNS) and len(empty) == 0
    assert project.apply().code == 0
    assert project.apply("--var", "factor=3").code == 0
    table = zenctl.runs(path=project.root)
    assert list(table.columns)[: len(RUN_COLUMNS)] == list(RUN_COLUMNS)
    assert list(table["ran"]) == [3, 5]  # newest first: factor changed features and after
    assert list(table["status"]) == ["succeeded", "succeeded"]
    assert (table["finished_at"] > table["started_at"]).all()  # times, not text
    assert list(zenctl.runs(path=project.root, limit=1)["id"]) == [table["id"][0]]
    assert len(zenctl.runs(path=project.root, workspace="other")) == 0


def test_runs_has_the_experiments_tables_params_and_where_sort(project: Project) -> None:
    assert project.apply().code == 0
    assert project.apply("--var", "factor=3").code == 0
    table = zenctl.runs(path=project.root)
    assert list(table.columns)[: len(RUN_COLUMNS)] == list(RUN_COLUMNS)
    assert {"params.factor", "params.bias", "params.verbose"} <= set(table.columns)
    assert list(table["params.factor"]) == [3, 2]  # newest first, as `zenctl runs`
    assert list(zenctl.runs(path=project.root, sort="params.factor")["params.factor"]) == [2, 3]
    picked = zenctl.runs(path=project.root, where=["params.factor=3"])
    assert list(picked["id"]) == [table["id"][0]]
    with pytest.raises(zenctl.ZenctlError, match=r"params\.nope"):
        zenctl.runs(path=project.root, where=["params.nope=1"])


def test_runs_without_pandas_are_records(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    assert project.apply().code == 0
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if it were not installed
    records = zenctl.runs(path=project.root)
    assert isinstance(records, list) and len(records) == 1
    assert list(records[0])[: len(RUN_COLUMNS)] == list(RUN_COLUMNS)
    assert records[0]["params.factor"] == 2
    assert records[0]["ran"] == 5 and records[0]["started_at"].endswith("Z")
    json.dumps(records)  # plain values


SCORED = """
variable "x" {
  type    = number
  default = 1
}

pipeline "m" {
  step "score" {
    run     = "steps.score:score"
    params  = { x = var.x }
    metrics = ["output"]
  }
}
"""


def test_metrics_is_a_table_of_what_steps_recorded(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write("main.zc.hcl", SCORED)
    project.write(
        "steps/score.py", "def score(x):\n    return {'accuracy': x / 10, 'note': 'ok'}\n"
    )
    assert len(zenctl.metrics(path=project.root)) == 0  # nothing recorded yet
    assert project.apply().code == 0
    assert project.apply("--var", "x=2").code == 0
    table = zenctl.metrics(path=project.root)
    assert table.to_dict("records") == [
        {"address": "pipeline.m.step.score", "output": "output", "name": "accuracy", "value": 0.2},
        {"address": "pipeline.m.step.score", "output": "output", "name": "note", "value": "ok"},
    ]
    first = zenctl.runs(path=project.root)["id"][1]
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if it were not installed
    assert zenctl.metrics(path=project.root, rev=first)[0] == {
        "address": "pipeline.m.step.score",
        "output": "output",
        "name": "accuracy",
        "value": 0.1,
    }


def test_plan_is_data_and_writes_no_state(project: Project) -> None:
    first = zenctl.plan(path=project.root)
    assert isinstance(first, Plan) and len(first.to_run) == 5
    assert not (project.root / ".zenctl" / "metadata.db").exists()  # as `zenctl plan`: none made
    assert project.apply().code == 0
    state = project.root / ".zenctl" / "metadata.db"
    before = hashlib.sha256(state.read_bytes()).hexdigest()
    assert zenctl.plan(path=project.root).to_run == []
    changed = zenctl.plan(path=project.root, vars={"factor": 3})
    assert [step.step for step in changed.to_run] == ["features", "train", "evaluate"]
    features = changed.to_run[0]
    assert features.action is Action.RUN and features.reasons[0].kind is ReasonKind.CHANGED
    assert [(c.path, c.before.value, c.after.value) for c in features.changes] == [  # type: ignore[union-attr]
        ("params.factor", 2, 3)
    ]
    assert hashlib.sha256(state.read_bytes()).hexdigest() == before
    assert project.sql("SELECT COUNT(*) FROM runs") == [(1,)]


def test_plan_refuses_bad_variables_with_the_command_lines_words(project: Project) -> None:
    with pytest.raises(zenctl.ZenctlError, match='A variable named "factr" was assigned in vars='):
        zenctl.plan(path=project.root, vars={"factr": 3})
    with pytest.raises(zenctl.ZenctlError) as wrong:
        zenctl.plan(path=project.root, vars={"factor": "three"})
    assert str(wrong.value).startswith("Invalid value for variable (on main.zc.hcl line 1)\n")
    assert 'The value of variable "factor" from vars= is not a valid number' in str(wrong.value)


@pytest.mark.slow
def test_the_example_notebook_shows_the_model_it_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """examples/iris/explore.ipynb, after an apply through the command line, executed by
    nbclient in a real IPython kernel: it loads the trained model, scores it, and reads the
    runs and a plan."""
    import nbclient
    import nbformat

    shutil.copytree(EXAMPLE, tmp_path / "iris", ignore=shutil.ignore_patterns(".zenctl"))
    project = Project(tmp_path / "iris")
    # the deployment is left out: the model server would outlive the test
    applied = project.apply("--exclude", "pipeline.iris.deployment.iris")
    assert "Apply complete! 5 ran" in applied.out, applied.both
    # A kernel of this Python that imports this zenctl, whatever kernels the machine has.
    imports = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    spec = tmp_path / "jupyter" / "kernels" / "zenctl"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "zenctl under test",
                "language": "python",
                "env": {"PYTHONPATH": os.pathsep.join(imports)},
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    notebook = nbformat.read(project.root / "explore.ipynb", as_version=4)
    nbclient.NotebookClient(
        notebook,
        timeout=120,
        kernel_name="zenctl",
        resources={"metadata": {"path": str(project.root)}},  # the kernel's current folder
    ).execute()
    printed = [
        "".join(output.get("text", "") for output in cell.outputs)
        for cell in notebook.cells
        if cell.cell_type == "code"
    ]
    assert printed[0] == "Pipeline ['scale', 'classify']\n"
    scored = re.fullmatch(r"accuracy (\d\.\d+) on 30 held-out rows\n", printed[1])
    assert scored and float(scored.group(1)) > 0.8, printed[1]
    assert printed[2] == f"recorded accuracy {scored.group(1)}\n"
    assert printed[3] == "1 run(s), the last succeeded: 5 ran, 0 cached\n"
    table = notebook.cells[-2].outputs[-1]  # the runs table, as the notebook shows it
    assert table.output_type == "execute_result" and "<table" in table.data["text/html"]
    assert printed[4] == "with C=0.5, apply would run: train, evaluate\n"


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda root: zenctl.load(None, path=root), "0"),  # type: ignore[arg-type]
        (lambda root: zenctl.load("train", rev=123, path=root), "rev"),  # type: ignore[arg-type]
        (lambda root: zenctl.runs(limit="2", path=root), "limit"),  # type: ignore[arg-type]
        (lambda root: zenctl.runs(limit=0, path=root), "limit"),
        (lambda root: zenctl.runs(where="params.lr>1", path=root), "where"),
        (lambda root: zenctl.runs(sort=["-ran"], path=root), "sort"),  # type: ignore[arg-type]
        (lambda root: zenctl.plan(vars=["a"], path=root), "vars"),  # type: ignore[arg-type]
    ],
)
def test_an_argument_of_the_wrong_type_is_refused_at_the_call_naming_it(
    project: Project, call: Any, argument: str
) -> None:
    with pytest.raises(ValueError, match=rf"validation error for \w+\n{argument}\n"):
        call(project.root)
