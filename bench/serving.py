"""Latency and throughput of the local model server's V2 inference endpoint.

    python bench/serving.py [--requests 2000] [--concurrency 1,8,32] [--rows 1]

Trains the iris classifier (scikit-learn's bundled copy: no download), starts the model server a
`serving "local"` deployment runs (`python -m zenctl_local.server`, as apply starts it), and
sends `--requests` `POST /v2/models/iris/infer` requests from `--concurrency` client threads,
each on its own keep-alive connection. Prints p50/p99 latency and requests per second for each
concurrency. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from machine import describe

from zenctl.sdk import dump_value

START_TIMEOUT = 60.0


def iris_model() -> object:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    data = load_iris(as_frame=True)
    model = Pipeline([("scale", StandardScaler()), ("classify", LogisticRegression())])
    return model.fit(data.data, data.target_names[data.target])


def start_server(folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    """The server process and its port, once it serves."""
    materializer, data = dump_value(iris_model())
    (folder / "model").write_bytes(data)
    ready = folder / "ready.json"
    server = subprocess.Popen(
        [sys.executable, "-m", "zenctl_local.server", "--model", str(folder / "model"),
         "--materializer", materializer, "--name", "iris", "--ready", str(ready)],
    )  # fmt: skip
    deadline = time.monotonic() + START_TIMEOUT
    while not ready.exists():
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise SystemExit("the model server did not start")
        time.sleep(0.05)
    return server, int(json.loads(ready.read_text())["port"])


def body(rows: int) -> bytes:
    flower = [5.1, 3.5, 1.4, 0.2]
    tensor = {"name": "input-0", "shape": [rows, 4], "datatype": "FP64", "data": flower * rows}
    return json.dumps({"inputs": [tensor]}).encode()


def load(port: int, requests: int, concurrency: int, payload: bytes) -> tuple[list[float], float]:
    """Every request's latency in seconds, and the wall time of the whole run."""
    tickets = itertools.count()  # next() on a count is atomic under the GIL
    latencies: list[float] = []
    failures: list[str] = []

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        while next(tickets) < requests:
            started = time.perf_counter()
            connection.request("POST", "/v2/models/iris/infer", payload)
            response = connection.getresponse()
            answer = response.read()
            mine.append(time.perf_counter() - started)
            if response.status != 200:
                failures.append(f"{response.status} {answer.decode(errors='replace')}")
        connection.close()
        latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} requests failed, the first: {failures[0]}")
    return latencies, wall


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=2000, help="per concurrency level")
    parser.add_argument(
        "--concurrency",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[1, 8, 32],
        help="client threads, e.g. 1,8,32 (default)",
    )
    parser.add_argument("--rows", type=int, default=1, help="rows (flowers) per request")
    args = parser.parse_args(argv)
    if min(args.requests, args.rows, *args.concurrency) < 1:
        parser.error("--requests, --concurrency and --rows must be >= 1")
    for key, value in describe({}):
        print(f"{key}: {value}")
    payload = body(args.rows)
    with tempfile.TemporaryDirectory(prefix="zenctl-serving-bench-") as folder:
        server, port = start_server(Path(folder))
        try:
            load(port, 50, 4, payload)  # warm-up: imports, first predictions
            print(f"\nPOST /v2/models/iris/infer, {args.rows} row(s) a request\n")
            print("| concurrency | requests | p50 ms | p99 ms | requests/s |")
            print("|---:|---:|---:|---:|---:|")
            for concurrency in args.concurrency:
                latencies, wall = load(port, args.requests, concurrency, payload)
                print(
                    f"| {concurrency} | {len(latencies)} | {percentile(latencies, 0.5) * 1000:.2f}"
                    f" | {percentile(latencies, 0.99) * 1000:.2f} | {len(latencies) / wall:.0f} |"
                )
        finally:
            server.terminate()
            server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
