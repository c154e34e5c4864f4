"""One invocation of the command line: its arguments, its project folder, its consoles, and
the metadata stores it opened.

`zenctl.cli.app.run` makes one per call and click hands it to every command (`ctx.obj`):
nothing of a call outlives it, so two calls in one process (the tests) share no project,
console, store or counter.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from zenctl.diagnostics import Diagnostic, UserError
from zenctl.paths import project_folder

if TYPE_CHECKING:
    from rich.console import Console

    from zenctl.application.project import Project
    from zenctl.config.variables import VariableInputs
    from zenctl.state.store import StateStore


def _hashed_bytes() -> int:
    """What the fingerprinter hashed in this process so far, counted only once it is imported
    (a command that hashes nothing need not import it)."""
    hashed = sys.modules.get("zenctl.fingerprint.files")
    count: int = hashed.hashed_bytes if hashed else 0
    return count


@dataclass
class Invocation:
    argv: tuple[str, ...]  # the arguments, program name left out: `--var` order is read back
    chdir: Path | None = None  # the global --chdir, given before the command
    no_color: bool = False  # the global --no-color, given before the command
    root: Path | None = None  # the project folder once found: diagnostics are shown relative
    stores: list[StateStore] = field(default_factory=list)  # opened: ZENCTL_TRACE counts
    hashed_before: int = field(default_factory=_hashed_bytes)  # ZENCTL_TRACE: this call's

    @functools.cached_property
    def stdout(self) -> Console:
        from zenctl.render.console import plain_requested, stdout

        return stdout(plain_requested(self.no_color))

    @functools.cached_property
    def stderr(self) -> Console:
        from zenctl.render.console import plain_requested, stderr

        return stderr(plain_requested(self.no_color))

    def project_root(self, chdir: Path | None) -> Path:
        """The project folder: the command's --chdir, else the global one, else the current."""
        self.root = project_folder(chdir or self.chdir or Path.cwd())
        return self.root

    def inputs(self, var: list[str] | None, var_file: list[str] | None) -> VariableInputs:
        from zenctl.cli.inputs import variable_inputs

        return variable_inputs(var, var_file, list(self.argv), self.stderr)

    def load(
        self,
        chdir: Path | None,
        var: list[str] | None = None,
        var_file: list[str] | None = None,
        *,
        evaluates: bool = True,
    ) -> Project:
        """The project, with its variables' values when the command `evaluates` anything."""
        from zenctl.application.project import Project

        root = self.project_root(chdir)
        return Project.load(root, self.inputs(var, var_file) if evaluates else None)

    def open_state(self, project: Project, create: bool = False) -> StateStore | None:
        """The project's metadata store; None when it holds nothing yet and not `create`."""
        store = project.open_state(create)
        if store is not None:
            self.stores.append(store)
        return store

    def create_state(self, project: Project) -> StateStore:
        """The project's metadata store, created when it holds nothing yet."""
        store = self.open_state(project, create=True)
        assert store is not None, "a store is created when asked to"
        return store

    def confirm(self, command: str = "apply", flag: str = "--auto-approve") -> None:
        """Terraform's "Only 'yes' will be accepted"; no terminal to ask on is a refusal."""
        if not sys.stdin.isatty():
            raise UserError(
                f"{command.capitalize()} needs confirmation",
                "There is no terminal to ask on. Review the above, then run "
                f"`zenctl {command} {flag}` to go ahead without asking.",
            )
        console = self.stdout
        console.print("\n[bold]Do you want to perform these actions?[/]")
        console.print("  Only 'yes' will be accepted to approve.\n")
        try:
            answer = console.input("  Enter a value: ")
        except EOFError:  # Ctrl-D: no answer, so no approval
            answer = ""
        if answer.strip() != "yes":
            raise UserError(f"{command.capitalize()} cancelled", "Nothing was changed.")

    @contextmanager
    def lock(
        self, store: StateStore, workspace: str, operation: str, timeout: str
    ) -> Iterator[None]:
        """Hold the workspace's state lock, telling the user when a dead holder's is taken over."""
        from zenctl.durations import parse_duration
        from zenctl.state.lock import LockInfo, state_lock

        def taken_over(holder: LockInfo, reason: str) -> None:
            self.stderr.print(
                f"[yellow]Warning:[/] took over a stale state lock ({reason}): {holder.id}, "
                f"{holder.operation} by {holder.username}@{holder.host} pid {holder.pid}. Steps "
                "it left running are recorded as interrupted by the next apply."
            )

        timeout_s = parse_duration(timeout, "--lock-timeout")
        with state_lock(store.db, workspace, operation, timeout_s, taken_over) as held:
            store.lock = held
            try:
                yield
            finally:
                store.lock = None

    def print_diagnostics(self, diagnostics: Iterable[Diagnostic]) -> None:
        from zenctl.render.diagnostics import render_diagnostic

        for diagnostic in diagnostics:
            render_diagnostic(self.stderr, diagnostic, self.root)

    def close(self) -> None:
        """Close the stores the call opened: a process that runs another call (the tests) must
        not keep their connections, nor let the garbage collector close them mid-call."""
        for store in self.stores:
            store.close()

    def trace(self) -> None:
        """With ZENCTL_TRACE=1, print how many SQL statements the command issued and how many
        bytes it hashed, for the benchmark to check its own set-up (a "first" plan that hashed
        nothing would time the stat cache, not the hashing)."""
        if os.environ.get("ZENCTL_TRACE") == "1":
            total = sum(store.db.statements for store in self.stores)
            print(f"sql-statements: {total}", file=sys.stderr)
            print(f"hashed-bytes: {_hashed_bytes() - self.hashed_before}", file=sys.stderr)


def invocation(ctx: typer.Context) -> Invocation:
    """The invocation `run` handed to click, from any command's context."""
    found = ctx.obj
    assert isinstance(found, Invocation), "zenctl's commands run through zenctl.cli.app.run"
    return found
