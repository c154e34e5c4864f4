"""The benchmark's smoke test: `bench/run.py` at a tiny size, so the harness cannot rot.

No timing is asserted (figures depend on the machine and its load). The test checks what a
reader of docs/benchmarks.md relies on: every row of the table got a figure for zenctl, the
warm plans really found everything cached (the harness fails otherwise), and the results file
carries the machine description and the command that produced it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

RUN = Path(__file__).resolve().parent.parent / "bench" / "run.py"
# the other scripts' figures too (`--also`): artifacts at --big-file-mb, the GPU check (which
# says it skipped where there is none); serving has its own smoke test
ARGS = (
    *("--sizes", "3,5", "--rounds", "1", "--big-file-mb", "1", "--no-peers"),
    *("--also", "artifacts,gpus"),
)


def table(markdown: str) -> dict[str, list[str]]:
    """`{workload: [cells after the workload]}` from the markdown table of results.md."""
    rows: dict[str, list[str]] = {}
    for line in markdown.splitlines():
        if line.startswith("| ") and not line.startswith("| workload"):
            cells = [cell.strip() for cell in line.strip("|").split(" | ")]
            rows[cells[0]] = cells[1:]
    return rows


@pytest.mark.slow
def test_benchmark_runs_every_measurement_at_a_tiny_size(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(RUN), *ARGS, "--work", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "bench/artifacts.py" in done.stdout and "bench/gpus.py" in done.stdout
    assert all(figure in done.stdout for figure in ("store", "peak", "read")), done.stdout
    results = (tmp_path / "results.md").read_text()
    for key in ("Load average at start", "Load average at end", "zenctl", "Command"):
        assert f"- {key}: " in results
    assert "bench/run.py --sizes 3,5 --rounds 1" in results

    rows = table(results)
    expected = [
        f"{shape}-{n}: {what}"
        for shape in ("chain", "fan")
        for n in (3, 5)
        for what in (
            "first apply",
            "plan, all cached (warm)",
            "plan, all cached (cold: HCL parsed)",
            "apply, all cached",
            "plan after 1 param change",
            "apply after 1 param change",
        )
    ]
    expected += [
        "1 MiB source: first plan",
        "1 MiB source: replan, unchanged",
        "1 MiB source: replan after appending 1 byte",
        "--help",
        "version",
        "chain-5: plan peak RSS",
        "8 x sleep(1) steps, parallelism 2",
    ]
    for workload in expected:
        assert workload in rows, f"missing row {workload!r} in\n{results}"
        figure = rows[workload][0]
        assert figure.endswith((" ms", " s", " MiB")), f"{workload}: {figure!r}"

    # A plan's statement count must not grow with the graph: 3 and 5 steps issue the same.
    small, large = (
        rows["chain-3: SQL statements per plan"],
        rows["chain-5: SQL statements per plan"],
    )
    assert small[0].isdigit() and small[0] == large[0], (small, large)
    assert large[-1] == "same as at 3 steps: met"
