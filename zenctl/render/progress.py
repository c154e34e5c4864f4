"""Apply progress: a line per event (as Terraform prints), a live status line on a terminal,
and without one (CI) a heartbeat line per running step every 30 s, so that a CI log is
never silent for minutes."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.status import Status

from zenctl.apply.resources import ResourceOutcome
from zenctl.apply.walker import ApplyResult
from zenctl.diagnostics import Diagnostic
from zenctl.durations import clock
from zenctl.fingerprint.canonical import short
from zenctl.plan.model import Plan, StepPlan
from zenctl.providers.protocol import StepResult
from zenctl.render.diagnostics import display_path, render_diagnostic
from zenctl.render.plan_text import format_duration

HEARTBEAT_S = 30.0

# Held while the heartbeat thread prints, and by a fork: a process forked while that thread
# is inside print would inherit stdout's lock held, and hang at its first flush. zenctl's own
# workers start from a forkserver (zenctl/apply/forking.py), but a provider or a step run in
# this process may still fork. One per process, as forks are.
_PRINTING = threading.Lock()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_PRINTING.acquire,
        after_in_parent=_PRINTING.release,
        after_in_child=_PRINTING.release,
    )


class ProgressReporter:
    """`heartbeat`: seconds between a running step's `<address>: running 2m30s` lines when
    the console is not a terminal (0: none)."""

    def __init__(self, console: Console, total: int, heartbeat: float = HEARTBEAT_S) -> None:
        self.console = console
        self.total = total
        self.done = 0
        self.running: dict[str, float] = {}  # address -> when it started (perf_counter)
        self.heartbeat = heartbeat
        self._due: dict[str, float] = {}  # address -> when its next heartbeat is due
        self._expected: dict[str, float | None] = {}  # address -> its past runs' duration
        self._lock = threading.Lock()  # the heartbeat thread reads what the walker's changes
        self._stopped = threading.Event()
        self._beating: threading.Thread | None = None
        self._status: Status | None = None

    def __enter__(self) -> ProgressReporter:
        if self.console.is_terminal:
            self._status = self.console.status("Applying...")
            self._status.start()
        elif self.heartbeat > 0:
            self._beating = threading.Thread(
                target=self._beat, name="zenctl-heartbeat", daemon=True
            )
            self._beating.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._status is not None:
            self._status.stop()
        if self._beating is not None:
            self._stopped.set()
            self._beating.join()

    def _beat(self) -> None:
        """Print each running step's heartbeat when due, until the apply ends."""
        while not self._stopped.wait(min(self.heartbeat, 1.0)):
            now = time.perf_counter()
            with self._lock:
                due = [address for address, when in self._due.items() if when <= now]
                for address in due:
                    self._due[address] = now + self.heartbeat
                lines = [self._beat_line(address, now - self.running[address]) for address in due]
            with _PRINTING:
                for line in lines:
                    self.console.print(line)

    def _beat_line(self, address: str, elapsed: float) -> str:
        """`pipeline.p.step.train: running 2m30s (past runs: ~4m10s)`, where history knows."""
        expected = self._expected.get(address)
        usual = f" (past runs: ~{clock(expected)})" if expected is not None else ""
        return f"{escape(address)}: running {clock(elapsed)}{usual}"

    def _refresh(self) -> None:
        if self._status is not None:
            names = ", ".join(address.rsplit(".", 1)[-1] for address in self.running)
            self._status.update(f"Applying: {self.done}/{self.total} done; running {names or '-'}")

    def began(self, run_id: str) -> None:
        """The first line of the apply: its run, for `zenctl logs --run` and `zenctl runs`."""
        self.console.print(f"Run {run_id}")

    def say(self, address: str, message: str) -> None:
        """A resource's progress: `pipeline.iris.deployment.iris: Creating...`."""
        self.console.print(f"{escape(address)}: {escape(message)}")

    def started(self, step: StepPlan, note: str = "") -> None:
        now = time.perf_counter()
        with self._lock:
            self.running[step.address] = now
            self._due[step.address] = now + self.heartbeat
            self._expected[step.address] = step.expected_duration
        where = f" {note}" if note else ""
        self.console.print(f"{escape(step.address)}: Running{escape(where)}...")
        self._refresh()

    def _finish(self, step: StepPlan) -> float:
        self.done += 1
        with self._lock:
            started = self.running.pop(step.address, time.perf_counter())
            self._due.pop(step.address, None)
            self._expected.pop(step.address, None)
        self._refresh()
        return time.perf_counter() - started

    def reused(self, step: StepPlan, note: str) -> None:
        self.done += 1
        self.console.print(f"{escape(step.address)}: [dim]Cached ({escape(note)})[/]")
        self._refresh()

    def succeeded(self, step: StepPlan, result: StepResult) -> None:
        self._finish(step)
        produced = ", ".join(
            f"{name} {short(item['hash'])}" for name, item in result.outputs.items()
        )
        # the duration recorded, which `show`, `runs show` and the plan's estimate use too
        self.console.print(
            f"{escape(step.address)}: [green]Done[/] after {format_duration(result.duration)} "
            f"[dim]({escape(produced)})[/]"
        )

    def failed(self, step: StepPlan, error: str, log_path: str) -> None:
        elapsed = self._finish(step)
        self.console.print(
            f"{escape(step.address)}: [red]Failed[/] after {format_duration(elapsed)}: "
            + escape(error)
        )

    def skipped(self, step: StepPlan, because: str) -> None:
        self.done += 1
        self.console.print(f"{escape(step.address)}: [yellow]Skipped[/] ({escape(because)} failed)")
        self._refresh()


