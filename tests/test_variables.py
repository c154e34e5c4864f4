"""Variables: every source in Terraform's precedence, typed values, validation, the prompt."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import textwrap
from pathlib import Path

import pytest
from conftest import ZENCTL, Project

from zenctl.cli.inputs import variable_inputs
from zenctl.config.expressions import evaluate_text
from zenctl.config.loader import load_config
from zenctl.config.tree import ExpressionError
from zenctl.config.variables import Sensitive, VariableInputs, resolve_variables
from zenctl.diagnostics import DiagnosticsError
from zenctl.providers.registry import InstalledCatalog

# Variables are resolved before any store is opened.

DECLARATIONS = """
variable "name" {
  type    = string
  default = "from-default"
}

variable "layers" {
  type    = list(number)
  default = [8]
}

variable "opts" {
  type    = object({lr = number, tags = map(string)})
  default = { lr = 0.1, tags = {} }
}

variable "epochs" {
  type = number
  default = 1
  validation {
    condition     = var.epochs > 0 && var.epochs <= 100
    error_message = "epochs must be between 1 and 100."
  }
}

variable "run_id" {
  type    = string
  default = "r-1"
  validation {
    condition     = can(regex("^r-[0-9]+$", var.run_id)) && !contains(["r-0"], var.run_id)
    error_message = "run_id looks like r-123."
  }
}

