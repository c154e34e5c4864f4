"""The model server a `serving "local"` deployment runs: 127.0.0.1, standard library HTTP.

It speaks the Open Inference Protocol (KServe V2, `/v2/...`: see v2.py and docs/serving.md),
its model named `--name` (the deployment's name). `GET /health` says which process serves
which model; `POST /predict` takes `{"rows": [...]}` (a list of objects with the feature
columns, or of lists) and answers `{"predictions": [...]}`. On SIGHUP the server loads the
model file again and swaps it in once loaded, so requests in flight during an update are
answered by the old model: none fail.
The model path is fixed at start: a request can never make the server unpickle another file.

Bad clients cost one answer, never the server: a body needs a Content-Length within
`--max-body`; a client silent for `--read-timeout` is dropped; at most MAX_CONNECTIONS threads;
every error, ours included, is one line of JSON on the wire and at most one line in the log.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import re
import signal
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from zenctl.sdk import hash_bytes, load_value
from zenctl_local import v2
from zenctl_local.v2 import RequestError

MAX_BODY = 16 * 1024 * 1024
READ_TIMEOUT = 10.0
# Each connection is a thread; past this many the server answers 503 at once instead of
# starting more. Above the 200 concurrent clients the load test sends.
MAX_CONNECTIONS = 256
V2_MODEL = re.compile(
    r"^/v2/models/(?P<name>[^/]+)(?:/versions/(?P<version>[^/]+))?(?P<verb>/ready|/infer)?$"
)


class Model:
    """The model being served; replaced whole, so a request sees one model or the other."""

    def __init__(self, path: Path, materializer: str) -> None:
        self.path = path
        self.materializer = materializer
        self.current: tuple[str, Any] = self._load()
        self.failed: tuple[str, str] | None = None  # a model that could not replace it: why
        self._lock = threading.Lock()

    def _load(self) -> tuple[str, Any]:
        data = self.path.read_bytes()
        sidecar = self.path.with_name(f"{self.path.name}.materializer")
        materializer = sidecar.read_text() if sidecar.exists() else self.materializer
        digest, value = hash_bytes(data), load_value(materializer, data)
        if not callable(getattr(value, "predict", None)):
            raise TypeError(
                f"the model is a {type(value).__module__}.{type(value).__qualname__}, which has "
                "no predict method: deploy the output of a step that returns a fitted model"
            )
        self.materializer = materializer
        return digest, value

    def reload(self) -> None:
        with self._lock:  # two quick SIGHUPs: load twice in turn, never interleaved
            try:
                self.current, self.failed = self._load(), None
            except Exception as exc:  # the old model keeps serving; /health says why
                self.failed = (hash_bytes(self.path.read_bytes()), f"{type(exc).__name__}: {exc}")
                log_line(f"reload: {self.failed[1]}")


_log_lock = threading.Lock()


def log_line(text: str) -> None:
    """One line of the server's log: whole, however many threads write at once."""
    with _log_lock:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


def predict(model: Any, rows: list[Any]) -> list[Any]:
    columns = getattr(model, "feature_names_in_", None)
    if rows and all(isinstance(row, dict) for row in rows):
        import pandas

        batch: Any = pandas.DataFrame(rows)
    elif columns is not None:  # as fitted: its features by name, and no warning per request
        import pandas

        batch = pandas.DataFrame(rows, columns=list(columns))
    else:
        import numpy

        batch = numpy.asarray(rows)
    predictions = model.predict(batch)
    return [item.item() if hasattr(item, "item") else item for item in predictions]


class Server(ThreadingHTTPServer):
    """One thread per connection, at most MAX_CONNECTIONS of them; errors as one log line."""

    daemon_threads = True
    request_queue_size = 1024  # a burst of connections waits in the backlog, not refused

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if self.slots.acquire(blocking=False):
            super().process_request(request, client_address)
            return
        with contextlib.suppress(OSError):
            error = json.dumps({"error": f"busy: {MAX_CONNECTIONS} connections open"}).encode()
            request.sendall(
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(error), error)
            )
        self.shutdown_request(request)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that went away mid-answer: one line in the log, never a traceback
        error = sys.exc_info()[1]
        log_line(f"{client_address[0]}:{client_address[1]}: {error!r}")


class Rejected(RequestError):
    """A request answered with an error before its body was read: the connection closes."""


