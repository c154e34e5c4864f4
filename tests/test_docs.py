"""The docs cannot rot: every zenctl command shown in a code block of README.md, docs/*.md and
the examples' READMEs must parse (its commands exist, each flag is one of that command's),
and those about the iris example that only read are run against an applied copy of it.

New pages and commands are picked up as they come: a page that shows a command zenctl does
not have fails here until the command exists.
"""

from __future__ import annotations

import re
import shlex
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import typer
from conftest import Project

from zenctl.cli.app import app

REPO = Path(__file__).parent.parent
PAGES = sorted(
    [REPO / "README.md", *(REPO / "docs").glob("*.md"), *(REPO / "examples").glob("*/README.md")]
)
FENCE = re.compile(r"^\s*```(\w*)")
SHELL = {"console": "$ ", "sh": "", "bash": "", "shell": "", "yaml": ""}  # blocks -> prompt
ENDS = {"|", "||", "&&", ";", ">", ">>", "2>&1"}  # what follows is another program's
EXAMPLE = REPO / "examples" / "iris"
# What runs against the example: commands that only read. Their exit code as documented: 0,
# or 2 where that means "there are changes" (drift, --detailed-exitcode).
READ_ONLY = {"plan", "show", "runs", "graph", "drift", "validate", "state", "workspace"}


@dataclass(frozen=True)
class Shown:
    page: Path
    line: int
    text: str
    output: list[str] = field(default_factory=list)  # the lines a console block shows after it

    @property
    def argv(self) -> list[str]:
        """The arguments after `zenctl`, up to a pipe, a redirection or the next command."""
        words = shlex.split(self.text.rstrip("\\"), comments=True)[1:]
        cut = next((i for i, word in enumerate(words) if word in ENDS), len(words))
        return words[:cut]

    def __str__(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}"


def shown_commands() -> Iterator[Shown]:
    """Each `zenctl ...` line of a shell, console or workflow code block: in a console block
    only after a `$ ` prompt (the rest is output); in a workflow, after `run:`."""
    for page in PAGES:
        prompt: str | None = None
        last: Shown | None = None
        for number, line in enumerate(page.read_text().splitlines(), 1):
            fence = FENCE.match(line)
            if fence:
                prompt = None if prompt is not None else SHELL.get(fence.group(1), "\0")
                last = None
                continue
            if prompt is None or prompt == "\0":
                continue
            text = re.sub(r"^-?\s*run:\s*", "", line.strip())
            if prompt and not text.startswith(prompt):
                if last is not None:
                    last.output.append(line)
            elif text.startswith(prompt):
                last = None
                text = text[len(prompt) :]
                if text.startswith("zenctl "):
                    last = Shown(page, number, text)
                    yield last


SHOWN = list(shown_commands())


def command_path(argv: list[str]) -> tuple[list[str], list[str]]:
    """The subcommands `argv` names (`state show`), and its other words, checked as click
    would parse them: every subcommand exists, every option belongs to the command it
    follows, and a command gets no more arguments than it takes. AssertionError names what
    does not."""
    command = typer.main.get_command(app)  # typer's click, which may be its own copy
    path: list[str] = []
    arguments: list[str] = []
    words = iter(argv)
    for word in words:
        where = " ".join(["zenctl", *path])
        if word.startswith("-") and word != "-":
            name, given, _ = word.partition("=")
            option = next(
                (
                    p
                    for p in command.params
                    if p.param_type_name == "option" and name in (*p.opts, *p.secondary_opts)
                ),
                None,
            )
            assert option is not None, f"`{where}` has no option {name}"
            if not option.is_flag and not given:
                assert next(words, None) is not None, f"{name} of `{where}` needs a value"
        elif hasattr(command, "commands") and not arguments:  # a group
            assert word in command.commands, f"`{where}` has no command {word!r}"
            command = command.commands[word]
            path.append(word)
        else:
            arguments.append(word)
    takes = [p for p in command.params if p.param_type_name == "argument"]
    if not any(p.nargs == -1 for p in takes):
        where = " ".join(["zenctl", *path])
        assert len(arguments) <= len(takes), f"`{where}` takes no argument {arguments!r}"
    return path, arguments


