"""Bad input: every problem at once, in Terraform's shape, exit 1, never a traceback."""

from __future__ import annotations

import pytest
from conftest import Project


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
            '    params = { x = 1 + "two" }\n  }\n}\n',
            "Unsuitable value for right operand: a number is required, got a string",
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


# -- caught before anything runs ------------------------------------------------------------------


def edit(project: Project, old: str, new: str) -> str:
    """The project's main.zc.hcl with one edit, written back; returns the new text."""
    text = (project.root / "main.zc.hcl").read_text()
    assert old in text
    return project.write("main.zc.hcl", text.replace(old, new, 1)).read_text()


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def refused(project: Project, *expected: str) -> str:
    """validate, plan and apply all stop with `expected` in the message; no step runs."""
    for command in ("validate", "plan", "apply"):
        result = project.run(command, *(["--auto-approve"] if command == "apply" else []))
        assert result.code == 1, result.both
        assert "Traceback" not in result.both and "crashed" not in result.both, result.both
        for text in expected:
            assert text in result.err, f"{text!r} not in:\n{result.err}"
    assert "Running" not in result.out
    store = project.root / ".zenctl/metadata.db"
    assert not store.exists() or project.sql("SELECT COUNT(*) FROM step_executions") == [(0,)]
    return result.err


@pytest.mark.parametrize(
    ("run", "summary", "detail"),
    [
        (
            "steps.nowhere:report",
            "Step module not found",
            'module "steps.nowhere" is neither a file under',
        ),
        (
            "steps.pipeline:reprot",
            "Step function not found",
            'steps/pipeline.py defines no function "reprot". Define it there or fix `run`. '
            'Did you mean "report"?',
        ),
    ],
)
def test_a_run_target_that_does_not_exist_is_caught_at_its_line(
    project: Project, run: str, summary: str, detail: str
) -> None:
    text = edit(project, '"steps.pipeline:report"', f'"{run}"')
    err = refused(project, f"Error: {summary}", detail)
    assert f'on main.zc.hcl line {line_of(text, run)}, in pipeline "demo":' in err


def test_a_param_or_input_the_function_does_not_take_is_caught_at_its_key(
    project: Project,
) -> None:
    text = edit(project, "params = { bias = 0.5 }", 'params = { bias = 0.5, colour = "red" }')
    text = edit(project, "inputs = { raw = source.raw }", "inputs = { rew = source.raw }")
    err = refused(
        project,
        "Error: Unsupported param",
        'Step "train" passes the param "colour", but train(features: list[int], bias: float) '
        "(steps/pipeline.py line 19) takes no argument of that name.",
        "Error: Unsupported input",
        'Step "prep" passes the input "rew"',
        'Did you mean "raw"?',
    )
    assert f"on main.zc.hcl line {line_of(text, 'colour')}" in err
    assert f"on main.zc.hcl line {line_of(text, 'rew =')}" in err
    assert err.count("Error:") == 2  # the misspelt input is not also reported as missing


@pytest.mark.parametrize("separator", ["\f", "\u2028", "\x85"])
def test_lines_are_counted_as_the_parser_counts_them(project: Project, separator: str) -> None:
    """Only a newline ends a line: a form feed, U+2028 or NEL in a comment above the
    error must not move the line an error names, nor the line it quotes."""
    text = (project.root / "main.zc.hcl").read_text()
    project.write("main.zc.hcl", f"# section{separator} one\n" + text)
    text = edit(project, "params = { bias = 0.5 }", 'params = { bias = 0.5, colour = "red" }')
    err = refused(project, "Error: Unsupported param")
    line = line_of(text, "colour")
    assert f"on main.zc.hcl line {line}" in err
    assert f"{line}:     params = {{ bias = 0.5, colour" in err, err


def test_a_required_argument_nothing_supplies_is_caught(project: Project) -> None:
    text = edit(project, "params = { bias = 0.5 }", "params = {}")
    err = refused(
        project,
        "Error: Missing argument for step function",
        'train(features: list[int], bias: float) (steps/pipeline.py line 19) requires "bias", '
        'but no input or param of step "train" supplies it.',
    )
    assert f"on main.zc.hcl line {line_of(text, 'steps.pipeline:train')}" in err


def test_signatures_are_read_only_where_they_are_certain(project: Project) -> None:
    """Defaults need no value; **kwargs takes anything; a re-export is followed to the module
    that defines the function; a decorated function, a module outside the project and a
    function on a component's own body (inputs may be passed otherwise) are not second-guessed."""
    project.write(
        "steps/more.py",
        """
        import functools

        from steps.pipeline import train as fit
        from .pipeline import *


        def anything(**kwargs):
            return 1


        @functools.lru_cache
        def decorated(numbers):
            return 1
        """,
    )
    project.write(
        "main.zc.hcl",
        """
        pipeline "demo" {
          step "defaults" {
            run = "steps.pipeline:prep"
            params = { raw = "x" }
          }
          step "any" {
            run    = "steps.more:anything"
            params = { whatever = 1 }
          }
          step "starred" {
            run = "steps.more:report"
            params = { numbers = [1] }
          }
          step "decorated" {
            run    = "steps.more:decorated"
            params = { other = 1 }
          }
          step "installed" {
            run    = "json:dumps"
            params = { obj = 1, nonsense = 2 }
          }
          step "fit" {
            run    = "steps.more:fit"
            params = { features = [1], bias = 1, extra = 1 }
          }
        }
        """,
    )
    result = project.run("validate")
    assert result.code == 1
    assert "Error: Unsupported param" in result.err
    assert 'Step "fit" passes the param "extra", but train(' in result.err  # followed
    assert result.err.count("Error:") == 1, result.err


