"""HCL expressions everywhere a value is written, through the CLI as a user meets them:
params computed from variables, locals and functions reach the step as their value, the
plan says which expression a changed value came from, what an expression reads (files
included) is in the step's key, and every failure is located, never a Python error."""

from __future__ import annotations

import json
import textwrap

import pytest
from conftest import Project

ECHO_STEP = '''
import json
from pathlib import Path


def echo(**params):
    """Keep what the step was given, exactly, for the test to read."""
    (Path(__file__).parents[1] / "received.json").write_text(json.dumps(params, sort_keys=True))
    return params
'''

VARIABLES = """
variable "base" {
  type    = number
  default = 0.01
}

variable "layers" {
  type    = list(number)
  default = [64, 32]
}

variable "env" {
  type    = string
  default = "dev"
  validation {
    condition     = contains(["dev", "prod"], var.env) && length(var.env) <= 4
    error_message = "env is dev or prod."
  }
}

variable "token" {
  type      = string
  sensitive = true
  default   = "tok-SECRET-4242"
}
"""


def _project(project: Project, params: str, extra: str = "") -> None:
    project.write("steps/echo.py", ECHO_STEP)
    project.write("vars.zc.hcl", VARIABLES)
    project.write(
        "main.zc.hcl",
        textwrap.dedent(extra)
        + 'pipeline "demo" {\n  step "train" {\n    run    = "steps.echo:echo"\n'
        f"    params = {textwrap.indent(textwrap.dedent(params).strip(), '    ').strip()}\n"
        "  }\n}\n",
    )


def _received(project: Project, *args: str) -> dict[str, object]:
    result = project.apply(*args)
    assert result.code == 0, result.both
    received: dict[str, object] = json.loads((project.root / "received.json").read_text())
    return received


def test_locals_functions_and_operators_reach_the_step_as_values(project: Project) -> None:
    _project(
        project,
        """
        {
          lr         = var.base * 2
          hidden     = [for n in var.layers : n * 2 if n > 40]
          width      = max(var.layers...)
          name       = "${local.prefix}-${upper(var.env)}"
          exact      = 0.1 + 0.2 == 0.3
          half       = 7 / 2
          whole      = 6 / 2
          config     = local.config
          first_name = local.people[*].name
        }
        """,
        """
        locals {
          prefix = "run"
          people = [{ name = "ada" }, { name = "alan" }]
          config = merge({ optimizer = "adam" }, { epochs = length(var.layers) * 5 })
        }
        """,
    )
    received = _received(project)
    assert received == {
        "lr": 0.02,
        "hidden": [128],
        "width": 64,
        "name": "run-DEV",
        "exact": True,
        "half": 3.5,
        "whole": 3,
        "config": {"epochs": 10, "optimizer": "adam"},
        "first_name": ["ada", "alan"],
    }
    again = project.run("plan", "--detailed-exitcode")
    assert again.code == 0, again.both  # nothing changed: every step cached


def test_the_plan_names_the_expression_a_changed_value_came_from(project: Project) -> None:
    _project(project, "{\n  lr = var.base * 2\n  env = var.env\n}")
    assert project.apply().code == 0
    plan = project.run("plan", "--var", "base=0.05", "--var", "env=prod")
    assert plan.code == 0, plan.both
    assert "~ params.lr: 0.02 -> 0.1 (from var.base * 2)" in plan.out
    assert '~ params.env: "dev" -> "prod" (from var.env)' in plan.out
    document = json.loads(project.run("plan", "--json", "--var", "base=0.05").out)
    (step,) = document["steps"]
    (change,) = step["changes"]
    assert change["origin"] == "var.base * 2" and change["after"] == "0.1"


def test_a_file_a_local_reads_is_in_the_key(project: Project) -> None:
    """`yamldecode(file("params.yaml"))`, DVC's params file: editing the file re-runs the step,
    even though no .hcl file changed (the config cache must not keep the old value)."""
    project.write("params.yaml", "train:\n  lr: 0.1\n  epochs: 3\n")
    _project(
        project,
        "local.params.train",
        'locals {\n  params = yamldecode(file("params.yaml"))\n}\n',
    )
    assert _received(project) == {"epochs": 3, "lr": 0.1}
    assert project.run("plan", "--detailed-exitcode").code == 0
    project.write("params.yaml", "train:\n  lr: 0.2\n  epochs: 3\n")
    plan = project.run("plan", "--detailed-exitcode")
    assert plan.code == 2, plan.both
    assert "~ params.lr: 0.1 -> 0.2" in plan.out
    assert _received(project) == {"epochs": 3, "lr": 0.2}


def test_a_secret_read_through_a_local_stays_secret(project: Project) -> None:
    _project(
        project,
        "{\n  header = local.auth\n}",
        'locals {\n  auth = "Bearer ${var.token}"\n}\n',
    )
    received = _received(project)
    assert received == {"header": "Bearer tok-SECRET-4242"}
    for args in (
        ("plan", "--var", "token=tok-OTHER-1111"),
        ("plan", "--json", "--var", "token=tok-OTHER-1111"),
        ("show", "pipeline.demo.step.train"),
    ):
        result = project.run(*args)
        assert result.code == 0, result.both
        assert "tok-SECRET-4242" not in result.both and "tok-OTHER-1111" not in result.both
    changed = project.run("plan", "--var", "token=tok-OTHER-1111")
    assert "~ params.header: (sensitive) -> (sensitive)" in changed.out


