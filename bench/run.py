"""zenctl benchmark: plan/apply latency against DVC (and optionally ZenML).

    python bench/run.py [--sizes 10,100,1000] [--shapes chain,fan] [--rounds 3] [--quick]
                        [--heavy-rounds 1] [--peer-max-steps 100] [--big-file-mb 1024]
                        [--peers dvc,zenml | --no-peers] [--work DIR]
                        [--also artifacts,serving,gpus | --also none]

After the plan/apply table, the figures of the other scripts (`--also`, all of them unless
``--quick``): large artifacts (``artifacts.py``, at ``--big-file-mb``), the model server's
latency (``serving.py``) and the GPU assignment check (``gpus.py``, skipped without one).

Run it with the interpreter of the venv where zenctl is installed: the ``zenctl`` console
script next to that interpreter is what gets measured. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from machine import describe, load
from measure import Command, CommandFailed, run_command
from peers import Peer, dvc_peer, install, zenml_peer
from report import print_table, write_results
from rich.console import Console
from rich.markup import escape
from suite import SHAPE_MAKERS, Suite
from tools import Dvc, Tool, Zenctl, ZenML

BENCH = Path(__file__).resolve().parent
VENVS = BENCH / ".venvs"


@dataclass(frozen=True)
class Preset:
    """Defaults for the flags not given: the full run, or ``--quick``'s smoke test."""

    sizes: tuple[int, ...]
    rounds: int
    big_file_mb: int


FULL = Preset(sizes=(10, 100, 1000), rounds=3, big_file_mb=1024)
QUICK = Preset(sizes=(10, 100), rounds=1, big_file_mb=64)
PEERS = ("dvc", "zenml")
OTHERS = ("artifacts", "serving", "gpus")
SHAPES = tuple(SHAPE_MAKERS)


@dataclass(frozen=True)
class Options:
    """The resolved command line: ``--quick`` supplies defaults, explicit flags win."""

    sizes: list[int]
    shapes: tuple[str, ...]
    rounds: int
    heavy_rounds: int
    peer_max_steps: int
    big_file_mb: int
    peers: tuple[str, ...]
    work: Path
    also: tuple[str, ...]


def parse_sizes(text: str) -> list[int]:
    """``"10,100"`` -> [10, 100]; at least 3 steps so the fan shape has a middle."""
    try:
        sizes = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a list of integers: {text!r}") from exc
    if not sizes or sizes[0] < 3:
        raise argparse.ArgumentTypeError("sizes must be integers >= 3")
    return sizes


def choices(known: tuple[str, ...], what: str) -> Callable[[str], tuple[str, ...]]:
    """A parser of ``"a,b"`` -> ("a", "b") that accepts only ``known`` names."""

    def parse(text: str) -> tuple[str, ...]:
        picked = tuple(dict.fromkeys(p.strip().lower() for p in text.split(",") if p.strip()))
        unknown = [p for p in picked if p not in known]
        if unknown or not picked:
            raise argparse.ArgumentTypeError(f"unknown {what} {unknown}: choose from {known}")
        return picked

    return parse


def parse_args(argv: Sequence[str]) -> Options:
    """Parse the command line (the flags of the brief, documented in docs/benchmarks.md)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--sizes", type=parse_sizes, help="step counts (default 10,100,1000)")
    parser.add_argument(
        "--shapes",
        type=choices(SHAPES, "shape(s)"),
        default=SHAPES,
        help="graph shapes to measure (default chain,fan)",
    )
    parser.add_argument(
        "--rounds", type=int, help="rounds per tool; medians are reported (default 3)"
    )
    parser.add_argument(
        "--heavy-rounds",
        type=int,
        default=1,
        help="rounds a peer gets for applies of >= 100 steps and plans of >= 1,000 (default 1)",
    )
    parser.add_argument(
        "--peer-max-steps",
        type=int,
        default=100,
        help="largest graph a peer takes part in; bigger ones read n/a (default 100)",
    )
    parser.add_argument(
        "--big-file-mb", type=int, help="size of the hashed source in MiB (default 1024)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: sizes 10,100, 1 round, 64 MiB file"
    )
    peers = parser.add_mutually_exclusive_group()
    peers.add_argument(
        "--peers",
        type=choices(PEERS, "peer(s)"),
        default=PEERS,
        help="peers to compare with, installed into bench/.venvs if missing (default dvc,zenml)",
    )
    peers.add_argument("--no-peers", action="store_true", help="measure zenctl alone")
    parser.add_argument(
        "--work",
        type=Path,
        default=BENCH / ".work",
        help="folder for the generated projects and results.md (default bench/.work)",
    )
    parser.add_argument(
        "--also",
        type=lambda text: () if text == "none" else choices(OTHERS, "script(s)")(text),
        help="the other scripts' figures to print after the table: artifacts,serving,gpus "
        "(default: all, none with --quick), or none",
    )
    ns = parser.parse_args(argv)
    preset = QUICK if ns.quick else FULL
    rounds: int = preset.rounds if ns.rounds is None else ns.rounds
    big: int = preset.big_file_mb if ns.big_file_mb is None else ns.big_file_mb
    if min(rounds, ns.heavy_rounds, ns.peer_max_steps, big) < 1:
        parser.error("--rounds, --heavy-rounds, --peer-max-steps, --big-file-mb must be >= 1")
    return Options(
        sizes=ns.sizes or list(preset.sizes),
        shapes=ns.shapes,
        rounds=rounds,
        heavy_rounds=ns.heavy_rounds,
        peer_max_steps=ns.peer_max_steps,
        big_file_mb=big,
        peers=() if ns.no_peers else ns.peers,
        work=ns.work.resolve(),
        also=(() if ns.quick else OTHERS) if ns.also is None else ns.also,
    )


def find_zenctl(work: Path) -> Zenctl:
    """zenctl from this interpreter's bin folder, so the venv under test is unambiguous."""
    executable = Path(sys.executable).parent / "zenctl"
    if not executable.exists():
        raise SystemExit(
            f"zenctl not found at {executable}: run this script with the Python "
            "of the venv where zenctl is installed (e.g. .venv/bin/python)."
        )
    return Zenctl(work, executable)