def test_no_outputs_is_refused_at_its_line(project: Project) -> None:
    text = edit(project, "params = { bias = 0.5 }", "params = { bias = 0.5 }\n    outputs = []")
    err = refused(project, "Error: No outputs", 'Step "train" declares no output')
    assert f"on main.zc.hcl line {line_of(text, 'outputs = []')}" in err
    assert err.count("Error:") == 1  # not also: evaluate reads an undeclared output of train


@pytest.mark.parametrize(
    ("number", "expected"),
    [("1e400", "too large"), ("-1e400", "too large"), ("1e-400", "it would be stored as 0")],
)
def test_a_number_beyond_a_float_is_refused_at_its_line(
    project: Project, number: str, expected: str
) -> None:
    text = edit(project, "params = { bias = 0.5 }", f"params = {{ bias = {number} }}")
    err = refused(project, "Error: Number out of range", expected)
    assert f"on main.zc.hcl line {line_of(text, number)}" in err


def test_a_number_beyond_a_float_is_refused_from_the_command_line(project: Project) -> None:
    result = project.run("plan", "--var", "factor=1e999")
    assert result.code == 1 and "Traceback" not in result.both
    assert (
        'variable "factor" from the --var option is not a valid number: the number is too '
        in result.err
    )


def test_duplicate_object_keys_are_refused_at_the_second(project: Project) -> None:
    text = edit(
        project,
        "params = { bias = 0.5 }",
        'params = {\n      bias = 0.5\n      "bias" = 2\n    }',
    )
    err = refused(
        project,
        "Error: Duplicate object key",
        f'The key "bias" was already set on line {line_of(text, "bias = 0.5")}',
    )
    second = line_of(text, '"bias" = 2')
    assert f"on main.zc.hcl line {second}" in err


@pytest.mark.parametrize(
    ("old", "new", "at", "expected"),
    [
        ("params = { bias = 0.5 }\n  }", "params = { bias = 0.5 }\n", 'step "train" {', "`{`"),
        ("params = { bias = 0.5 }", "params = { bias = 0.5", "params = { bias", "`{`"),
        ('"steps.pipeline:report"', '"steps.pipeline:report', '"steps.pipeline:report', '`"`'),
        ("params = { bias = 0.5 }\n  }", "params = { bias = 0.5 }\n  }}", "}}", "closes nothing"),
        ('run    = "steps.pipeline:prep"', "run = steps.pipeline:prep", "run = steps", "`:`"),
    ],
)
def test_syntax_errors_point_at_the_line_at_fault(
    project: Project, old: str, new: str, at: str, expected: str
) -> None:
    text = edit(project, old, new)
    err = refused(project, "Error: Invalid HCL syntax", expected)
    assert f"on main.zc.hcl line {line_of(text, at)}:" in err


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        ("3", 'Inappropriate value for "run"'),
        ('"steps.pipeline:" + "prep"', "Error: Invalid operand"),  # not also: missing run
    ],
)
def test_a_malformed_step_gives_one_error_not_its_references_too(
    project: Project, run: str, expected: str
) -> None:
    edit(project, 'run    = "steps.pipeline:prep"', f"run    = {run}")
    err = refused(project, expected)
    assert err.count("Error:") == 1, err  # not: No step named "prep" at each of its readers


def test_a_cycle_is_reported_with_the_other_errors(project: Project) -> None:
    edit(
        project,
        "inputs = { numbers = step.prep.outputs.output }\n    params = { factor = var.factor }",
        "inputs = { numbers = step.train.outputs.output }\n    params = { factor = var.nope }",
    )
    refused(
        project,
        "Error: Reference to undeclared input variable",
        "Error: Cycle in step dependencies",
    )


def test_a_quoted_reference_is_named_as_one_in_zenctls_words(project: Project) -> None:
    err = check(
        project,
        'stack "team" {\n  orchestrator "local" {}\n  artifact_store "local" {}\n'
        '  metadata_store "sqlite" {}\n}\n\npipeline "demo" {\n  stack = "team"\n'
        '  step "a" {\n    run = "steps.pipeline:report"\n  }\n}\n',
        "Error: Invalid reference",
        '"stack" takes a reference, written without quotes, not the string "team".',
        "stack = stack.NAME",
        "on main.zc.hcl line 8",
    )
    assert "instance of" not in err  # pydantic's words stay out


def test_editor_files_and_folders_named_like_config_are_not_config(project: Project) -> None:
    """Emacs leaves `.#main.zc.hcl` (a link to nowhere) while a file is edited, and
    `#main.zc.hcl#` as its autosave: as in Terraform, neither is read."""
    (project.root / ".#main.zc.hcl").symlink_to("user@host.1234:1700000000")
    project.write("#main.zc.hcl#", "not { hcl")
    (project.root / "backup.zc.hcl").mkdir()
    planned = project.run("plan")
    assert planned.code == 0, planned.both
    (project.root / "extra.zc.hcl").symlink_to("nowhere.zc.hcl")
    broken = project.run("plan")
    assert broken.code == 1, broken.both
    assert "Cannot read extra.zc.hcl: No such file or directory" in broken.err
    assert "Traceback" not in broken.both and "crashed" not in broken.both
