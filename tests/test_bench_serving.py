"""`bench/serving.py` at a tiny size, so the serving benchmark cannot rot; no timing asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SERVING = Path(__file__).resolve().parent.parent / "bench" / "serving.py"


def test_serving_benchmark_prints_a_row_per_concurrency() -> None:
    done = subprocess.run(
        [sys.executable, str(SERVING), "--requests", "20", "--concurrency", "1,3"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert rows[0] == "| concurrency | requests | p50 ms | p99 ms | requests/s |"
    assert [row.split(" | ")[:2] for row in rows[1:]] == [["| 1", "20"], ["| 3", "20"]]