def ready_peer(peer: Peer, console: Console) -> str | None:
    """Install ``peer`` if missing; return why it is unavailable, or None."""
    if peer.installed:
        return None
    console.print(f"Installing {peer.spec} into {peer.venv} (once) ...", markup=False)
    try:
        install(peer)
    except CommandFailed as exc:
        return f"failed: install: {exc.reason}"
    return None


@contextmanager
def peer_tools(opts: Options, console: Console) -> Iterator[tuple[list[Tool], dict[str, str]]]:
    """The peers to measure, plus a "failed: …" reason for each one that could not be set up.

    ZenML's store lives in a temporary ``ZENML_CONFIG_PATH`` removed on exit, so runs never
    see each other's cache or pollute the user's own ZenML configuration.
    """
    tools: list[Tool] = []
    unavailable: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="zenml-config-") as config:
        for name in opts.peers:
            peer = dvc_peer(VENVS) if name == "dvc" else zenml_peer(VENVS)
            reason = ready_peer(peer, console)
            if reason:
                console.print(f"{peer.name}: {reason}", markup=False)
                unavailable[peer.name] = reason
            elif name == "dvc":
                tools.append(Dvc(opts.work, peer.bin_dir, opts.peer_max_steps))
            else:
                tools.append(ZenML(opts.work, peer.bin_dir, Path(config), opts.peer_max_steps))
        yield tools, unavailable


def source_revision() -> str:
    """`` (git abc1234, modified)`` for the checkout this script lives in, if it is one.

    zenctl's version number does not change between commits, but its speed does.
    """
    try:
        head = run_command(Command(("git", "rev-parse", "--short", "HEAD"), BENCH, {}, 30.0))
        dirty = run_command(
            Command(("git", "status", "--porcelain", "--", "zenctl"), BENCH, {}, 30.0)
        )
    except CommandFailed:
        return ""
    return f" (git {head.stdout.strip()}{', modified' if dirty.stdout.strip() else ''})"


def versions(zenctl: Zenctl, peers: Sequence[Tool], console: Console) -> dict[str, str]:
    """Each tool's version; a peer that cannot even say its version is reported, not fatal."""
    found = {"zenctl": f"{zenctl.version()}{source_revision()}"}
    for peer in peers:
        try:
            found[peer.name] = peer.version()
        except CommandFailed as exc:
            found[peer.name] = f"unknown ({exc.reason})"
            console.print(f"{peer.name}: could not read its version: {exc.reason}", markup=False)
    return found


def benchmark(opts: Options, console: Console, command_line: str) -> None:
    """Describe the machine, run every measurement, print and save the table."""
    opts.work.mkdir(parents=True, exist_ok=True)
    zenctl = find_zenctl(opts.work)
    with peer_tools(opts, console) as (peers, unavailable):
        machine = describe(versions(zenctl, peers, console))
        for key, value in machine:
            console.print(f"[bold]{key}:[/] {escape(value)}")
        suite = Suite(zenctl, peers, unavailable, opts.rounds, opts.heavy_rounds, console)
        suite.run_all(opts.sizes, opts.shapes, opts.big_file_mb)
    # The load at the end says whether the machine stayed as quiet as it was at the start.
    machine.append(("Load average at end", load()))
    console.print(f"[bold]Load average at end:[/] {machine[-1][1]}")
    peer_names = [t.name for t in peers] + [
        n for n in unavailable if n not in {t.name for t in peers}
    ]
    print_table(console, suite.rows, peer_names)
    results = opts.work / "results.md"
    write_results(results, machine, command_line, suite.rows, peer_names)
    console.print(f"Markdown table written to {results}", markup=False)
    others(opts, console)


def others(opts: Options, console: Console) -> None:
    """The figures of the other scripts, each printing its own table (docs/benchmarks.md)."""
    import artifacts
    import gpus
    import serving

    runs: dict[str, Callable[[], int]] = {
        "artifacts": lambda: artifacts.main(
            ["--size-mib", str(opts.big_file_mb), "--rounds", str(opts.rounds)]
        ),
        "serving": lambda: serving.main([]),
        "gpus": gpus.main,
    }
    for name in opts.also:
        console.print(f"\n[bold]bench/{name}.py[/]")
        if runs[name]() != 0:
            raise SystemExit(f"bench/{name}.py failed")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; a zenctl failure stops everything and shows what zenctl said."""
    args = list(sys.argv[1:] if argv is None else argv)
    opts = parse_args(args)
    # Piped output would wrap the table at 80 columns; a log file has no width limit.
    console = Console() if sys.stdout.isatty() else Console(width=200)
    command_line = shlex.join(["python", "bench/run.py", *args])
    try:
        benchmark(opts, console, command_line)
    except CommandFailed as exc:
        console.print(
            f"[bold red]zenctl failed[/]: {escape(str(exc.command))}\n{escape(exc.reason)}"
        )
        if exc.stderr:
            console.print(exc.stderr, markup=False, highlight=False)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
