"""The model server a `serving "local"` deployment runs: 127.0.0.1, standard library HTTP.

`GET /health` says which process serves which model; `POST /predict` takes
`{"rows": [...]}` (a list of objects with the feature columns, or of lists) and answers
`{"predictions": [...]}`. On SIGHUP the server loads the model file again and swaps it in
once loaded, so requests in flight during an update are answered by the old model: none fail.
The model path is fixed at start: a request can never make the server unpickle another file.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from zenctl.sdk import hash_bytes, load_value

MAX_BODY = 64 * 1024 * 1024


class Model:
    """The model being served; replaced whole, so a request sees one model or the other."""

    def __init__(self, path: Path, materializer: str) -> None:
        self.path = path
        self.materializer = materializer
        self.current: tuple[str, Any] = self._load()
        self._lock = threading.Lock()

    def _load(self) -> tuple[str, Any]:
        data = self.path.read_bytes()
        return hash_bytes(data), load_value(self.materializer, data)

    def reload(self) -> None:
        with self._lock:  # two quick SIGHUPs: load twice in turn, never interleaved
            self.current = self._load()


def predict(model: Any, rows: list[Any]) -> list[Any]:
    if rows and all(isinstance(row, dict) for row in rows):
        import pandas

        batch: Any = pandas.DataFrame(rows)
    else:
        import numpy

        batch = numpy.asarray(rows)
    predictions = model.predict(batch)
    return [item.item() if hasattr(item, "item") else item for item in predictions]


def make_handler(model: Model) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path != "/health":
                self._reply(404, {"error": "not found: use GET /health or POST /predict"})
                return
            digest, _ = model.current
            port = int(self.server.server_address[1])  # type: ignore[index]
            self._reply(200, {"status": "ok", "pid": os.getpid(), "port": port, "model": digest})

        def do_POST(self) -> None:
            if self.path != "/predict":
                self._reply(404, {"error": "not found: use POST /predict"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._reply(413, {"error": f"body larger than {MAX_BODY} bytes"})
                return
            try:
                body = json.loads(self.rfile.read(length) or b"null")
                rows = body["rows"]
                if not isinstance(rows, list):
                    raise TypeError("rows must be a list")
            except (ValueError, KeyError, TypeError) as exc:
                self._reply(400, {"error": f'send {{"rows": [...]}} as JSON ({exc})'})
                return
            digest, current = model.current
            try:
                predictions = predict(current, rows)
            except Exception as exc:  # the model rejected the rows: the caller's to fix
                self._reply(422, {"error": f"{type(exc).__name__}: {exc}"})
                return
            self._reply(200, {"predictions": predictions, "model": digest})

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per request would fill the log; errors are answered, not logged

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--materializer", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready", type=Path, required=True, help="written once serving")
    args = parser.parse_args()
    model = Model(args.model, args.materializer)
    try:
        server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(model))
    except OSError as exc:  # taken since the provider checked it: one line in the log
        if exc.errno != errno.EADDRINUSE:
            raise
        sys.exit(f"port {args.port} is in use on 127.0.0.1; 0 takes any free port")
    server.daemon_threads = True
    signal.signal(signal.SIGHUP, lambda *_: threading.Thread(target=model.reload).start())
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    ready = {"pid": os.getpid(), "port": server.server_address[1]}
    temporary = args.ready.with_suffix(".tmp")
    temporary.write_text(json.dumps(ready))
    os.replace(temporary, args.ready)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