def test_the_pages_show_commands() -> None:
    """The extraction finds what it should: a test that checks nothing would pass too."""
    assert len(SHOWN) > 50
    texts = {shown.text for shown in SHOWN}
    assert "zenctl -C examples/iris plan --var C=0.5" in texts  # a console block
    assert any(t.startswith('zenctl -C "$ZENCTL_PROJECT" validate') for t in texts)  # a workflow
    assert not any(t.startswith("zenctl will perform") for t in texts)  # output, not a command


@pytest.mark.parametrize("shown", SHOWN, ids=str)
def test_every_shown_command_parses(shown: Shown) -> None:
    command_path(shown.argv)


@pytest.mark.parametrize(
    ("argv", "wrong"),
    [
        (["metrics-and-more", "show"], "`zenctl` has no command 'metrics-and-more'"),
        (["plan", "--no-such-flag"], "`zenctl plan` has no option --no-such-flag"),
        (["state", "list", "--auto-approve"], "`zenctl state list` has no option --auto-approve"),
        (["graph", "--format"], "--format of `zenctl graph` needs a value"),
        (["graph", "extra"], "`zenctl graph` takes no argument ['extra']"),
        (["runs", "extra"], "`zenctl runs` has no command 'extra'"),
        (["-C", "x", "state", "nope"], "`zenctl state` has no command 'nope'"),
    ],
)
def test_a_command_zenctl_does_not_have_fails_the_check(argv: list[str], wrong: str) -> None:
    with pytest.raises(AssertionError, match=re.escape(wrong)):
        command_path(argv)


def test_every_shown_command_has_help(tmp_path: Path) -> None:
    """`--help` after each command path the pages use: it answers, and lists its options."""
    project = Project(tmp_path)
    for path in sorted({tuple(command_path(shown.argv)[0]) for shown in SHOWN}):
        helped = project.run(*path, "--help")
        assert helped.code == 0 and "Usage: zenctl" in helped.out, (path, helped.both)


def _about_the_example(shown: Shown) -> bool:
    argv = shown.argv
    chdir = [argv[i + 1] for i, word in enumerate(argv[:-1]) if word in ("-C", "--chdir")]
    return chdir == ["examples/iris"] or any(word.startswith("pipeline.iris.") for word in argv)


def _without_chdir(argv: list[str]) -> list[str]:
    """The arguments, the project folder left to the test (the example's copy)."""
    kept: list[str] = []
    skip = False
    for word in argv:
        if not skip and word not in ("-C", "--chdir"):
            kept.append(word)
        skip = word in ("-C", "--chdir")
    return kept


def _subcommand(argv: list[str]) -> str:
    return next((word for word in _without_chdir(argv) if not word.startswith("-")), "")


RUNNABLE = [
    shown for shown in SHOWN if _about_the_example(shown) and _subcommand(shown.argv) in READ_ONLY
]


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The iris example copied and applied once; its model server is not deployed, so that
    nothing outlives the tests."""
    root = tmp_path_factory.mktemp("docs") / "iris"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".zenctl"))
    project = Project(root)
    applied = project.apply("--exclude", "pipeline.iris.deployment.iris")
    assert applied.code == 0, applied.both
    return project


def test_the_example_runs_a_representative_subset() -> None:
    subcommands = {_subcommand(shown.argv) for shown in RUNNABLE}
    assert {"plan", "show", "runs", "graph", "drift"} <= subcommands


@pytest.mark.parametrize("shown", RUNNABLE, ids=str)
def test_shown_commands_about_the_example_run(shown: Shown, example: Project) -> None:
    argv = _without_chdir(shown.argv)
    result = example.run(*argv)
    expected = (0, 2) if argv[0] == "drift" or "--detailed-exitcode" in argv else (0,)
    assert result.code in expected, result.both
    assert "Traceback" not in result.both and "crashed" not in result.both
    printed = {" ".join(line.split()) for line in result.out.splitlines()}
    for line in shown.output:
        words = " ".join(line.split())
        if re.match(r"([~+-] params\.|= pipeline\.\S+ cached$)", words):
            assert words in printed, f"{shown} shows {words!r}; zenctl printed:\n{result.out}"