variable "password" {
  type      = number
  sensitive = true
  default   = 1
}
"""


def _config(tmp_path: Path, extra: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    (tmp_path / "vars.zc.hcl").write_text(DECLARATIONS)
    for name, text in (extra or {}).items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    return load_config(tmp_path, InstalledCatalog())


def _resolve(tmp_path: Path, *cli: tuple[str, str], environ=None, extra=None):  # type: ignore[no-untyped-def]
    config = _config(tmp_path, extra)
    return resolve_variables(config, VariableInputs(tuple(cli), environ or {}))


def _errors(tmp_path: Path, *cli: tuple[str, str], environ=None, extra=None) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(DiagnosticsError) as caught:
        _resolve(tmp_path, *cli, environ=environ, extra=extra)
    return "\n".join(
        f"{d.summary} | {d.detail} | "
        + (f"{Path(d.range.filename).name}:{d.range.start.line}" if d.range else "-")
        for d in caught.value.diagnostics
    )


def test_precedence_default_env_auto_files_then_command_line_in_order(tmp_path: Path) -> None:
    assert _resolve(tmp_path)["name"] == "from-default"
    env = {"ZENCTL_VAR_name": "from-env", "ZENCTL_VAR_epochs": "7"}
    assert _resolve(tmp_path, environ=env)["name"] == "from-env"
    files = {"b.auto.zcvars": 'name = "from-b"\n', "a.auto.zcvars": 'name = "from-a"\n'}
    assert _resolve(tmp_path, environ=env, extra=files)["name"] == "from-b"  # lexical: b last
    (tmp_path / "x.zcvars").write_text('name = "from-file"\nepochs = "12"\n')
    in_order = _resolve(tmp_path, ("var", "name=from-flag"), ("file", "x.zcvars"), environ=env)
    assert in_order["name"] == "from-file"  # given after the flag: wins
    assert in_order["epochs"] == 12  # "12" converts to a number, as in Terraform
    flag_last = _resolve(tmp_path, ("file", "x.zcvars"), ("var", "name=from-flag"))
    assert flag_last["name"] == "from-flag"


def test_command_line_order_is_read_back_from_argv() -> None:
    argv = ["plan", "-var", "a=1", "--var-file=x.zcvars", "--var=b=2", "-var-file", "y.zcvars"]
    inputs = variable_inputs(["a=1", "b=2"], ["x.zcvars", "y.zcvars"], argv)
    assert inputs.cli == (
        ("var", "a=1"),
        ("file", "x.zcvars"),
        ("var", "b=2"),
        ("file", "y.zcvars"),
    )


def test_structured_values_convert_to_the_declared_type(tmp_path: Path) -> None:
    values = _resolve(
        tmp_path,
        ("var", "layers=[64, 32]"),
        ("var", 'opts={lr = "0.5", tags = {team = "ml"}}'),
        ("var", "password=42"),
    )
    assert values["layers"] == [64, 32]
    assert values["opts"] == {"lr": 0.5, "tags": {"team": "ml"}}
    assert values["password"] == Sensitive(42)


def test_bad_values_name_their_source_and_never_echo_a_secret(tmp_path: Path) -> None:
    errors = _errors(
        tmp_path,
        ("var", "layers=[1, oops]"),
        ("var", "password=hunter2-secret"),
        environ={"ZENCTL_VAR_opts": "{lr = 1}"},
    )
    assert 'variable "layers" from the --var option is not a valid list(number)' in errors
    assert "from environment variable ZENCTL_VAR_opts" in errors
    assert 'attribute "tags" is required' in errors
    assert 'variable "password" from the --var option is not a valid number' in errors
    assert "hunter2" not in errors
    (tmp_path / "bad.zcvars").write_text('layers = [1]\nlayrs = [2]\nname = ["x"]\n')
    errors = _errors(tmp_path, ("file", "bad.zcvars"))
    assert 'A variable named "layrs" was assigned in bad.zcvars' in errors
    assert 'did you mean "layers"? | bad.zcvars:2' in errors
    assert "from bad.zcvars:3 is not a valid string" in errors


def test_strip_markers_read_in_variable_values_as_in_the_configuration(tmp_path: Path) -> None:
    # python-hcl2 cannot parse `${~ ... ~}`: a variables file and a structured --var value
    # hide the markers from it and strip the text beside them, as the loader does
    (tmp_path / "strip.zcvars").write_text('name = "a  ${~ "b" ~}  c"\n')
    strip = {"strip.zc.hcl": 'variable "strip" {\n  default = "a  ${~ "b" ~}  c"\n}\n'}
    values = _resolve(
        tmp_path,
        ("file", "strip.zcvars"),
        ("var", 'opts={lr = 1, tags = {t = "x  ${~ "y"}"}}'),
        extra=strip,
    )
    assert values["name"] == values["strip"] == "abc"
    assert values["opts"] == {"lr": 1, "tags": {"t": "xy"}}


def test_validation_failures_point_at_the_condition(tmp_path: Path) -> None:
    errors = _errors(tmp_path, ("var", "epochs=0"), ("var", "run_id=r-0"))
    assert "epochs must be between 1 and 100." in errors
    assert "whose value came from the --var option. | vars.zc.hcl:21" in errors
    assert "run_id looks like r-123." in errors
    assert _resolve(tmp_path, ("var", "epochs=100"), ("var", "run_id=r-77"))["epochs"] == 100


def test_missing_required_variable_is_asked_for_or_explained(tmp_path: Path) -> None:
    required = {"req.zc.hcl": 'variable "seed" {\n  type = number\n}\n'}
    errors = _errors(tmp_path, extra=required)
    assert 'The variable "seed" has no default' in errors
    assert "--var seed=VALUE" in errors and "ZENCTL_VAR_seed" in errors
    config = _config(tmp_path, required)
    asked = resolve_variables(config, VariableInputs((), {}, ask=lambda variable: "5"))
    assert asked["seed"] == 5


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("var.n * 2 + 1 == 7 && !(var.n < 0)", True),
        ('length(var.s) == 5 && upper(var.s) == "HELLO"', True),
        ("var.n > 2 ? var.n : 0", 3),
        ("var.l[1] == 20 && contains(var.l, 10) && max(var.l[0], 4) == 10", True),
        ('startswith(var.s, "he") || var.missing', True),  # short-circuits, as in HCL
        ("var.n == true", False),  # a number never equals a bool
    ],
)
def test_condition_evaluator(condition: str, expected: object) -> None:
    values = {"n": 3, "s": "hello", "l": [10, 20]}
    assert evaluate_text(condition, values) == expected


def test_condition_evaluator_rejects_what_it_does_not_understand() -> None:
    for text, message in [
        ("fiel(var.x)", 'no function named "fiel". Did you mean "file"?'),
        ("var.x +", "could not be parsed"),
        ("__import__", 'no variable named "__import__"'),
        ("var.s > 1", "left operand: a number is required, got a string"),
    ]:
        with pytest.raises(ExpressionError, match=re.escape(message)):
            evaluate_text(text, {"s": "a", "x": "f"})


def test_variables_from_every_source_through_the_cli(project: Project, tmp_path: Path) -> None:
    project.write("vars.zc.hcl", DECLARATIONS)
    project.write("z.auto.zcvars", 'name = "auto"\n')
    steps = project.root / "steps/pipeline.py"  # train takes the params below (plan checks)
    steps.write_text(steps.read_text().replace("bias: float)", "bias: float, **settings)"))
    main = project.root / "main.zc.hcl"
    main.write_text(
        main.read_text().replace(
            "params = { bias = 0.5 }",
            'params = { bias = 0.5, layers = var.layers, opts = var.opts, tag = "${var.name}-x" }',
        )
    )
    extra = tmp_path / "extra.zcvars"
    extra.write_text("layers = [64, 32]\n")
    result = project.run(
        "plan",
        "-json",
        "-var-file",
        str(extra),
        "--var",
        "opts={lr = 1, tags = {}}",
        env={"ZENCTL_VAR_name": "env"},
    )
    assert result.code == 0, result.both
    (train,) = [s for s in json.loads(result.out)["steps"] if s["step"] == "train"]
    assert train["after"]["params"] == {
        "bias": 0.5,
        "layers": [64, 32],
        "opts": {"lr": 1, "tags": {}},
        "tag": "auto-x",
    }
    failing = project.run("plan", "--var", "epochs=1000")
    assert failing.code == 1
    assert "Error: Invalid value for variable" in failing.err
    assert "condition     = var.epochs > 0 && var.epochs <= 100" in failing.err
    assert "epochs must be between 1 and 100." in failing.err


def test_a_terminal_is_asked_for_a_missing_variable_without_echoing_a_secret(
    project: Project,
) -> None:
    project.write(
        "req.zc.hcl",
        'variable "db_password" {\n  type        = string\n  sensitive   = true\n'
        '  description = "Password of the feature store"\n}\n',
    )
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        [ZENCTL, "-C", str(project.root), "plan"],
        stdin=secondary,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1"},
        start_new_session=True,  # no controlling terminal: getpass reads the pty on stdin
    )
    try:
        prompt = b""
        while b"Enter a value:" not in prompt:  # getpass flushes input typed before it asks
            assert select.select([process.stderr], [], [], 60)[0], prompt
            prompt += os.read(process.stderr.fileno(), 4096)  # type: ignore[union-attr]
        # rich prints the prompt before getpass flushes pending input, so a line typed at once
        # may be discarded: type it again until zenctl goes on (extra lines stay unread)
        for _ in range(60):
            os.write(primary, b"typed-secret-99\n")
            try:
                out, err = process.communicate(timeout=1)
                break
            except subprocess.TimeoutExpired:
                continue
        else:
            raise AssertionError("zenctl never went on after the prompt")
    finally:
        process.kill()
        os.close(primary)
        os.close(secondary)
    done = subprocess.CompletedProcess(
        process.args, process.returncode, out.decode(), (prompt + err).decode()
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "var.db_password" in done.stderr
    assert "Password of the feature store" in done.stderr
    assert "Plan: 5 to run" in done.stdout
    assert "typed-secret-99" not in done.stdout + done.stderr
