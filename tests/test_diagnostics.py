"""Bad input: every problem at once, in Terraform's shape, exit 1, never a traceback."""

from __future__ import annotations

import pytest
from conftest import Project

pytestmark = pytest.mark.stateless  # validate and plan refuse before touching any store


def check(project: Project, hcl: str, *expected: str) -> str:
    project.write("main.zc.hcl", hcl)
    for command in ("validate", "plan"):
        result = project.run(command)
        assert result.code == 1, result.both
        assert "Traceback" not in result.both
        for text in expected:
            assert text in result.err, f"{text!r} not in:\n{result.err}"
    return result.err


def test_syntax_error_names_file_line_and_shows_the_line(project: Project) -> None:
    err = check(
        project,
        'pipeline "demo" {\n  step "a" {\n    run = \n  }\n}\n',
        "Error: Invalid HCL syntax",
        "on main.zc.hcl line 3",
    )
    assert "3:     run =" in err


def test_all_errors_of_a_run_are_reported_together(project: Project) -> None:
    err = check(
        project,
        """
        pipeline "demo" {
          step "a" {
            run    = "steps.pipeline:report"
            inputs = { numbers = step.missing.outputs.output }
            params = { x = var.nope }
          }
          step "b" {
            run   = "steps.pipeline:report"
            colour = "red"
          }
        }
        """.replace("\n        ", "\n"),
        "Error: Reference to undeclared step",
        'No step named "missing" is declared in pipeline "demo".',
        "Error: Reference to undeclared input variable",
        "Error: Unsupported argument",
        'An argument named "colour" is not expected here.',
    )
    assert err.count("Error:") == 3
    assert 'on main.zc.hcl line 5, in pipeline "demo":' in err
    assert "^^^^" in err  # the offending reference is underlined


def test_unknown_reference_suggests_the_closest_name(project: Project) -> None:
    text = (
        (project.root / "main.zc.hcl")
        .read_text()
        .replace(
            "step.prep.outputs.output }\n    params = { factor",
            "step.perp.outputs.output }\n    params = { factor",
        )
    )
    check(project, text, 'Did you mean "prep"?')


def test_cycle_prints_its_path(project: Project) -> None:
    check(
        project,
        """
pipeline "demo" {
  step "a" {
    run    = "steps.pipeline:report"
    inputs = { numbers = step.c.outputs.output }
  }
  step "b" {
    run    = "steps.pipeline:report"
    inputs = { numbers = step.a.outputs.output }
  }
  step "c" {
    run    = "steps.pipeline:report"
    inputs = { numbers = step.b.outputs.output }
  }
}
""",
        "Error: Cycle in step dependencies",
        "step.a → step.b → step.c → step.a",
    )


def test_duplicate_blocks_point_at_both(project: Project) -> None:
    check(
        project,
        'variable "x" {\n  default = 1\n}\nvariable "x" {\n  default = 2\n}\n',
        "Error: Duplicate variable",
        'A variable named "x" was already declared at',
        "on main.zc.hcl line 4",
    )


@pytest.mark.parametrize(
    ("hcl", "expected"),
    [
        ('pipeline "demo" {\n  step "a" {\n    run = 3\n  }\n}\n', 'Inappropriate value for "run"'),
        (
            'pipeline "demo" {\n  step "a" {\n    run = "not a target"\n  }\n}\n',
            '"package.module:function"',
        ),
        (
            'pipeline "demo" {\n  step "a" {\n    params = {}\n  }\n}\n',
            'The argument "run" is required',
        ),
        ('variable "n" {\n  type = number\n  default = "x"\n}\n', "does not match its type number"),
        ('variable "n" {\n  type = numbr\n}\n', "Invalid type specification"),
        (
            'pipeline "demo" {\n  step "a" {\n    run = "m:f"\n'
            "    params = { x = 1 + 2 }\n  }\n}\n",
            "The expression `1 + 2` is not supported",
        ),
        ('pipeline "../etc" {\n}\n', "Invalid name"),
        ('resource "x" {\n}\n', 'Blocks of type "resource" are not expected here'),
        (
            'pipeline "demo" {\n  step "a" {\n    run = "m:f"\n    on = "training"\n  }\n}\n',
            "declares no training component",
        ),
        (
            'pipeline "demo" {\n  step "a" {\n    run = "m:f"\n'
            "    inputs = { x = var.y }\n  }\n}\n",
            "Invalid input reference",
        ),
    ],
)
def test_wrong_values_are_located_and_explained(project: Project, hcl: str, expected: str) -> None:
    check(project, hcl, "on main.zc.hcl line", expected)


def test_missing_source_data_and_module_are_reported_before_running(project: Project) -> None:
    (project.root / "data/raw.txt").unlink()
    text = (
        (project.root / "main.zc.hcl")
        .read_text()
        .replace("steps.pipeline:report", "steps.nowhere:report")
    )
    project.write("main.zc.hcl", text)
    result = project.run("plan")
    assert result.code == 1
    assert "Error: Source data not found" in result.err
    assert "Error: Step module not found" in result.err


def test_required_variable_without_value_and_bad_var_flag(project: Project) -> None:
    project.write("vars.zc.hcl", 'variable "token" {\n  type = string\n}\n')
    result = project.run("plan")
    assert result.code == 1
    assert 'The variable "token" has no default' in result.err
    result = project.run("plan", "--var", "token")
    assert "must be a variable name and value separated by an equals sign" in result.err
    result = project.run("plan", "--var", "token=x", "--var", "factor=abc")
    assert 'variable "factor" from the --var option is not a valid number' in result.err
    assert "('abc' was given)" in result.err
    assert project.run("plan", "--var", "token=x", "--var", "nope=1").code == 1


def test_no_config_files_says_how_to_start(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = Project(tmp_path).run("plan")
    assert result.code == 1
    assert "No *.zc.hcl files" in result.err
    assert "zenctl init" in result.err
