"""Running commands and turning their wall times into figures.

Every number in the report comes from :func:`run_command`, so all tools are timed the same way
(fork/exec included, output captured, a hard timeout) and no workload has its own stopwatch.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

# A tiny parent that runs the measured command and reports the peak RSS of its children. Run in
# a fresh interpreter so RUSAGE_CHILDREN covers that one command and nothing we ran before.
_RSS_PROBE = """
import resource, subprocess, sys
rc = subprocess.run(sys.argv[1:]).returncode
print("peak-rss:", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
sys.exit(rc)
"""


class CommandFailed(Exception):
    """A measured command exited non-zero or ran past its timeout."""

    def __init__(self, command: Command, reason: str, stderr: str = "") -> None:
        super().__init__(reason)
        self.command = command
        self.reason = reason
        self.stderr = stderr


@dataclass(frozen=True)
class Command:
    """Everything needed to run one process reproducibly."""

    argv: tuple[str, ...]
    cwd: Path
    env: Mapping[str, str] = field(default_factory=dict)  # empty: inherit ours
    timeout: float = 600.0

    def __str__(self) -> str:
        return " ".join(self.argv)


@dataclass(frozen=True)
class Outcome:
    """What one run of a command produced."""

    seconds: float
    stdout: str
    stderr: str


def run_command(command: Command) -> Outcome:
    """Run ``command`` and return its wall time; raise :class:`CommandFailed` on any failure."""
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            command.argv,
            cwd=command.cwd,
            env=dict(command.env) or None,
            capture_output=True,
            text=True,
            timeout=command.timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise CommandFailed(command, f"timed out after {command.timeout:.0f} s") from exc
    except OSError as exc:
        raise CommandFailed(command, f"could not start: {exc}") from exc
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        reason = f"exit {proc.returncode}: {last_line(proc.stderr) or last_line(proc.stdout)}"
        raise CommandFailed(command, reason, proc.stderr or proc.stdout)
    return Outcome(seconds, proc.stdout, proc.stderr)


def last_line(text: str) -> str:
    """The last non-empty line, trimmed: enough to say why something failed in a table cell."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:120] if lines else ""


def peak_rss_mib(command: Command) -> float:
    """Peak resident memory of ``command`` in MiB, measured by a fresh probe parent."""
    probed = Command(
        (sys.executable, "-c", _RSS_PROBE, *command.argv), command.cwd, command.env, command.timeout
    )
    outcome = run_command(probed)
    value = stderr_field(outcome.stderr, "peak-rss")
    if value is None:
        raise CommandFailed(command, "the RSS probe printed nothing")
    # ru_maxrss is KiB on Linux and bytes on macOS.
    return value / (1024 * 1024) if sys.platform == "darwin" else value / 1024


def stderr_field(stderr: str, name: str) -> int | None:
    """The integer of the last ``name: N`` line in ``stderr`` (how zenctl and the probe report)."""
    prefix = f"{name}:"
    for line in reversed(stderr.splitlines()):
        if line.startswith(prefix):
            try:
                return int(line[len(prefix) :].strip())
            except ValueError:
                return None
    return None


@dataclass(frozen=True)
class Figure:
    """A measured quantity with its unit; ``higher_is_better`` flips how ratios read."""

    value: float
    unit: str
    higher_is_better: bool = False

    def __str__(self) -> str:
        if self.unit == "s":
            return f"{self.value * 1000:.0f} ms" if self.value < 1 else f"{self.value:.2f} s"
        if self.unit == "ms":
            return f"{self.value:.1f} ms"
        if self.unit == "":
            return f"{self.value:.0f}"
        return f"{self.value:.2f} {self.unit}"


Cell = Figure | str
"""A table cell: a figure, or a word such as ``n/a`` or ``failed: …``."""


def ratio(zenctl: Cell, peer: Cell) -> str:
    """How zenctl compares with a peer, phrased from zenctl's side ("7.3x faster")."""
    if not (isinstance(zenctl, Figure) and isinstance(peer, Figure)):
        return ""
    if zenctl.unit != peer.unit or zenctl.value <= 0 or peer.value <= 0 or zenctl.unit == "":
        return ""
    better, worse = ("less memory", "more memory") if zenctl.unit == "MiB" else ("faster", "slower")
    times = zenctl.value / peer.value if zenctl.higher_is_better else peer.value / zenctl.value
    return f"{times:.1f}x {better}" if times >= 1 else f"{1 / times:.1f}x {worse}"


Trial = Callable[[], Mapping[str, float]]
"""One round for one tool: does its untimed setup, returns named measurements (seconds, MiB)."""

Samples = dict[str, list[float]]
"""Every round's value of each named measurement of one tool."""


def interleave(
    trials: Mapping[str, Trial | None],
    rounds: Mapping[str, int],
    primary: str,
    warmup: bool = False,
) -> dict[str, Samples | str]:
    """Run each tool's trial ``rounds[tool]`` times as A, B, A, B so drift hits all tools alike.

    A tool with fewer rounds (a peer that needs minutes per round) simply sits out the last
    ones. A peer's failure is kept as ``"failed: <reason>"`` and that peer sits out the
    remaining rounds; the primary tool's failure propagates, since a benchmark of a broken
    zenctl means nothing. A ``None`` trial means the tool cannot do this workload: ``"n/a"``.
    With ``warmup`` an extra first round is run and thrown away (caches, .pyc files, page
    cache).
    """
    results: dict[str, Samples | str] = {
        name: {} if trial else "n/a" for name, trial in trials.items()
    }
    extra = 1 if warmup else 0
    for round_no in range(max(rounds.values(), default=0) + extra):
        for name, trial in trials.items():
            samples = results[name]
            if trial is None or isinstance(samples, str) or round_no >= rounds[name] + extra:
                continue
            try:
                values = trial()
            except CommandFailed as exc:
                if name == primary:
                    raise
                results[name] = f"failed: {exc.reason}"
                continue
            if warmup and round_no == 0:
                continue
            for metric, value in values.items():
                samples.setdefault(metric, []).append(value)
    return results


def medians(samples: Samples) -> dict[str, float]:
    """Median of each measurement: robust to the one round a background task slowed down."""
    return {metric: statistics.median(values) for metric, values in samples.items() if values}
