"""`serving "local"`: each deployment is a model server process on 127.0.0.1.

The process outlives `zenctl apply`; its state (pid, port, the hash of the model it serves)
is what `read` checks through `GET /health`. A new model is written beside the server and
swapped in by SIGHUP (see server.py), so an update never drops a request.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from zenctl.sdk import (
    Attributes,
    Resource,
    ResourceContext,
    UserError,
    ensure_private_dir,
    parse_duration,
    pid_alive,
    project_dir,
    write_atomic,
)

START_TIMEOUT = 60.0  # importing scikit-learn on a busy 2-core machine takes seconds
STOP_TIMEOUT = 10.0


class LocalServing(Resource):
    replace_on = frozenset({"port", "max_body_mb", "read_timeout"})  # fixed at the start

    def __init__(self, port: int, max_body_mb: int, read_timeout: str) -> None:
        self.port = port
        self.max_body = max_body_mb * 1024 * 1024
        self.read_timeout = parse_duration(read_timeout, "serving read_timeout")
        if self.read_timeout <= 0:  # a socket timeout of 0 would make every read fail at once
            raise UserError(
                f"serving read_timeout {read_timeout!r} is not a duration above 0",
                'Give the time a client may stay silent mid-request, e.g. "10s".',
            )

    @classmethod
    def from_settings(cls, settings: dict[str, Any], root: Path) -> LocalServing:
        return cls(int(settings["port"]), settings["max_body_mb"], settings["read_timeout"])

    @staticmethod
    def _folder(context: ResourceContext) -> Path:
        return project_dir(context.root) / "serving" / context.workspace / context.address

    def read(self, state: Attributes, context: ResourceContext) -> Attributes | None:
        health = _health(int(state["port"]))
        if health is not None:
            return _state(health)
        # busy (every connection taken) or stopped, but running: still there, and never to
        # be started a second time beside it
        return dict(state) if _ours(int(state["pid"]), self._folder(context)) else None

    def create(self, desired: Attributes, context: ResourceContext) -> Attributes:
        _check_port_free(self.port)
        folder = ensure_private_dir(self._folder(context))
        materializer = _write_model(folder, desired["model"], context)
        ready = folder / "ready.json"
        ready.unlink(missing_ok=True)
        log = (folder / "server.log").open("ab")
        with log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "zenctl_local.server",
                    "--model",
                    str(folder / "model"),
                    "--materializer",
                    materializer,
                    "--port",
                    str(self.port),
                    "--name",
                    context.address.rsplit(".", 1)[1],  # the deployment's own name
                    "--max-body",
                    str(self.max_body),
                    "--read-timeout",
                    str(self.read_timeout),
                    "--ready",
                    str(ready),
                ],
                cwd=context.root,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # outlives zenctl, and Ctrl-C in its terminal
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not ready.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                _terminate(process.pid)
                tail = (folder / "server.log").read_text(errors="replace").strip()
                what = (
                    f"It exited with code {process.returncode}"
                    if process.returncode is not None
                    else f"It was not serving after {START_TIMEOUT:.0f}s"
                )
                raise UserError(
                    f"The model server for {context.address} did not start",
                    f"{what}. The end of its log ({folder / 'server.log'}):\n"
                    + "\n".join(tail.splitlines()[-8:]),
                )
            time.sleep(0.05)
        port = int(json.loads(ready.read_text())["port"])
        health = _health(port)
        if health is None or health["pid"] != process.pid:
            _terminate(process.pid)
            raise UserError(
                f"The model server for {context.address} does not answer",
                f"GET http://127.0.0.1:{port}/health failed right after start; see "
                f"{folder / 'server.log'}.",
            )
        return _state(health)

    def update(
        self, state: Attributes, desired: Attributes, context: ResourceContext
    ) -> Attributes:
        """Swap the model inside the running server: no request fails during the swap."""
        folder = self._folder(context)
        _write_model(folder, desired["model"], context)
        os.kill(int(state["pid"]), signal.SIGHUP)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            health = _health(int(state["port"]))
            if health is not None and health["model"] == desired["model"]:
                return _state(health)
            if health is not None and health.get("failed") == desired["model"]:
                raise UserError(
                    f"The model server for {context.address} cannot serve the new model",
                    f"{health['error']}. It still serves the old one; see {folder / 'server.log'}.",
                )
            time.sleep(0.05)
        raise UserError(
            f"The model server for {context.address} did not load the new model",
            f"It still serves the old one after {START_TIMEOUT:.0f}s; see "
            f"{folder / 'server.log'}. Run apply again to replace it.",
        )

    def destroy(self, state: Attributes, context: ResourceContext) -> None:
        health = _health(int(state["port"]))
        # only this server is ours to stop: a dead server's pid may since belong to another
        # process; one that does not answer (busy, stopped) is known by its command line
        pid = int(state["pid"])
        if (health is not None and health["pid"] == pid) or _ours(pid, self._folder(context)):
            _terminate(pid)
        shutil.rmtree(self._folder(context), ignore_errors=True)


def _check_port_free(port: int) -> None:
    """Refuse a port something already listens on, in one line that names it, before starting
    a server that would only die with a traceback in its log. Bound as the server binds it
    (address reuse on): a port left in TIME_WAIT by a stopped server is free."""
    import errno
    import socket

    if port == 0:
        return
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise UserError(
                f"port {port} is in use on 127.0.0.1: the model server cannot listen there",
                "Stop what listens there, or set the serving block's `port` to another one; "
                "0 takes any free port (in the examples: `--var port=0`).",
            ) from None


def _write_model(folder: Path, digest: str, context: ResourceContext) -> str:
    """Publish the model's bytes atomically where the server loads them, its materializer
    beside them (a new model may be stored by another one); the materializer."""
    if context.artifact is None:
        raise UserError("No artifact store to read the model from")
    materializer, data = context.artifact(digest)
    write_atomic(folder / "model.materializer", materializer)
    write_atomic(folder / "model", data)
    return materializer


def _health(port: int) -> dict[str, Any] | None:
    import urllib.request  # here: loading the provider for a plan needs no HTTP client

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
            body: dict[str, Any] = json.loads(response.read())
            return body
    except (OSError, ValueError):
        return None


def _ours(pid: int, folder: Path) -> bool:
    """Whether `pid` is the model server of the deployment in `folder` (Linux: its command
    line; elsewhere unknown, so not)."""
    try:
        arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"zenctl_local.server" in arguments and str(folder / "model").encode() in arguments


def _state(health: dict[str, Any]) -> Attributes:
    port = int(health["port"])
    return {
        "pid": int(health["pid"]),
        "port": port,
        "url": f"http://127.0.0.1:{port}",
        "model": health["model"],
    }


def _terminate(pid: int) -> None:
    """SIGTERM, then SIGKILL after STOP_TIMEOUT."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