def say_to(console: Console) -> Callable[[str, str], None]:
    def say(address: str, message: str) -> None:
        console.print(f"{escape(address)}: {escape(message)}")

    return say


def _resource_failures(err: Console, outcomes: list[ResourceOutcome], root: Path) -> None:
    failed = [outcome for outcome in outcomes if outcome.error]
    if failed:
        render_diagnostic(
            err,
            Diagnostic(
                "error",
                f"{len(failed)} resource(s) failed",
                "\n".join(f"{o.address} ({o.action.value}): {o.error}" for o in failed)
                + "\nThe others are recorded; fix the cause and run the command again.",
            ),
            root,
        )


def render_destroy_result(
    out: Console, err: Console, outcomes: list[ResourceOutcome], root: Path
) -> bool:
    """Print the outcome of `zenctl destroy`; False when some resource failed."""
    destroyed = sum(1 for outcome in outcomes if not outcome.error)
    if any(outcome.error for outcome in outcomes):
        out.print(f"\n{destroyed} destroyed.")
        _resource_failures(err, outcomes, root)
        return False
    out.print(f"\n[bold green]Destroy complete![/] Resources: {destroyed} destroyed.")
    return True


def render_apply_result(
    out: Console, err: Console, plan: Plan, result: ApplyResult, root: Path
) -> None:
    counts = (
        f"{len(result.ran)} ran, {result.summary(len(plan.cached))['cached']} cached, "
        f"{len(result.removed)} removed"
    )
    if plan.resources:
        added, changed, destroyed = result.resource_counts
        counts += f"; {added} added, {changed} changed, {destroyed} destroyed"
    _resource_failures(err, result.resources, root)
    if result.status == "succeeded":
        out.print(f"\n[bold green]Apply complete![/] {counts}.")
        return
    if result.status == "interrupted":
        out.print(
            f"\n[bold yellow]Apply interrupted.[/] {counts}; interrupted: "
            f"{', '.join(result.interrupted)}. Finished steps are recorded; run apply again."
        )
        return
    out.print(f"\n{counts}.")
    if not result.failed:
        return
    lines = [
        f"{address}: {error}" + (f"\n  log: {display_path(log, root)}" if log else "")
        for address, error, log in result.failed
    ]
    skipped = f"\n{len(result.skipped)} dependent step(s) skipped." if result.skipped else ""
    render_diagnostic(
        err,
        Diagnostic(
            "error",
            f"{len(result.failed)} step(s) failed",
            "\n".join(lines) + skipped + "\nFix the failure and run apply again: finished "
            "steps are recorded and stay cached.",
        ),
        root,
    )
