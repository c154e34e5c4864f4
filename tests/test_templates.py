"""String templates as HCL evaluates them: heredocs, `%{ if }`, `%{ for }`, strip markers and
escapes reach the step as their value, and the variables they read are in the step's key."""

from __future__ import annotations

import json
import textwrap

import pytest
from conftest import Project

ECHO_STEP = '''
import json
from pathlib import Path


def echo(text):
    """Keep what the step was given, exactly, for the test to read."""
    (Path(__file__).parents[1] / "received.json").write_text(json.dumps(text))
    return text
'''

VARIABLES = """
variable "n" {
  type    = number
  default = 4
}

variable "flag" {
  type    = bool
  default = true
}

variable "names" {
  type    = list(string)
  default = ["a", "b"]
}

variable "sizes" {
  type    = map(number)
  default = { small = 1, big = 20 }
}

variable "ratio" {
  type    = number
  default = 2.5
}

variable "token" {
  type      = string
  sensitive = true
  default   = "tok-SECRET-4242"
}
"""


def _step(project: Project, text_hcl: str) -> None:
    """A pipeline with one step, `render`, whose `text` param is `text_hcl` (a heredoc's
    lines start at the file's first column, as `text_hcl` indents them past its own)."""
    project.write("steps/echo.py", ECHO_STEP)
    project.write("vars.zc.hcl", VARIABLES)
    body = textwrap.dedent(text_hcl).strip()
    (project.root / "main.zc.hcl").write_text(
        'pipeline "demo" {\n'
        '  step "render" {\n'
        '    run    = "steps.echo:echo"\n'
        "    params = {\n"
        f"      text = {body}\n"
        "    }\n"
        "  }\n"
        "}\n"
    )


def _received(project: Project, *args: str) -> object:
    result = project.apply(*args)
    assert result.code == 0, result.both
    return json.loads((project.root / "received.json").read_text())


def test_a_heredoc_reads_its_variable_and_a_new_value_reruns_the_step(project: Project) -> None:
    _step(
        project,
        """
        <<EOT
        epochs: ${var.n}
        EOT
        """,
    )
    assert _received(project) == "epochs: 4\n"
    plan = project.run("plan", "--var", "n=5")
    assert plan.code == 0, plan.both
    assert '~ params.text: "epochs: 4\\n" -> "epochs: 5\\n"' in plan.out
    assert "Plan: 1 to run" in plan.out
    assert _received(project, "--var", "n=5") == "epochs: 5\n"
    assert "No changes" in project.run("plan", "--var", "n=5").out


@pytest.mark.parametrize(
    ("text_hcl", "args", "expected"),
    [
        pytest.param(
            """
            <<-EOT
              first ${var.n}
                indented

              last
              EOT
            """,
            (),
            "first 4\n  indented\n\nlast\n",
            id="indented heredoc: dedented by its least indented line",
        ),
        pytest.param(
            '"%{ if var.n > 3 }big%{ else }small%{ endif }"',
            (),
            "big",
            id="if",
        ),
        pytest.param(
            '"%{ if var.n > 3 }big%{ else }small%{ endif }"',
            ("--var", "n=1"),
            "small",
            id="else",
        ),
        pytest.param(
            """
            <<EOT
            %{ for name in var.names ~}
            - ${name}
            %{ endfor ~}
            EOT
            """,
            ("--var", 'names=["x", "y", "z"]'),
            "- x\n- y\n- z\n",
            id="for over a list, strip markers eat the directives' newlines",
        ),
        pytest.param(
            '"%{ for key, size in var.sizes }${key}=${size};%{ endfor }"',
            (),
            "big=20;small=1;",
            id="for over a map, by key",
        ),
        pytest.param(
            '"a %{~ if var.flag ~} b %{~ endif ~} c "',
            (),
            "abc ",
            id="strip markers",
        ),
        pytest.param(
            """
            <<EOT
            [
              ${~ var.n ~}
            ]
            EOT
            """,
            (),
            "[4]\n",
            id="strip markers in a heredoc",
        ),
        pytest.param(
            '"$${var.n} %%{ if } ${var.n}"',
            (),
            "${var.n} %{ if } 4",
            id="escapes",
        ),
        pytest.param(
            """
            <<EOT
            $${var.n} %%{ for } ${var.n}
            EOT
            """,
            (),
            "${var.n} %{ for } 4\n",
            id="escapes in a heredoc",
        ),
        pytest.param('"b=${var.flag}"', (), "b=true", id="a bool interpolates as HCL writes it"),
        pytest.param(
            '"n=${1e3} r=${var.ratio} i=${var.n * 2}"',
            (),
            "n=1000 r=2.5 i=8",
            id="numbers interpolate as HCL writes them",
        ),
    ],
)
def test_the_step_receives_the_template_evaluated(
    project: Project, text_hcl: str, args: tuple[str, ...], expected: str
) -> None:
    _step(project, text_hcl)
    assert _received(project, *args) == expected
    formatted = project.run("fmt")
    assert formatted.code == 0, formatted.both
    assert "No changes" in project.run("plan", *args).out  # fmt kept the template's value


