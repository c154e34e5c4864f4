"""A small fake of the Dataflow v1beta3 REST API: launch a Flex Template, get, cancel, messages.

Each launched job walks through the states the test scripts for it (the last one repeats), so a
test decides whether a job succeeds after a few polls, fails, is cancelled or runs until the
apply is interrupted. Every request is recorded for the test to check.

Run it by hand: `python tests/dataflow_fake.py` prints its endpoint; point a stack's
processing "dataflow" at it with api_endpoint = "http://127.0.0.1:PORT".
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.cloud.dataflow_v1beta3 import JobState

_JOBS = r"/v1b3/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
_LAUNCH = re.compile(_JOBS + r"/flexTemplates:launch")
_JOB = re.compile(_JOBS + r"/jobs/(?P<job>[^/:]+)")
_MESSAGES = re.compile(_JOBS + r"/jobs/(?P<job>[^/:]+)/messages")


@dataclass
class FakeJob:
    id: str
    name: str
    project: str
    location: str
    states: list[str]
    messages: list[str]
    polls: int = 0

    def resource(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "projectId": self.project,
            "location": self.location,
            "currentState": self.states[0],
        }


@dataclass
class FakeDataflow:
    # what the next launched job does: its states in order, and its error messages
    script: list[str] = field(default_factory=lambda: ["JOB_STATE_DONE"])
    error_messages: list[str] = field(default_factory=list)
    unavailable: int = 0  # answer this many status checks 503, as an overloaded API does
    jobs: dict[str, FakeJob] = field(default_factory=dict)
    launches: list[dict[str, Any]] = field(default_factory=list)
    cancels: list[str] = field(default_factory=list)
    polled: threading.Event = field(default_factory=threading.Event)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _server: ThreadingHTTPServer | None = None

    @property
    def endpoint(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeDataflow:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                fake._answer(self, "POST")

            def do_GET(self) -> None:
                fake._answer(self, "GET")

            def do_PUT(self) -> None:
                fake._answer(self, "PUT")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _answer(self, request: BaseHTTPRequestHandler, method: str) -> None:
        path = request.path.split("?")[0]
        length = int(request.headers.get("Content-Length") or 0)
        body = json.loads(request.rfile.read(length) or b"{}")
        status, answer = self._route(method, path, body)
        data = json.dumps(answer).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    def _route(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "POST" and (match := _LAUNCH.fullmatch(path)):
            parameter = body["launchParameter"]
            self.launches.append(parameter)
            job = FakeJob(
                f"2026-11-22_fake-{next(self._ids)}",
                parameter["jobName"],
                match["project"],
                match["location"],
                ["JOB_STATE_QUEUED", *self.script],
                list(self.error_messages),
            )
            self.jobs[job.id] = job
            return 200, {"job": job.resource()}
        if method == "GET" and (match := _MESSAGES.fullmatch(path)):
            job = self.jobs[match["job"]]
            messages = [
                {"id": str(i), "messageText": text, "messageImportance": "JOB_MESSAGE_ERROR"}
                for i, text in enumerate(job.messages)
            ]
            return 200, {"jobMessages": messages}
        if (match := _JOB.fullmatch(path)) and match["job"] in self.jobs:
            job = self.jobs[match["job"]]
            if method == "GET" and self.unavailable > 0:
                self.unavailable -= 1
                return 503, {
                    "error": {"code": 503, "message": "try again", "status": "UNAVAILABLE"}
                }
            if method == "GET":
                if len(job.states) > 1:
                    job.states.pop(0)
                job.polls += 1
                self.polled.set()
                return 200, job.resource()
            if method == "PUT":
                requested = body["requestedState"]
                name = JobState(requested).name if isinstance(requested, int) else requested
                if name == "JOB_STATE_CANCELLED":
                    self.cancels.append(job.id)
                    job.states = ["JOB_STATE_CANCELLED"]
                return 200, job.resource()
        return 404, {"error": {"code": 404, "message": f"{method} {path}", "status": "NOT_FOUND"}}


if __name__ == "__main__":
    fake = FakeDataflow(script=["JOB_STATE_RUNNING", "JOB_STATE_RUNNING", "JOB_STATE_DONE"])
    print(fake.start().endpoint, flush=True)
    threading.Event().wait()
