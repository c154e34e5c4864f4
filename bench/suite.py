"""The measurements: what each workload asks of every tool, and which rows it reports.

Each measurement builds one *trial* per tool (untimed setup, then timed commands) and hands them
to :func:`measure.interleave`, which alternates tools round by round. Rows are derived from the
medians only, so a figure in the table is always "median of N rounds" and never a best case.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from measure import (
    Cell,
    Command,
    Figure,
    Samples,
    Trial,
    interleave,
    medians,
    peak_rss_mib,
    stderr_field,
)
from report import Row, Target
from rich.console import Console
from tools import Tool, Zenctl, source_pool
from workloads import Workload, big_source, chain, fan, sleepers

PRIMARY = "zenctl"
SHAPE_MAKERS: dict[str, Callable[[int], Workload]] = {"chain": chain, "fan": fan}
PARALLEL_STEPS = 8
PARALLELISM = 2
# From these sizes on, a peer needs minutes per round (DVC runs ~0.5-1 s per stage, ZenML
# ~0.6 s per step; `dvc status` of 1,000 stages takes tens of seconds): such measurements give
# peers ``Suite.heavy_rounds`` rounds instead of ``Suite.rounds``.
HEAVY_APPLY_STEPS = 100
HEAVY_PLAN_STEPS = 1000

Results = dict[str, Samples | str]
Derive = Callable[[Mapping[str, float]], Cell]


def seconds(metric: str) -> Derive:
    """Row value: the median of ``metric`` in seconds."""
    return lambda med: Figure(med[metric], "s")


def per_step_ms(metric: str, steps: int) -> Derive:
    """Row value: median wall time divided by the step count, in ms (fixed cost per step)."""
    return lambda med: Figure(med[metric] * 1000 / steps, "ms")


def slope_ms(small: str, large: str, extra_steps: int) -> Derive:
    """Row value: what each added step costs, from the medians at two sizes, in ms."""
    return lambda med: Figure((med[large] - med[small]) * 1000 / extra_steps, "ms")


def extra_ms(metric: str, baseline: str) -> Derive:
    """Row value: how much longer than the baseline run, in ms (what the file itself costs)."""
    return lambda med: Figure((med[metric] - med[baseline]) * 1000, "ms")


def throughput(metric: str, baseline: str, size: int) -> Derive:
    """Row value: GB/s hashed, i.e. size / (time - the baseline plan that skips the hashing)."""

    def derive(med: Mapping[str, float]) -> Cell:
        spent = med[metric] - med[baseline]
        if spent <= 0:
            return "n/a (no slower than empty file)"
        return Figure(size / 1e9 / spent, "GB/s", higher_is_better=True)

    return derive


def under(limit: float, text: str, peer_factors: Mapping[str, float] | None = None) -> Target:
    """Target "value below ``limit``", and at least ``peer_factors[peer]`` times below a peer's.

    A peer without a figure in this run (not installed, failed) does not count against it.
    """

    def met(zen: Figure, row: Mapping[str, Cell]) -> bool:
        for peer, factor in (peer_factors or {}).items():
            other = row.get(peer)
            if isinstance(other, Figure) and other.value < factor * zen.value:
                return False
        return zen.value < limit

    return Target(text, met)


def at_least(limit: float, text: str) -> Target:
    """Target "value at or above ``limit``" (throughputs)."""
    return Target(text, lambda zen, _row: zen.value >= limit)


def same_as(reference: int | None, size: int) -> Target:
    """Target "the same count as at ``size`` steps" (a constant number of queries)."""
    return Target(
        f"same as at {size} steps",
        lambda zen, _row: reference is not None and zen.value == reference,
    )


def ensure_source(path: Path, size: int) -> None:
    """Create the big source once (reused across runs): 1 MiB blocks, each one different."""
    if path.exists() and path.stat().st_size == size:
        return
    block = os.urandom(1 << 20)
    with path.open("wb") as out:
        for index in range(size >> 20):
            out.write(index.to_bytes(8, "little") + block[8:])
        out.write(block[: size % (1 << 20)])


@contextmanager
def one_byte_appended(path: Path) -> Iterator[None]:
    """Append a byte for the "file changed" plan, then restore the file for the next round.

    Its times are restored too: a file modified within the last second is re-hashed by
    design (racy-git rule), which would turn the next round's "unchanged" plan into a re-hash.
    """
    before = path.stat()
    with path.open("ab") as out:
        out.write(b"\n")
    try:
        yield
    finally:
        os.truncate(path, before.st_size)
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


@dataclass
class Suite:
    """Runs every measurement over ``tools`` and collects the table rows."""

    zenctl: Zenctl
    peers: Sequence[Tool]
    unavailable: Mapping[str, str]
    rounds: int
    heavy_rounds: int
    console: Console
    rows: list[Row] = field(default_factory=list)
    broken: dict[str, dict[str, str]] = field(default_factory=dict)
    first_applies: dict[str, list[tuple[int, Results]]] = field(default_factory=dict)
    next_k: int = 2

    @property
    def tools(self) -> list[Tool]:
        """zenctl first, so each round runs A, B, A, B with zenctl as A."""
        return [self.zenctl, *self.peers]

    def measure(
        self,
        scope: str,
        title: str,
        make: Callable[[Tool], Trial | None],
        warmup: bool = False,
        heavy: bool = False,
    ) -> Results:
        """Interleave one trial per tool; a peer that failed earlier in ``scope`` sits it out.

        Without this, a DVC project whose first ``repro`` failed would be "measured" again by
        every later workload on the same folder and report misleading times. ``heavy``
        measurements give peers only ``heavy_rounds`` rounds (minutes each at 1,000 steps).
        """
        peer_rounds = min(self.rounds, self.heavy_rounds) if heavy else self.rounds
        rounds = {t.name: self.rounds if t.primary else peer_rounds for t in self.tools}
        shown = f"{self.rounds}" + (f", peers {peer_rounds}" if peer_rounds != self.rounds else "")
        self.console.print(f"[dim]{scope}: {title} ({shown} round(s))[/]")
        broken = self.broken.setdefault(scope, {})
        trials = {t.name: None if t.name in broken else make(t) for t in self.tools}
        results = interleave(trials, rounds, PRIMARY, warmup)
        for name, result in results.items():
            if name in broken:
                results[name] = broken[name]
            elif isinstance(result, str) and result.startswith("failed"):
                broken[name] = result
        return results

    def add(
        self, label: str, results: Results, derive: Derive, target: Target | None = None
    ) -> None:
        """Turn each tool's medians into one cell of a new row, and echo the row as progress."""
        cells: dict[str, Cell] = {}
        for name, result in {**results, **self.unavailable}.items():
            if isinstance(result, str):
                cells[name] = result
                continue
            try:
                cells[name] = derive(medians(result))
            except KeyError:
                cells[name] = "n/a"
        self.rows.append(Row(label, cells, target))
        summary = ", ".join(f"{name} {cell}" for name, cell in cells.items())
        self.console.print(f"  {label}: {summary}", markup=False)

    # -- measurements 1-4: chain and fan graphs ------------------------------------------------

    def graph(self, wl: Workload) -> None:
        """First apply, warm plan, cached apply, then one param edited: plan and apply."""
        n, heavy = wl.n, wl.n >= HEAVY_APPLY_STEPS
        first = self.measure(
            wl.label, "first apply", lambda t: self.first_apply_trial(t, wl), heavy=heavy
        )
        self.first_applies.setdefault(wl.shape, []).append((n, first))
        self.add(f"{wl.label}: first apply", first, seconds("apply"))
        # At 10 steps start-up dominates wall / N; the target is about larger graphs.
        self.add(
            f"{wl.label}: first apply, per step",
            first,
            per_step_ms("apply", n),
            under(10, "< 10 ms/step") if n >= 100 else None,
        )
        plan = self.measure(
            wl.label,
            "warm plan",
            lambda t: self.warm_plan_trial(t, wl),
            warmup=True,
            heavy=n >= HEAVY_PLAN_STEPS,
        )
        self.add(
            f"{wl.label}: plan, all cached (warm)", plan, seconds("plan"), self.warm_plan_target(n)
        )
        cold = self.measure(wl.label, "cold plan", lambda t: self.cold_plan_trial(t, wl))
        self.add(
            f"{wl.label}: plan, all cached (cold: HCL parsed)",
            cold,
            seconds("plan"),
            under(1, "< 1 s (no caches)") if n == 1000 else None,
        )
        cached = self.measure(
            wl.label, "cached apply", lambda t: self.apply_trial(t, wl), heavy=heavy
        )
        self.add(f"{wl.label}: apply, all cached", cached, seconds("apply"))
        edit = self.measure(
            wl.label, f"edit {wl.middle.name}.k", lambda t: self.edit_trial(t, wl), heavy=heavy
        )
        self.add(
            f"{wl.label}: plan after 1 param change",
            edit,
            seconds("plan"),
            self.edit_plan_target(n),
        )
        self.add(f"{wl.label}: apply after 1 param change", edit, seconds("apply"))

    @staticmethod
    def edit_plan_target(n: int) -> Target | None:
        """Issue 15's goals: a one-line edit to 1,000 steps plans in < 0.5 s; at 10 steps in
        at most half of DVC's time."""
        if n == 1000:
            return under(0.5, "< 0.5 s")
        if n == 10:
            return under(float("inf"), "<= 0.5x DVC", {"DVC": 2})
        return None

    @staticmethod
    def warm_plan_target(n: int) -> Target | None:
        """The published goals: < 0.5 s at 100 steps, < 1 s at 1,000; 10x DVC, 20x ZenML."""
        limits = {100: "0.5", 1000: "1"}
        if n not in limits:
            return None
        return under(
            float(limits[n]),
            f"< {limits[n]} s, >= 10x DVC, >= 20x ZenML",
            {"DVC": 10, "ZenML": 20},
        )

    @staticmethod
    def first_apply_trial(tool: Tool, wl: Workload, parallelism: int | None = None) -> Trial | None:
        """Fresh project each round and one plan of it (untimed), then the timed uncached apply.

        The plan is what a user runs before applying (and it leaves zenctl's parsed-config
        cache warm): the cold parse is its own row, so this row is the apply's own cost.
        """
        if not tool.supports(wl):
            return None

        def trial() -> dict[str, float]:
            tool.create(wl)
            preview = tool.plan(wl)
            if preview is not None:
                tool.run(preview)
            command = tool.apply(wl, first=True, parallelism=parallelism)
            return {"apply": tool.run(command).seconds}

        return trial

    @staticmethod
    def warm_plan_trial(tool: Tool, wl: Workload) -> Trial | None:
        """Plan an applied project; the tool must agree nothing is left to do.

        A peer that does not apply a graph this large may still have it seeded (untimed), so
        that its plan of the largest graphs is measured too.
        """
        if not tool.supports(wl) and not tool.seed_applied(wl):
            return None
        command = tool.find_cached(wl)
        if command is None:
            return None

        return lambda: _clean_plan(tool, command, wl)

    @staticmethod
    def cold_plan_trial(tool: Tool, wl: Workload) -> Trial | None:
        """Plan an applied project after dropping the parsed-config cache: HCL is parsed again.

        Only a tool with such a cache has a cold case distinct from its warm one.
        """
        cache = tool.config_cache(wl)
        command = tool.plan(wl)
        if cache is None or command is None:
            return None

        def trial() -> dict[str, float]:
            shutil.rmtree(cache, ignore_errors=True)
            return _clean_plan(tool, command, wl)

        return trial

    @staticmethod
    def apply_trial(tool: Tool, wl: Workload) -> Trial | None:
        """Apply an applied project: pure cache checking."""
        if not tool.supports(wl):
            return None
        return lambda: {"apply": tool.run(tool.apply(wl)).seconds}

    def edit_trial(self, tool: Tool, wl: Workload) -> Trial | None:
        """Set the middle step's ``k`` to a never-used value, then time plan and apply.

        A fresh value each round keeps every round a real change: going back to an old value
        could be served from a cache and would measure something else.
        """
        if not tool.supports(wl):
            return None

        def trial() -> dict[str, float]:
            changed = wl.with_k(wl.middle.name, self.next_k)
            self.next_k += 1
            tool.write_params(changed)
            out: dict[str, float] = {}
            plan = tool.plan(changed)
            if plan is not None:
                out["plan"] = tool.run(plan).seconds
            out["apply"] = tool.run(tool.apply(changed)).seconds
            return out

        return trial

    def marginal_step_cost(self) -> None:
        """Per shape: (first apply at the largest size - at the smallest) / extra steps.

        wall / N mixes start-up into the per-step figure; the slope between two sizes is what
        one more step really costs.
        """
        for shape, runs in self.first_applies.items():
            if len(runs) < 2:
                continue
            (small, low), (large, high) = runs[0], runs[-1]
            merged: Results = {}
            for name, result in high.items():
                before = low.get(name, "n/a")
                if isinstance(before, str) or isinstance(result, str):
                    merged[name] = before if isinstance(before, str) else str(result)
                else:
                    merged[name] = {
                        "small": before.get("apply", []),
                        "large": result.get("apply", []),
                    }
            self.add(
                f"{shape}: first apply, cost per added step ({small} -> {large} steps)",
                merged,
                slope_ms("small", "large", large - small),
                under(10, "< 10 ms/step"),
            )

    # -- measurement 5: hashing a big source --------------------------------------------------

    def big_file(self, size_mb: int) -> None:
        """Plan a one-step project on an empty file and on a ``size_mb`` MiB file.

        Throughputs subtract the unchanged replan of the same project, which does all the same
        work but the read and hash (two projects differ by more than noise allows); the
        empty-file plans are the baseline of what an unchanged big file costs.
        """
        empty, big = big_source(0), big_source(size_mb)
        for wl in (empty, big):
            ensure_source(source_pool(self.zenctl.work, wl), wl.source_bytes or 0)
        res = self.measure(
            big.label, "plans of a big source", lambda t: self.big_file_trial(t, empty, big)
        )
        size, mib = big.source_bytes or 0, f"{size_mb} MiB"
        self.add("empty source: first plan (baseline)", res, seconds("empty-first"))
        self.add(f"{mib} source: first plan", res, seconds("big-first"))
        self.add(
            f"{mib} source: hashing throughput",
            res,
            throughput("big-first", "big-again", size),
            at_least(2, ">= 2 GB/s"),
        )
        self.add("empty source: replan (baseline)", res, seconds("empty-again"))
        self.add(f"{mib} source: replan, unchanged", res, seconds("big-again"))
        self.add(
            f"{mib} source: replan unchanged, extra",
            res,
            extra_ms("big-again", "empty-again"),
            under(50, "< 50 ms"),
        )
        self.add(f"{mib} source: replan after appending 1 byte", res, seconds("big-appended"))
        self.add(
            f"{mib} source: rehash throughput", res, throughput("big-appended", "big-again", size)
        )

    def big_file_trial(self, tool: Tool, empty: Workload, big: Workload) -> Trial | None:
        """Per round: forget hashes, plan twice on each file, then plan after a 1-byte append."""
        if tool.plan(big) is None:
            return None

        def plan(wl: Workload) -> float:
            return tool.run(tool.plan(wl)).seconds

        def trial() -> dict[str, float]:
            out: dict[str, float] = {}
            for wl, name in ((empty, "empty"), (big, "big")):
                tool.forget_hashes(wl)
                out[f"{name}-first"] = plan(wl)
                out[f"{name}-again"] = plan(wl)
            with one_byte_appended(source_pool(tool.work, big)):
                out["big-appended"] = plan(big)
            return out

        return trial

    # -- measurement 6: start-up, memory, parallelism ----------------------------------------

    def startup(self) -> None:
        """``--help`` and ``version``: the fixed price of every command a user types."""

        def trial(tool: Tool) -> Trial | None:
            help_cmd, version_cmd = tool.startup("help"), tool.startup("version")
            if help_cmd is None or version_cmd is None:
                return None
            return lambda: {
                "help": tool.run(help_cmd).seconds,
                "version": tool.run(version_cmd).seconds,
            }

        res = self.measure("startup", "--help and version", trial, warmup=True)
        self.add("--help", res, seconds("help"), under(0.3, "< 0.3 s"))
        self.add("version", res, seconds("version"))

    def peak_rss(self, wl: Workload) -> None:
        """Peak memory of planning the largest chain (which must already be applied)."""

        def trial(tool: Tool) -> Trial | None:
            command = tool.plan(wl) if tool.supports(wl) else None
            if command is None:
                return None
            return lambda: {"rss": peak_rss_mib(command)}

        res = self.measure(wl.label, "peak RSS of plan", trial)
        self.add(f"{wl.label}: plan peak RSS", res, lambda med: Figure(med["rss"], "MiB"))

    def parallel(self) -> None:
        """8 one-second steps at parallelism 2: ~4 s if the scheduler really overlaps them."""
        wl = sleepers(PARALLEL_STEPS)
        res = self.measure(
            wl.label,
            f"apply, parallelism {PARALLELISM}",
            lambda t: self.first_apply_trial(t, wl, PARALLELISM),
        )
        self.add(
            f"{PARALLEL_STEPS} x sleep(1) steps, parallelism {PARALLELISM}",
            res,
            seconds("apply"),
            under(4.5, "< 4.5 s"),
        )

    # -- measurement 7: SQL statements --------------------------------------------------------

    def sql_statements(self, sizes: Sequence[int], shape: Callable[[int], Workload]) -> None:
        """Statements one plan issues: equal counts across sizes means no query per step."""
        first: int | None = None
        for n in sorted({min(sizes), max(sizes)}):
            wl = shape(n)
            command = self.zenctl.plan(wl, extra_env={"ZENCTL_TRACE": "1"})
            count = stderr_field(self.zenctl.run(command).stderr, "sql-statements")
            cells: dict[str, Cell] = {**{t.name: "n/a" for t in self.peers}, **self.unavailable}
            cells[PRIMARY] = Figure(count, "") if count is not None else "n/a"
            target = None if n == min(sizes) else same_as(first, min(sizes))
            self.rows.append(Row(f"{wl.label}: SQL statements per plan", cells, target))
            self.console.print(
                f"  {wl.label}: SQL statements per plan: {cells[PRIMARY]}", markup=False
            )
            first = count if first is None else first

    # -- everything ---------------------------------------------------------------------------

    def run_all(self, sizes: Sequence[int], shapes: Sequence[str], big_mb: int) -> None:
        """All measurements: the quick ones first, then graphs from the smallest size up."""
        self.startup()
        self.parallel()
        self.big_file(big_mb)
        for n in sorted(sizes):
            for shape in shapes:
                self.graph(SHAPE_MAKERS[shape](n))
        self.marginal_step_cost()
        measured = SHAPE_MAKERS[shapes[0]]  # applied above: RSS and SQL plans are warm
        self.peak_rss(measured(max(sizes)))
        self.sql_statements(sizes, measured)


def _clean_plan(tool: Tool, command: Command, wl: Workload) -> dict[str, float]:
    """Time a plan of an applied project; the tool must agree nothing is left to do."""
    outcome = tool.run(command)
    tool.check_clean(outcome, command, wl)
    return {"plan": outcome.seconds}