def test_interpolating_a_list_is_an_error_at_its_line(project: Project) -> None:
    _step(
        project,
        """
        <<EOT
        epochs: ${var.n}
        names: ${var.names}
        EOT
        """,
    )
    result = project.run("plan")
    assert result.code == 1, result.both
    assert "Traceback" not in result.both
    assert "Error: Invalid template" in result.err
    assert "Cannot include the given value in a string template: it is a list" in result.err
    assert "on main.zc.hcl line 7" in result.err


def test_what_a_template_cannot_evaluate_fails_validate_at_its_line(project: Project) -> None:
    _step(
        project,
        """
        <<EOT
        epochs: ${var.n}
        names: ${jsonencod(var.names)}
        EOT
        """,
    )
    result = project.run("validate")
    assert result.code == 1, result.both
    assert "Traceback" not in result.both
    assert "Error: Call to unknown function" in result.err
    assert 'There is no function named "jsonencod". Did you mean "jsonencode"?' in result.err
    assert "7: names: ${jsonencod(var.names)}" in result.err
    assert "on main.zc.hcl line 7" in result.err


@pytest.mark.parametrize(
    ("text_hcl", "line", "message"),
    [
        ('"%{ if var.flag }a"', 5, "Unterminated template if directive"),
        ("<<EOT\none\n%{ if var.flag }\nEOT", 7, "This %{ if } has no %{ endif }."),
        ('"a%{ endif }"', 5, "%{ endif } without a matching %{ if }"),
        (
            "<<EOT\n%{ for x in var.names }\n%{ else }\n%{ endfor }\nEOT",
            7,
            "%{ else } cannot close this %{ for }: %{ endfor } is expected.",
        ),
        ('"${name}"', 5, 'There is no variable named "name".'),
        ('"${var.nope}-x"', 5, 'An input variable with the name "nope" has not been declared'),
    ],
)
def test_a_malformed_template_is_located(
    project: Project, text_hcl: str, line: int, message: str
) -> None:
    _step(project, text_hcl)
    result = project.run("validate")
    assert result.code == 1, result.both
    assert "Traceback" not in result.both
    assert message in result.err
    assert f"on main.zc.hcl line {line}" in result.err


def test_a_secret_read_by_a_heredoc_reaches_the_step_and_no_output(project: Project) -> None:
    _step(
        project,
        """
        <<-EOT
          user: me
          token: ${var.token}
          EOT
        """,
    )
    secret = "tok-SECRET-4242"
    outputs = {
        "plan": project.run("plan"),
        "plan --json": project.run("plan", "--json"),
        "markdown": project.run("plan", "--format", "markdown"),
    }
    assert _received(project) == f"user: me\ntoken: {secret}\n"
    changed = project.run("plan", "--var", "token=tok-OTHER-1111")
    assert "~ params.text: (sensitive) -> (sensitive)" in changed.out
    outputs["plan after a change"] = changed
    outputs["show"] = project.run("show", "pipeline.demo.step.render")
    for name, result in outputs.items():
        assert result.code == 0, (name, result.both)
        assert secret not in result.both, name
        assert "tok-OTHER-1111" not in result.both, name


def test_a_failing_template_that_reads_a_secret_does_not_quote_it(project: Project) -> None:
    _step(project, '"size: ${var.sizes[var.token]}"')  # the lookup's error would name the key
    result = project.run("plan")
    assert result.code == 1, result.both
    assert "Error: Invalid index" in result.err
    assert "on main.zc.hcl line 5" in result.err
    assert "tok-SECRET-4242" not in result.both