def make_handler(
    model: Model, name: str, max_body: int = MAX_BODY, read_timeout: float = READ_TIMEOUT
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = read_timeout  # a client that stops sending is dropped, not waited for
        # headers and body leave in two writes: with Nagle's algorithm on, the body waited
        # for the client's delayed ACK, 40 ms a request on Linux
        disable_nagle_algorithm = True

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)

        def send_error(
            self, code: int, message: str | None = None, explain: str | None = None
        ) -> None:
            """http.server's own rejections (bad request line, huge headers) as JSON too."""
            self.close_connection = True
            self._reply(code, {"error": message or self.responses.get(code, ("error",))[0]})

        def _body(self) -> bytes:
            """The request body, within the limits: 411, 400 or 413 otherwise."""
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                raise Rejected("send the body with a Content-Length, not chunked", 411)
            text = self.headers.get("Content-Length")
            if text is None:
                raise Rejected("Content-Length required", 411)
            if not text.strip().isdigit():
                raise Rejected(f"Content-Length {text!r} is not a non-negative integer", 400)
            length = int(text)
            if length > max_body:
                raise Rejected(f"body of {length} bytes is over the limit of {max_body}", 413)
            body = self.rfile.read(length)
            if len(body) != length:
                raise Rejected(f"body ended after {len(body)} of {length} bytes", 400)
            return body

        def _answer(self, respond: Callable[[], tuple[int, dict[str, Any]]]) -> None:
            """Run `respond()` and send what it returns; every failure is one JSON line."""
            try:
                status, body = respond()
            except TimeoutError:
                self.close_connection = True
                status, body = 408, {"error": f"no data for {read_timeout:g}s: closing"}
            except RequestError as exc:
                if isinstance(exc, Rejected):  # its unread body must not pass for a request
                    self.close_connection = True
                status, body = exc.status, {"error": str(exc)}
            except Exception as exc:  # a bug of ours: answered and logged, in one line
                log_line(f"{self.command} {self.path}: {exc!r}")
                status, body = 500, {"error": f"internal error: {exc!r}"}  # repr: one line
            self._reply(status, body)

        def parse_request(self) -> bool:
            try:
                return super().parse_request()
            except TimeoutError:  # silent mid-headers: answered as silence mid-body is
                self.close_connection = True
                self._reply(408, {"error": f"no data for {read_timeout:g}s: closing"})
                return False

        def do_GET(self) -> None:
            self._answer(self._get)

        def do_POST(self) -> None:
            self._answer(self._post)

        @property
        def route(self) -> str:
            return self.path.split("?", 1)[0]  # V2 clients may add a query string

        def _get(self) -> tuple[int, dict[str, Any]]:
            digest, current = model.current
            if self.route == "/health":
                port = int(self.server.server_address[1])  # type: ignore[index]
                health = {"status": "ok", "pid": os.getpid(), "port": port, "model": digest}
                if model.failed:  # a new model it could not load: which, and why
                    health |= {"failed": model.failed[0], "error": model.failed[1]}
                return 200, health
            if self.route in ("/v2/health/live", "/v2/health/ready"):
                return 200, {self.route.rsplit("/", 1)[1]: True}
            if self.route in ("/v2", "/v2/"):
                return 200, v2.server_metadata()
            match = V2_MODEL.match(self.route)
            if match and match["verb"] != "/infer":
                self._v2_model(match, digest)
                if match["verb"] == "/ready":
                    return 200, {"name": name, "ready": True}
                return 200, v2.model_metadata(name, digest, current)
            raise RequestError(f"not found: GET {self.path}; see GET /v2/models/{name}", 404)

        def _post(self) -> tuple[int, dict[str, Any]]:
            digest, current = model.current  # one model answers the whole request
            match = V2_MODEL.match(self.route)
            if self.route != "/predict" and not (match and match["verb"] == "/infer"):
                raise Rejected(
                    f"not found: POST {self.path}; use POST /v2/models/{name}/infer", 404
                )
            if match:
                self._v2_model(match, digest)
            body = self._body()
            header = self.headers.get("Inference-Header-Content-Length", str(len(body)))
            if not header.strip().isdigit() or int(header) > len(body):
                raise RequestError(
                    f"Inference-Header-Content-Length {header!r} is not a length within the body"
                )
            try:
                request = json.loads(body[: int(header)])
            except ValueError as exc:
                raise RequestError(f"the body is not JSON: {exc}") from None
            if match:
                return 200, v2.infer(name, digest, current, request, body[int(header) :])
            rows = request.get("rows") if isinstance(request, dict) else None
            if not isinstance(rows, list):
                raise RequestError('send {"rows": [...]} as JSON')
            try:
                predictions = predict(current, rows)
            except Exception as exc:
                raise v2.ModelError(exc) from None
            return 200, {"predictions": predictions, "model": digest}

        def _v2_model(self, match: re.Match[str], digest: str) -> None:
            """404 unless the path names this server's model (and its version, if any)."""
            if match["name"] != name:
                raise Rejected(f"unknown model {match['name']!r}: this server serves {name!r}", 404)
            if match["version"] not in (None, digest):
                raise Rejected(
                    f"unknown version {match['version']!r} of {name!r}: it is {digest}", 404
                )

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per request would fill the log; errors are answered, not logged

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--materializer", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--name", required=True, help="the model's name in /v2/models/NAME")
    parser.add_argument("--max-body", type=int, default=MAX_BODY, help="bytes; more: 413")
    parser.add_argument("--read-timeout", type=float, default=READ_TIMEOUT, help="seconds")
    parser.add_argument("--ready", type=Path, required=True, help="written once serving")
    args = parser.parse_args()
    try:
        model = Model(args.model, args.materializer)
    except TypeError as exc:  # not a model: one line in the log, which create quotes
        sys.exit(str(exc))
    handler = make_handler(model, args.name, args.max_body, args.read_timeout)
    try:
        server = Server(("127.0.0.1", args.port), handler)
    except OSError as exc:  # taken since the provider checked it: one line in the log
        if exc.errno != errno.EADDRINUSE:
            raise
        sys.exit(f"port {args.port} is in use on 127.0.0.1; 0 takes any free port")
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
