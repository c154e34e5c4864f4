"""`serving "local"`: a deployment's whole life through the CLI, with real HTTP requests.

Create, predict, swap the model under a client loop (no request may fail), drift after the
server is killed, removal, destroy, and no server process left behind.
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from conftest import Project

# A deployment's life; resources on each database: test_providers.

MODEL = '''
class Threshold:
    """A tiny model: 1 when the first feature is above the cut."""

    def __init__(self, cut: float) -> None:
        self.cut = cut

    def predict(self, rows):
        return [int(row[0] > self.cut) for row in rows]


def train(cut: float) -> Threshold:
    return Threshold(cut)
'''

CONFIG = """
variable "cut" {
  type    = number
  default = 0.5
}

pipeline "p" {
  step "train" {
    run    = "steps.model:train"
    params = { cut = var.cut }
  }
DEPLOYMENT
}
"""

DEPLOYMENT = """
  deployment "api" {
    model   = step.train.outputs.output
    serving = "local"
  }
"""


def _post(url: str, rows: list[Any]) -> Any:
    request = urllib.request.Request(
        f"{url}/predict", json.dumps({"rows": rows}).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["predictions"]


def _health(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/health", timeout=10) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@contextmanager
def servers_killed_after() -> Iterator[set[int]]:
    """A set for the pids of the model servers a test starts: any still alive when it ends
    is killed, so a failed assertion leaves no server running."""
    pids: set[int] = set()
    try:
        yield pids
    finally:
        for pid in pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _url(output: str) -> str:
    match = re.search(r"pipeline\.p\.deployment\.api: Creation complete \((http://\S+)\)", output)
    assert match, output
    return match.group(1)


class Client(threading.Thread):
    """Predicts in a loop until stopped, counting answers and failures."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.answers: list[list[int]] = []
        self.failures: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.answers.append(_post(self.url, [[0.3]]))
            except Exception as exc:
                self.failures.append(repr(exc))


def test_local_serving_lifecycle(project: Project) -> None:
    project.write("steps/model.py", MODEL)
    project.write("main.zc.hcl", CONFIG.replace("DEPLOYMENT", DEPLOYMENT))
    with servers_killed_after() as pids:
        created = project.apply()
        assert created.code == 0, created.both
        assert "1 added, 0 changed, 0 destroyed" in created.out
        url = _url(created.out)
        first = _health(url)
        pids.add(first["pid"])
        assert _post(url, [[0.2], [0.9]]) == [0, 1]
        assert "No changes. 1 steps cached." in project.run("plan").out

        plan = project.run("plan", "--var", "cut=0.1")
        assert "~   pipeline.p.deployment.api  update in place" in plan.out
        assert f"~ model: {first['model'][:10]} -> (known after apply)" in plan.out

        client = Client(url)
        client.start()
        try:
            updated = project.apply("--var", "cut=0.1")
        finally:
            client.stop.set()
            client.join()
        assert updated.code == 0, updated.both
        assert "0 added, 1 changed, 0 destroyed" in updated.out
        assert client.failures == [] and len(client.answers) > 0
        assert client.answers[-1] == [1]  # the new model answers once apply returns
        after = _health(url)
        assert after["pid"] == first["pid"] and after["model"] != first["model"]

        os.kill(after["pid"], signal.SIGKILL)
        drift = project.run("plan", "--var", "cut=0.1")
        assert "Changed outside zenctl" in drift.out
        assert "! pipeline.p.deployment.api  no longer exists" in drift.out
        assert 'create (serving "local"), deleted outside zenctl' in drift.out
        recreated = project.apply("--var", "cut=0.1")
        assert recreated.code == 0, recreated.both
        url = _url(recreated.out)
        pids.add(_health(url)["pid"])
        assert _post(url, [[0.3]]) == [1]

        project.write("main.zc.hcl", CONFIG.replace("DEPLOYMENT", ""))
        removal = project.run("plan", "--var", "cut=0.1")
        assert "-   pipeline.p.deployment.api  destroy" in removal.out
        assert "0 to add, 0 to change, 1 to destroy." in removal.out
        assert project.apply("--var", "cut=0.1").code == 0
        assert not any(_alive(pid) for pid in pids)

        project.write("main.zc.hcl", CONFIG.replace("DEPLOYMENT", DEPLOYMENT))
        again = project.apply("--var", "cut=0.1")
        pids.add(_health(_url(again.out))["pid"])
        destroyed = project.run("destroy", "-auto-approve")
        assert destroyed.code == 0, destroyed.both
        assert "Destroy complete! Resources: 1 destroyed." in destroyed.out
        assert not any(_alive(pid) for pid in pids)
        assert not list((project.root / ".zenctl" / "serving").rglob("pipeline.p.deployment.api"))


STOP = '''

def stop(pid: int) -> int:
    """Kill the model server while apply runs: reality moves between plan and deployment."""
    import os
    import signal

    if pid:
        os.kill(pid, signal.SIGKILL)
    return pid
'''

STOPPING = """
variable "victim" {
  type    = number
  default = 0
}
"""

STOP_STEP = """
  step "stop" {
    run    = "steps.model:stop"
    params = { pid = var.victim }
  }
"""


def _flat(text: str) -> str:
    """A diagnostic's words on one line, without its frame."""
    return " ".join(text.replace("│", " ").split())


