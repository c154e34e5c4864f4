"""`bench/artifacts.py` at a tiny size, so the artifact benchmark cannot rot; no timing asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parent.parent / "bench" / "artifacts.py"


def test_artifact_benchmark_prints_each_figure_of_each_kind(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ARTIFACTS), "--size-mib", "4", "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line.split() for line in done.stdout.splitlines()]
    kinds = [words[0] for words in lines if words[1:2] == ["store"]]
    assert kinds == ["numpy", "pandas", "directory"], done.stdout
    for figure in ("peak", "storing", "read"):
        assert [words[0] for words in lines if words[:1] == [figure]] == [figure] * 3
