"""What a newcomer trips on: git and `.zenctl/`, a taken port, `--version`, colours, completion."""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
from pathlib import Path

from conftest import ZENCTL, Project
from test_serving import CONFIG, DEPLOYMENT, MODEL


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), "-c", "user.email=a@b", "-c", "user.name=t", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def test_init_keeps_zenctl_out_of_git_and_an_existing_gitignore_intact(tmp_path: Path) -> None:
    project = Project(tmp_path)
    created = project.run("init")
    assert created.code == 0, created.both
    assert "Created .gitignore" in created.out
    assert (tmp_path / ".gitignore").read_text() == ".zenctl/\n"
    again = project.run("init")
    assert ".gitignore" not in again.out
    assert (tmp_path / ".gitignore").read_text() == ".zenctl/\n"  # not added twice

    (tmp_path / ".gitignore").write_text("*.pyc")  # a user's own, no final newline
    added = project.run("init")
    assert "Added .zenctl/ to .gitignore" in added.out
    assert (tmp_path / ".gitignore").read_text() == "*.pyc\n.zenctl/\n"

    (tmp_path / ".gitignore").write_text("/.zenctl\n")  # already ignored, spelled otherwise
    assert ".gitignore" not in project.run("init").out
    assert (tmp_path / ".gitignore").read_text() == "/.zenctl\n"


def test_an_apply_after_init_and_commit_is_not_uncommitted(tmp_path: Path) -> None:
    project = Project(tmp_path)
    _git(tmp_path, "init", "-q")
    assert project.run("init").code == 0
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "start")
    assert project.apply().code == 0
    shown = project.run("show", "pipeline.starter.step.generate")
    assert "commit       " in shown.out and "(uncommitted changes)" not in shown.out, shown.out

    project.write("notes.txt", "a change of the user's")
    assert project.apply("--replace", "pipeline.starter.step.generate").code == 0
    shown = project.run("show", "pipeline.starter.step.generate")
    assert "(uncommitted changes)" in shown.out


def test_zenctl_folder_never_counts_as_a_change_even_without_gitignore(tmp_path: Path) -> None:
    """A project in a subfolder of the repository, its .gitignore removed and committed so."""
    root = tmp_path / "ml"
    root.mkdir()
    project = Project(root)
    _git(tmp_path, "init", "-q")
    assert project.run("init").code == 0
    (root / ".gitignore").unlink()
    _git(tmp_path, "add", "ml/main.zc.hcl", "ml/starter_steps.py")
    _git(tmp_path, "commit", "-q", "-m", "start")
    assert project.apply().code == 0
    assert "?? ml/.zenctl/" in _git(tmp_path, "status", "--porcelain")  # git sees it...
    shown = project.run("show", "pipeline.starter.step.generate")
    assert "(uncommitted changes)" not in shown.out, shown.out  # ...zenctl does not


def test_a_taken_port_fails_the_deployment_in_one_line_with_the_way_out(project: Project) -> None:
    project.write("steps/model.py", MODEL)
    stack = (
        'variable "port" {\n  type = number\n  default = 8080\n}\n\n'
        'stack "default" {\n  orchestrator "local" {}\n  artifact_store "local" {}\n'
        '  metadata_store "sqlite" {}\n  serving "local" {\n    port = var.port\n  }\n}\n'
    )
    project.write("main.zc.hcl", stack + CONFIG.replace("DEPLOYMENT", DEPLOYMENT))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        failed = project.apply("--var", f"port={port}")
    assert failed.code != 0
    assert f"port {port} is in use" in failed.err
    assert "--var port=0" in failed.err
    assert "Traceback" not in failed.both
    assert not list((project.root / ".zenctl").glob("serving/*/*/ready.json"))


def test_version_flag_prints_what_the_version_command_starts_with(project: Project) -> None:
    first_line = project.run("version").out.splitlines()[0]
    for flag in ("--version", "-version"):
        shown = project.run(flag)
        assert shown.code == 0 and shown.out == first_line + "\n"


def test_no_color_prints_no_escape_even_on_a_terminal(project: Project) -> None:
    terminal = {"FORCE_COLOR": "1", "NO_COLOR": ""}  # rich then colours even a pipe
    coloured = project.run("plan", env=terminal)
    assert "\x1b[" in coloured.out  # so the next checks can fail
    for args, env in (
        (("--no-color", "plan"), terminal),
        (("-no-color", "plan"), terminal),
        (("plan",), {**terminal, "NO_COLOR": "1"}),  # rich alone keeps bold here
    ):
        plain = project.run(*args, env=env)
        assert plain.code == 0, plain.both
        assert "\x1b[" not in plain.both, args
        assert "zenctl will perform the following actions" in plain.out
    applied = project.run("--no-color", "apply", "--auto-approve", env=terminal)
    assert applied.code == 0 and "Apply complete!" in applied.out, applied.both
    assert "\x1b" not in applied.both  # no colour, and no live status line either


def test_help_offers_shell_completion(project: Project) -> None:
    help_text = project.run("--help").out
    assert "--install-completion" in help_text and "--show-completion" in help_text
    # typer finds the shell by walking up the process tree (shellingham), not from $SHELL:
    # typed in bash, as a user does, whatever shell started the tests (two commands, so that
    # bash does not exec zenctl in its place)
    shown = subprocess.run(
        ["bash", "-c", f"{shlex.quote(ZENCTL)} --show-completion; exit $?"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=project.root,
    )
    assert shown.returncode == 0 and "complete" in shown.stdout, shown.stdout + shown.stderr


def test_a_training_step_s_duration_counts_its_process_start(project: Project) -> None:
    """What the plan estimates from and `show` prints: the step's cost in the apply, the
    training process's start-up included (here made to take a second), not only its body."""
    slow_start = project.write("slow_start/sitecustomize.py", "import time\ntime.sleep(1.0)\n")
    path = os.pathsep.join([str(slow_start.parent), os.environ.get("PYTHONPATH", "")])
    project.write("steps/quick.py", "def quick() -> int:\n    return 1\n")
    project.write(
        "main.zc.hcl",
        'stack "s" {\n  orchestrator "local" {}\n  artifact_store "local" {}\n'
        '  metadata_store "sqlite" {}\n'
        f'  training "local" {{\n    env = {{ PYTHONPATH = "{path}" }}\n  }}\n}}\n\n'
        'pipeline "p" {\n  stack = stack.s\n  step "quick" {\n    run = "steps.quick:quick"\n'
        '    on  = "training"\n  }\n}\n',
    )
    assert project.apply().code == 0
    shown = json.loads(project.run("show", "--json", "pipeline.p.step.quick").out)
    assert shown["step"]["duration_seconds"] >= 1.0


def test_a_server_that_loses_the_race_for_its_port_says_so_in_one_line(tmp_path: Path) -> None:
    """The port taken between the provider's check and the server's bind: the server's log,
    quoted by the failed deployment, ends in one line, not a traceback."""
    from sklearn.dummy import DummyClassifier

    from zenctl.artifacts.materializers import dump

    materializer, data = dump(DummyClassifier().fit([[0.0]], [1]))
    model = tmp_path / "model"
    model.write_bytes(data)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = subprocess.run(
            [
                *(sys.executable, "-m", "zenctl_local.server", "--model", str(model)),
                *("--name", "m", "--materializer", materializer, "--port", str(port)),
                *("--ready", str(tmp_path / "r")),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert server.returncode != 0
    assert server.stderr == f"port {port} is in use on 127.0.0.1; 0 takes any free port\n"