@pytest.mark.parametrize(
    ("params", "summary", "detail"),
    [
        ("{\n  lr = var.base / (var.base - var.base)\n}", "Division by zero", "is zero"),
        ("{\n  first = var.layers[5]\n}", "Invalid index", "out of range"),
        ("{\n  n = true ? 1 : [1]\n}", "Inconsistent conditional result types", "a list"),
        ("{\n  n = local.nope\n}", "Reference to undeclared local value", '"nope"'),
        ("{\n  n = uppper(var.env)\n}", "Call to unknown function", 'Did you mean "upper"?'),
        ("{\n  n = {var.env = 1}\n}", "Ambiguous attribute key", "wrap it in parentheses"),
        ("{\n  n = step.other.outputs.x * 2\n}", "Invalid reference", "through inputs"),
    ],
)
def test_what_an_expression_cannot_do_is_a_located_error(
    project: Project, params: str, summary: str, detail: str
) -> None:
    _project(project, params)
    result = project.run("plan")
    assert result.code == 1, result.both
    assert "Traceback" not in result.both
    assert f"Error: {summary}" in result.err
    assert detail in result.err
    assert "on main.zc.hcl line 5" in result.err


def test_locals_that_read_each_other_in_a_loop_are_refused(project: Project) -> None:
    _project(project, "{\n  n = local.a\n}", "locals {\n  a = local.b + 1\n  b = local.a\n}\n")
    result = project.run("validate")
    assert result.code == 1, result.both
    assert "Error: Cycle in local values" in result.err
    assert "local.a -> local.b -> local.a" in result.err or "local.b -> local.a" in result.err


def test_defaults_settings_and_validations_use_the_same_evaluator(project: Project) -> None:
    _project(project, "{\n  sizes = var.sizes\n}")
    project.write(
        "more.zc.hcl",
        'variable "sizes" {\n  default = [for n in range(3) : pow(2, n)]\n}\n',
    )
    assert _received(project) == {"sizes": [1, 2, 4]}
    refused = project.run("plan", "--var", "env=staging")
    assert refused.code == 1
    assert "env is dev or prod." in refused.err
    project.write("more.zc.hcl", 'variable "sizes" {\n  default = [var.base]\n}\n')
    bad_default = project.run("validate")
    assert bad_default.code == 1
    assert "Variables not allowed" in bad_default.err


def test_a_default_that_reads_a_file_is_refused_not_a_crash(project: Project) -> None:
    project.write("note.txt", "hello\n")
    _project(project, "{\n  n = 1\n}")
    project.write("more.zc.hcl", 'variable "c" {\n  default = file("note.txt")\n}\n')
    for command in ("validate", "plan"):
        result = project.run(command)
        assert result.code == 1, result.both
        assert "Traceback" not in result.both and "crashed" not in result.both
        assert "Error: Variables not allowed" in result.err
        assert "on more.zc.hcl line 2" in result.err


def test_params_from_a_map_variable_or_a_local_are_checked_at_plan(project: Project) -> None:
    project.write("data/raw.txt", "x\n")
    _project(project, "var.settings")
    project.write(
        "more.zc.hcl",
        'variable "settings" {\n  type    = map(number)\n  default = { lr = 0.5 }\n}\n',
    )
    assert _received(project) == {"lr": 0.5}
    plan = project.run("plan", "--var", "settings={ lr = 0.25 }")
    assert "~ params.lr: 0.5 -> 0.25 (from var.settings)" in plan.out, plan.both
    # a key of the map that is also an input's name: refused, not silently shadowed
    main = (project.root / "main.zc.hcl").read_text()
    project.write(
        "main.zc.hcl",
        main.replace(
            'pipeline "demo" {',
            'pipeline "demo" {\n  source "raw" {\n    path = "data/raw.txt"\n  }',
        ).replace(
            "params = var.settings", "inputs = { lr = source.raw }\n    params = var.settings"
        ),
    )
    clash = project.run("plan")
    assert clash.code == 1, clash.both
    assert "Error: Input and param share a name" in clash.err
    assert "passes lr both as an input and as a param" in clash.err
    project.write("main.zc.hcl", main.replace("params = var.settings", "params = [1, 2]"))
    listed = project.run("validate")
    assert listed.code == 1
    assert 'Inappropriate value for "params": a map is required' in listed.err
    assert "dict[" not in listed.err and "json-or-python" not in listed.err


def test_a_validation_condition_may_read_a_local(project: Project) -> None:
    _project(project, "{\n  env = var.env\n}", "locals {\n  longest = 4\n}\n")
    vars_hcl = (project.root / "vars.zc.hcl").read_text()
    project.write("vars.zc.hcl", vars_hcl.replace("<= 4", "<= local.longest"))
    assert project.run("plan").code == 0
    refused = project.run("plan", "--var", "env=production")
    assert refused.code == 1
    assert "env is dev or prod." in refused.err


def test_a_broken_local_is_one_error_not_one_per_reader(project: Project) -> None:
    _project(
        project,
        "{\n  a = local.name\n  b = local.name\n}",
        'locals {\n  name = uper("x")\n}\n',
    )
    result = project.run("validate")
    assert result.code == 1
    assert result.err.count("Error:") == 1, result.err
    assert 'Did you mean "upper"?' in result.err


def test_templatefile_reads_only_the_variables_it_is_given(project: Project) -> None:
    project.write("greeting.tftpl", "hello ${name} in ${var.env}\n")
    _project(project, '{\n  text = templatefile("greeting.tftpl", { name = "ada" })\n}')
    result = project.run("plan")
    assert result.code == 1, result.both
    assert "Traceback" not in result.both
    assert "env" in result.err and "greeting.tftpl" in result.err
    project.write("greeting.tftpl", "hello ${name}\n")
    assert _received(project) == {"text": "hello ada\n"}
