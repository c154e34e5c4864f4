"""examples/ci/zenctl.yml run as GitHub runs it: its plan job and its apply job, each on a fresh
runner (a fresh clone of the repository, a fresh venv installed by the workflow's own install
step), sharing only what the workflow shares between them: the plan comment and the bucket
(fake-gcs-server). Every command comes from the workflow file, so the file cannot rot."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from gcs_emulator import Emulator

storage = pytest.importorskip("google.cloud.storage", reason="providers/gcp is not installed")

# The workflow's jobs are the subject; the test's own store is not used.

REPO = Path(__file__).resolve().parents[1]
WORKFLOW_FILE = "examples/ci/zenctl.yml"
BUCKET = "acme-ml"
MARKER = re.compile(r"<!-- zenctl-plan (\{.*?\}) -->")
EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")
PYTHON = shutil.which("python3.11") or sys.executable


def _git(cwd: Path, *args: str) -> str:
    identity = ("-c", "user.name=ci-test", "-c", "user.email=ci@localhost")
    done = subprocess.run(
        ["git", *identity, *args], cwd=cwd, capture_output=True, text=True, check=True
    )
    return done.stdout


def _origin(folder: Path) -> Path:
    """The repository as its next commit would hold it (tracked files and new ones that git
    does not ignore), as a repository of its own: the remote both runners clone."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    _git(folder, "init", "-q", "-b", "main")
    _git(folder, "add", "-A")
    _git(folder, "commit", "-q", "-m", "the repository under test")
    return folder


def _commit(origin: Path, message: str, edit: tuple[str, str, str]) -> None:
    """Push a commit to main: `edit` replaces one text in one file."""
    name, old, new = edit
    path = origin / name
    text = path.read_text()
    assert old in text, (name, old)
    path.write_text(text.replace(old, new))
    _git(origin, "commit", "-q", "-am", message)


class Runner:
    """One job of the workflow on a fresh machine: its own clone, venv, temp and cache."""

    def __init__(self, job: str, origin: Path, home: Path, emulator: Emulator) -> None:
        self.spec: dict[str, Any] = yaml.safe_load((origin / WORKFLOW_FILE).read_text())
        self.job = self.spec["jobs"][job]
        self.origin = origin
        self.home = home
        self.venv = home / "venv"
        self.work = home / "work"
        self.outputs: dict[str, str] = {}
        (home / "temp").mkdir(parents=True)
        self.env = {
            "PATH": os.environ["PATH"],
            "HOME": str(home),
            "RUNNER_TEMP": str(home / "temp"),
            "GITHUB_STEP_SUMMARY": str(home / "summary.md"),
            "GITHUB_OUTPUT": str(home / "output"),
            "STORAGE_EMULATOR_HOST": emulator.url,  # what the auth step gives on GitHub
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        }
        self.log: list[str] = []

    def _expand(self, text: str) -> str:
        """GitHub's ${{ }} expressions the workflow uses: vars, secrets and step outputs."""

        def value(match: re.Match[str]) -> str:
            expression = match.group(1)
            if expression == "vars.ZENCTL_BUCKET":
                return BUCKET
            if expression.startswith("vars.GCP_"):
                return "unused-by-the-emulator"
            found = re.fullmatch(r"steps\.(\w+)\.outputs\.result", expression)
            if found:
                return self.outputs[found.group(1)]
            raise AssertionError(f"the test does not know ${{{{ {expression} }}}}")

        return EXPRESSION.sub(value, text)

    def steps(self, until: str | None = None, after: str | None = None) -> list[dict[str, Any]]:
        names = [step.get("name", step.get("uses", "")) for step in self.job["steps"]]
        start = names.index(after) + 1 if after else 0
        end = names.index(until) + 1 if until else len(names)
        return list(self.job["steps"][start:end])

    def checkout(self) -> None:
        if self.work.exists():
            shutil.rmtree(self.work)
        _git(self.home, "clone", "-q", str(self.origin), str(self.work))

    def run(
        self, steps: list[dict[str, Any]], comment: str | None = None
    ) -> subprocess.CompletedProcess[str] | str:
        """Run `steps` as GitHub does; the result of the last `run` step, or for a
        github-script step that posts the comment, the comment."""
        env = {**self.env, **{k: self._expand(str(v)) for k, v in self.spec["env"].items()}}
        result: subprocess.CompletedProcess[str] | str = ""
        for step in steps:
            uses = step.get("uses", "")
            if uses.startswith("actions/checkout"):
                self.checkout()
            elif uses.startswith("actions/setup-python"):
                if not self.venv.exists():
                    subprocess.run([PYTHON, "-m", "venv", str(self.venv)], check=True)
                self.env["PATH"] = f"{self.venv / 'bin'}:{os.environ['PATH']}"
                env["PATH"] = self.env["PATH"]
            elif uses.startswith("google-github-actions/auth"):
                continue  # the emulator needs no credentials
            elif uses.startswith("actions/github-script"):
                result = self._script(step, comment)
            else:
                script = self._expand(step["run"])
                step_env = {
                    **env,
                    **{k: self._expand(str(v)) for k, v in step.get("env", {}).items()},
                }
                result = subprocess.run(
                    ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                    cwd=self.work,
                    env=step_env,
                    capture_output=True,
                    text=True,
                    timeout=900,
                )
                self.log.append(f"$ {script}\n{result.stdout}{result.stderr}")
                if result.returncode != 0:
                    return result
        return result

    def _script(self, step: dict[str, Any], comment: str | None) -> str:
        """The two github-script steps, by what their scripts do: post the plan job's comment;
        in the apply job, find the comment whose marker names this project and save it where
        the script saves it."""
        source = step["with"]["script"]
        if "createComment" in source:
            return (self.work / "plan.md").read_text()
        assert comment is not None
        [marker] = [json.loads(found) for found in MARKER.findall(comment)]
        assert marker["project"] == os.path.basename(self.spec["env"]["ZENCTL_PROJECT"])
        saved = re.search(r"writeFileSync\(`\$\{process\.env\.RUNNER_TEMP\}/([^`]+)`", source)
        assert saved is not None, "the apply job's script no longer saves the reviewed comment"
        (Path(self.env["RUNNER_TEMP"]) / saved.group(1)).write_text(comment)
        return comment