def test_a_deployment_that_changed_since_the_plan_is_refused_not_redecided(
    project: Project, tmp_path: Path
) -> None:
    project.write("steps/model.py", MODEL + STOP)
    config = STOPPING + CONFIG.replace("DEPLOYMENT", STOP_STEP + DEPLOYMENT)
    project.write("main.zc.hcl", config)
    with servers_killed_after() as pids:
        created = project.apply()
        assert created.code == 0, created.both
        pids.add(_health(_url(created.out))["pid"])
        reviewed = tmp_path / "reviewed.json"
        assert project.run("plan", "--var", "cut=0.1", "-out", str(reviewed)).code == 0
        os.kill(next(iter(pids)), signal.SIGKILL)  # between the review and the apply
        stale = project.run("apply", str(reviewed))
        assert stale.code == 1, stale.both
        assert "Running" not in stale.out
        assert (
            "as reviewed: pipeline.p.deployment.api changed outside zenctl since it was "
            "planned: it is gone. Nothing was run."
        ) in _flat(stale.err)

        recreated = project.apply()
        assert recreated.code == 0, recreated.both
        pid = _health(_url(recreated.out))["pid"]
        pids.add(pid)
        saved = tmp_path / "plan.json"
        planned = project.run(
            "plan", "--var", "cut=0.1", "--var", f"victim={pid}", "-out", str(saved)
        )
        assert "~   pipeline.p.deployment.api  update in place" in planned.out

        applied = project.run("apply", str(saved))  # its step "stop" kills the server
        assert applied.code == 1, applied.both
        assert "Traceback" not in applied.both
        assert (
            "pipeline.p.deployment.api (update): Not applied: it changed since the plan. "
            "It no longer exists. Nothing was done to it; run `zenctl plan`"
        ) in _flat(applied.err)
        again = project.run("plan", "--var", "cut=0.1", "--var", f"victim={pid}")
        assert "! pipeline.p.deployment.api  no longer exists" in again.out
        assert not _alive(pid)


PICKLED = '''
import pickle


class PickleIO:
    """The same model, stored by a materializer of the project's own."""

    types = ("Threshold",)

    def can_store(self, value):
        return hasattr(value, "predict")

    def write(self, value, out):
        out.write(pickle.dumps(value, protocol=5))

    def load(self, path):
        return pickle.loads(path.read_bytes())
'''


def test_a_stopped_server_is_not_started_twice_and_a_swap_reports_what_cannot_load(
    project: Project,
) -> None:
    """A server that does not answer but runs (busy, stopped) is still there: plan shows no
    create, and destroy stops it. A new model stored by another materializer is swapped in;
    one with no predict method is refused at once, the old model serving on."""
    project.write("steps/model.py", MODEL)
    project.write("steps/pickled.py", PICKLED)
    project.write("main.zc.hcl", CONFIG.replace("DEPLOYMENT", DEPLOYMENT))
    with servers_killed_after() as pids:
        created = project.apply()
        assert created.code == 0, created.both
        url = _url(created.out)
        pid = _health(url)["pid"]
        pids.add(pid)

        os.kill(pid, signal.SIGSTOP)
        try:
            stopped = project.run("plan")
        finally:
            os.kill(pid, signal.SIGCONT)
        assert stopped.code == 0, stopped.both
        assert "create" not in stopped.out and "No changes." in stopped.out

        main = CONFIG.replace("DEPLOYMENT", DEPLOYMENT)
        forced = main.replace(
            "params = { cut = var.cut }",
            'params = { cut = var.cut }\n    materializers = { output = "steps.pickled:PickleIO" }',
        )
        project.write("main.zc.hcl", forced)
        swapped = project.apply()
        assert swapped.code == 0, swapped.both
        assert "0 added, 1 changed, 0 destroyed" in swapped.out
        assert _health(url)["pid"] == pid and _post(url, [[0.9]]) == [1]

        project.write(
            "steps/model.py", MODEL.replace("return Threshold(cut)", 'return {"cut": cut}')
        )
        project.write("main.zc.hcl", main)
        refused = project.apply()
        assert refused.code == 1, refused.both
        said = " ".join(refused.err.split())
        assert "cannot serve the new model. TypeError: the model is a builtins.dict" in said
        assert "no predict method" in said
        assert _post(url, [[0.9]]) == [1]  # the old model serves on

        import socket

        with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1]))) as client:
            client.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\n")  # then silence
            client.settimeout(30)
            assert client.recv(100).startswith(b"HTTP/1.1 408")
        destroyed = project.run("destroy", "-auto-approve")
        assert destroyed.code == 0, destroyed.both
        assert not any(_alive(pid) for pid in pids)  # destroy stopped it, not the cleanup


def test_a_read_timeout_is_a_duration_as_zenctl_reads_one(project: Project) -> None:
    project.write("steps/model.py", MODEL)
    stack = (
        'stack "s" {\n  orchestrator "local" {}\n  artifact_store "local" {}\n'
        '  metadata_store "sqlite" {}\n  serving "local" {\n    read_timeout = "TIMEOUT"\n  }\n}\n'
    )
    main = CONFIG.replace("DEPLOYMENT", DEPLOYMENT).replace(
        'pipeline "p" {', 'pipeline "p" {\n  stack = stack.s'
    )
    project.write("main.zc.hcl", stack.replace("TIMEOUT", "3000ms") + main)
    assert project.run("validate").code == 0
    project.write("main.zc.hcl", stack.replace("TIMEOUT", "10 sec") + main)
    refused = project.run("validate")
    assert refused.code == 1, refused.both
    assert "'10 sec' is not a duration: write one such as 30s" in refused.err
    assert "Invalid name" not in refused.err
