"""The command line as a function called more than once in one process (the tests call it so):
each call runs against its own arguments and project, and asks its own terminal."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from conftest import MAIN, Project, run_in_process

from zenctl.cli.context import Invocation
from zenctl.diagnostics import UserError


def test_a_second_call_runs_against_its_own_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = Project(tmp_path / "first"), Project(tmp_path / "second")
    first.write("main.zc.hcl", MAIN)
    second.write("main.zc.hcl", 'pipeline "other" {\n  step "only" {\n    run = "s:f"\n  }\n}\n')
    assert "step.report" in first.run("graph").out  # -C names the first project
    monkeypatch.chdir(second.root)  # no -C now: the current folder, not the first call's
    graphed = run_in_process(["graph"], second.root)
    assert graphed.code == 0, graphed.both
    assert "step.only" in graphed.out and "step.report" not in graphed.out


def test_end_of_input_at_the_confirmation_cancels(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):  # a terminal whose user pressed Ctrl-D
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal(""))
    with pytest.raises(UserError, match="Apply cancelled"):
        Invocation(("apply",)).confirm()
