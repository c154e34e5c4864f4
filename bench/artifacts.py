"""What a large artifact costs: a step's value stored and read back, against doing it by hand.

    python bench/artifacts.py [--size-mib 1024] [--kinds numpy,pandas,directory] [--rounds 3]
                              [--work DIR]

For each kind of value (a numpy array, a pandas DataFrame stored as parquet, a directory of
files), of `--size-mib`, it runs `zenctl apply` of a two-step project (`produce` returns the
value, `consume` reads it back and sums it) in a temporary folder, and the same work by hand
in a fresh interpreter on the same disk: allocate + `np.save` / `to_parquet` / write the files,
then `np.load` / `read_parquet` / read the files. It prints, beside the targets of
docs/benchmarks.md (each at most 1.2x):

- store: the producing step's duration as zenctl records it (allocation included, as in the
  reference) against allocate + save, and against allocate + save + fsync (zenctl syncs what
  it keeps, so that a power cut loses nothing it recorded);
- peak: the producing worker's peak memory (VmHWM, reset when the step starts) over the size;
- storing: the same peak from the moment the value is made (VmHWM reset again then), the value
  included: what storing it costs, whatever making it did (a DataFrame's construction copies);
- read: the consuming step's duration (inputs verified and loaded, then summed) against a load
  + sum by hand.

Each figure is the median of `--rounds` rounds, zenctl and the references interleaved, so that
the disk's writeback and other work on the machine fall on each alike.

Run it with the interpreter of the venv where zenctl is installed (its `zenctl` script is
what runs). Needs about 3x `--size-mib` free on the disk of `--work`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Sequence
from pathlib import Path

from machine import describe

TARGET = 1.2
KINDS = ("numpy", "pandas", "directory")
FILES = 16  # a directory output's files

# Shared by the steps and the by-hand reference: make the value, save it, load it, measure.
COMMON = textwrap.dedent(
    """\
    import json, os, re, sys, threading, time
    from pathlib import Path

    import numpy as np

    SIZE = {size}
    FILES = {files}


    def status(key):
        text = Path("/proc/self/status").read_text()
        return int(re.search(key + r":\\s+(\\d+) kB", text).group(1)) * 1024


    def reset_peak():
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM back to VmRSS
        return status("VmRSS")


    def made_peak(base):
        # the peak of making the value, then VmHWM reset: what follows is storing it
        peak = status("VmHWM") - base
        reset_peak()
        return peak


    def make(kind, folder):
        if kind == "numpy":
            return np.full(SIZE // 8, 1.0)
        if kind == "pandas":
            import pandas as pd

            columns = 8
            rows = SIZE // 8 // columns
            return pd.DataFrame({{f"c{{i}}": np.full(rows, float(i)) for i in range(columns)}})
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(FILES):
            np.full(SIZE // FILES // 8, float(i)).tofile(folder / f"part-{{i:02}}.bin")
        return folder


    def total(kind, value):
        if kind == "numpy":
            return float(value.sum())
        if kind == "pandas":
            return float(value.to_numpy().sum())
        return float(sum(np.fromfile(path).sum() for path in sorted(value.iterdir())))
    """
)

STEPS = textwrap.dedent(
    """\
    from common import *

    HERE = Path(__file__).parent


    def watch_peak(base, made):
        # The peak rises after the step's code returns, while the worker stores the value,
        # until the next step starts: its log opens before it loads its input, maybe in this
        # worker (a DataFrame read back is not the producer's memory).
        def sample():
            storing = 0
            while not any(HERE.glob(".zenctl/artifacts/logs/*/*.consume.log")):
                if status("VmHWM") - base > storing:
                    storing = status("VmHWM") - base
                    peaks = {"peak": max(made, storing), "storing": storing}
                    (HERE / "peak.new").write_text(json.dumps(peaks))
                    (HERE / "peak.new").replace(HERE / "peak")
                time.sleep(0.005)

        threading.Thread(target=sample, daemon=True).start()


    def produce(kind):
        import tempfile

        base = reset_peak()
        value = make(kind, Path(tempfile.mkdtemp()) / "out")
        watch_peak(base, made_peak(base))
        return value


    def consume(value, kind):
        return total(kind, value)
    """
)

MAIN = """
pipeline "bench" {{
  step "produce" {{
    run    = "steps:produce"
    params = {{ kind = "{kind}" }}
  }}
  step "consume" {{
    run    = "steps:consume"
    inputs = {{ value = step.produce.outputs.output }}
    params = {{ kind = "{kind}" }}
  }}
}}
"""

BY_HAND = textwrap.dedent(
    """\
    from common import *

    kind, path, sync = sys.argv[1], Path(sys.argv[2]), sys.argv[3] == "sync"
    base = reset_peak()
    started = time.perf_counter()
    value = make(kind, path)
    made = made_peak(base)
    if kind == "numpy":
        np.save(path, value, allow_pickle=False)
    elif kind == "pandas":
        value.to_parquet(path, index=True)
    files = sorted(path.iterdir()) if path.is_dir() else [path]
    if sync:
        for file in files:
            fd = os.open(file, os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
    stored = time.perf_counter() - started
    storing = status("VmHWM") - base
    del value
    started = time.perf_counter()
    if kind == "numpy":
        loaded = np.load(files[0], allow_pickle=False)
    elif kind == "pandas":
        import pandas as pd

        loaded = pd.read_parquet(path)
    else:
        loaded = path
    total(kind, loaded)
    read = time.perf_counter() - started
    peaks = {"peak": max(made, storing), "storing": storing}
    print(json.dumps({"store": stored, **peaks, "read": read}))
    """
)


def zenctl_run(kind: str, size: int, work: Path) -> dict[str, float]:
    """The two-step project applied once: its steps' recorded durations and the peak."""
    project = Path(tempfile.mkdtemp(dir=work, prefix=f"zenctl-{kind}-"))
    os.sync()  # each run starts with nothing of the last one left to write back
    try:
        (project / "common.py").write_text(COMMON.format(size=size, files=FILES))
        (project / "steps.py").write_text(STEPS)
        (project / "main.zc.hcl").write_text(MAIN.format(kind=kind))
        zenctl = str(Path(sys.executable).parent / "zenctl")
        done = subprocess.run(
            [zenctl, "-C", str(project), "apply", "--auto-approve"],
            capture_output=True,
            text=True,
            env={**os.environ, "ZENCTL_CACHE_DIR": str(project / ".cache")},
        )
        if done.returncode != 0:
            raise SystemExit(f"zenctl apply failed:\n{done.stdout}\n{done.stderr}")
        with sqlite3.connect(project / ".zenctl" / "metadata.db") as db:
            durations = dict(db.execute("SELECT address, duration FROM step_executions"))
        return {
            "store": durations["pipeline.bench.step.produce"],
            **json.loads((project / "peak").read_text()),
            "read": durations["pipeline.bench.step.consume"],
        }
    finally:
        shutil.rmtree(project, ignore_errors=True)


def by_hand(kind: str, size: int, work: Path, sync: bool) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(dir=work, prefix=f"hand-{kind}-"))
    os.sync()
    try:
        (folder / "common.py").write_text(COMMON.format(size=size, files=FILES))
        (folder / "by_hand.py").write_text(BY_HAND)
        target = folder / ("value" if kind != "numpy" else "value.npy")
        done = subprocess.run(
            [sys.executable, str(folder / "by_hand.py"), kind, str(target), "sync" * sync],
            capture_output=True,
            text=True,
            cwd=folder,
        )
        if done.returncode != 0:
            raise SystemExit(f"the reference failed:\n{done.stderr}")
        figures: dict[str, float] = json.loads(done.stdout)
        return figures
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def verdict(value: float) -> str:
    return "ok" if value <= TARGET else "over"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()))
    opts = parser.parse_args(argv)
    size = opts.size_mib << 20
    free = shutil.disk_usage(opts.work).free
    if free < 3 * size:
        raise SystemExit(f"{opts.work} has {free >> 20} MiB free; needs {3 * size >> 20}")
    for name, value in describe({}):
        print(f"{name}: {value}")
    print(f"size: {opts.size_mib} MiB, work folder: {opts.work}\n")
    header = f"{'kind':<10} {'figure':<8} {'zenctl':>9} {'by hand':>9} {'+ fsync':>9} {'ratio':>14}"
    print(header)
    for kind in opts.kinds.split(","):
        rounds = [
            (
                by_hand(kind, size, opts.work, sync=False),
                by_hand(kind, size, opts.work, sync=True),
                zenctl_run(kind, size, opts.work),
            )
            for _ in range(opts.rounds)
        ]
        hand, synced, ours = (median([r[i] for r in rounds]) for i in range(3))
        store = ours["store"] / hand["store"]
        store_synced = ours["store"] / synced["store"]
        peak = ours["peak"] / size
        storing = ours["storing"] / size
        read = ours["read"] / hand["read"]
        print(
            f"{kind:<10} {'store':<8} {ours['store']:>8.2f}s {hand['store']:>8.2f}s "
            f"{synced['store']:>8.2f}s {store:>5.2f}x/{store_synced:.2f}x {verdict(store_synced)}"
        )
        print(
            f"{'':<10} {'peak':<8} {ours['peak'] / 2**20:>6.0f}MiB {hand['peak'] / 2**20:>6.0f}MiB "
            f"{'':>9} {peak:>5.2f}x size {verdict(peak)}"
        )
        print(
            f"{'':<10} {'storing':<8} {ours['storing'] / 2**20:>6.0f}MiB "
            f"{hand['storing'] / 2**20:>6.0f}MiB {'':>9} {storing:>5.2f}x size {verdict(storing)}"
        )
        print(
            f"{'':<10} {'read':<8} {ours['read']:>8.2f}s {hand['read']:>8.2f}s {'':>9} "
            f"{read:>5.2f}x {verdict(read)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