INSTALL = "Install zenctl"


def _prepare(runners: list[Runner]) -> None:
    """Check out and install on every runner at once (two fresh venvs take minutes)."""
    errors: list[BaseException] = []

    def prepare(runner: Runner) -> None:
        try:
            result = runner.run(runner.steps(until=INSTALL))
            assert not isinstance(result, str) and result.returncode == 0, runner.log
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=prepare, args=(runner,)) for runner in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


@pytest.mark.slow  # two fresh venvs, installed by the workflow's own step
def test_the_workflow_plans_in_one_job_and_applies_the_reviewed_plan_in_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "gcs").mkdir()
    emulator = Emulator(tmp_path / "gcs")
    emulator.start()
    try:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", emulator.url)
        state = storage.Client().create_bucket(BUCKET).blob("zenctl/ci-example/state/metadata.db")
        origin = _origin(tmp_path / "origin")
        planner = Runner("plan", origin, tmp_path / "plan-runner", emulator)
        applier = Runner("apply", origin, tmp_path / "apply-runner", emulator)
        _prepare([planner, applier])

        # A pull request's push: the plan job plans, and posts the comment.
        comment = planner.run(planner.steps(after=INSTALL))
        assert isinstance(comment, str) and "4 to run" in comment, planner.log
        # The merge: the apply job applies the reviewed plan on its own clone.
        applied = applier.run(applier.steps(after=INSTALL), comment)
        assert not isinstance(applied, str)
        assert applied.returncode == 0, "\n".join(applier.log)
        assert "Apply complete! 4 ran" in applied.stdout
        assert "Applied the reviewed plan." in applied.stdout

        # The next pull request lowers C; before its merge is applied, main moves on.
        main = "examples/ci/main.zc.hcl"
        _commit(origin, "a smaller C", (main, "default     = 1.0", "default     = 0.5"))
        planner.checkout()
        comment = planner.run(planner.steps(after=INSTALL))
        assert isinstance(comment, str), planner.log
        assert "params.C: 1.0 -> 0.5" in comment and "2 cached" in comment
        _commit(origin, "a bigger test set", (main, "test_size = 0.25", "test_size = 0.3"))
        state.reload()
        recorded = state.generation
        applier.checkout()
        refused = applier.run(applier.steps(after=INSTALL), comment)
        assert not isinstance(refused, str)
        assert refused.returncode == 1, "\n".join(applier.log)
        assert "Plan does not match the reviewed plan" in refused.stderr
        assert "config file main.zc.hcl changed" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
        state.reload()
        assert state.generation == recorded  # nothing ran, nothing was recorded
    finally:
        emulator.kill()
