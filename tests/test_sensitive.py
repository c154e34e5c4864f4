"""Secrets set through every source never reach any output or any file zenctl writes, while
the step itself receives them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from conftest import Project

TOKEN = "tok-FLAG-7f3a91c2"  # set with --var
PASSWORD = "pw-ENV-5b8d02e4"  # set with ZENCTL_VAR_password
API_KEY = "key-FILE-c41e9a77"  # set with --var-file
SECRETS = (TOKEN, PASSWORD, API_KEY)

SECRET_STEP = '''
import hashlib


def auth(token: str, dsn: str, keys: list, retries: int) -> str:
    """Proves it got the real values without ever writing them: a digest of them."""
    return hashlib.sha256("|".join([token, dsn, *keys]).encode()).hexdigest()
'''

SECRET_CONFIG = """
variable "token" {
  type      = string
  sensitive = true
}

variable "password" {
  type      = string
  sensitive = true
}

variable "api_key" {
  type      = string
  sensitive = true
}

pipeline "vault" {
  step "auth" {
    run    = "steps.secret:auth"
    params = {
      token   = var.token
      dsn     = "postgres://ml:${var.password}@db/features"
      keys    = [var.api_key]
      retries = 3
    }
  }
}
"""


def _assert_clean(where: str, text: str | bytes) -> None:
    data = text.encode() if isinstance(text, str) else text
    for secret in SECRETS:
        assert secret.encode() not in data, f"{secret} leaked into {where}"


def test_secrets_from_every_source_never_appear_anywhere(project: Project, tmp_path: Path) -> None:
    project.write("steps/secret.py", SECRET_STEP)
    project.write("secrets.zc.hcl", SECRET_CONFIG)
    var_file = tmp_path / "secret.zcvars"
    var_file.write_text(f'api_key = "{API_KEY}"\n')
    env = {"ZENCTL_VAR_password": PASSWORD}
    sources = ("--var", f"token={TOKEN}", "--var-file", str(var_file))
    saved = tmp_path / "plan.json"

    outputs = {
        "plan": project.run("plan", *sources, env=env),
        "plan --json": project.run("plan", "--json", *sources, env=env),
        "plan --out": project.run("plan", "--out", str(saved), *sources, env=env),
        "show FILE": project.run("show", str(saved)),
        "show --json FILE": project.run("show", "--json", str(saved)),
        # A saved plan keeps no secret: they are given again at apply, and checked against
        # the plan's keyed hashes.
        "apply FILE": project.run(
            "apply",
            str(saved),
            env={**env, "ZENCTL_VAR_token": TOKEN, "ZENCTL_VAR_api_key": API_KEY},
        ),
    }
    assert outputs["plan"].code == 0, outputs["plan"].both
    (auth,) = [s for s in json.loads(outputs["plan --json"].out)["steps"] if s["step"] == "auth"]
    assert set(auth["after"]["params"]["token"]) == {"sensitive"}  # a keyed hash, no value
    assert outputs["apply FILE"].code == 0, outputs["apply FILE"].both
    assert "Apply complete! 6 ran" in outputs["apply FILE"].out
    changed = ("--var", "token=tok-OTHER-0000", "--var-file", str(var_file))
    outputs["plan after a change"] = project.run("plan", *changed, env=env)
    assert "~ params.token: (sensitive) -> (sensitive)" in outputs["plan after a change"].out
    comment = project.run("plan", "--format", "markdown", *changed, env=env)
    assert "\n~     params.token: (sensitive) -> (sensitive)\n" in comment.out
    outputs["plan --format markdown"] = comment
    outputs["apply"] = project.apply(*sources)  # nothing to do, but resolves the secrets again
    outputs["show step"] = project.run("show", "pipeline.vault.step.auth")
    assert "token = (sensitive)" in outputs["show step"].out
    assert "retries = 3" in outputs["show step"].out
    outputs["runs"] = project.run("runs")
    for name, result in outputs.items():
        _assert_clean(f"{name} stdout", result.out)
        _assert_clean(f"{name} stderr", result.err)
    _assert_clean("the saved plan", saved.read_bytes())

    if project.store.kind != "sqlite":  # the state is on the server: look at all of it
        outputs["state export"] = project.run("state", "export", "-")
        _assert_clean("the state", outputs["state export"].out)
    files = [path for path in (project.root / ".zenctl").rglob("*") if path.is_file()]
    assert project.store.kind != "sqlite" or any(path.name == "metadata.db" for path in files)
    assert any("logs" in path.parts for path in files)
    everything = b"".join(path.read_bytes() for path in files)
    _assert_clean(".zenctl", everything)
    dsn = f"postgres://ml:{PASSWORD}@db/features"
    received = hashlib.sha256("|".join([TOKEN, dsn, API_KEY]).encode()).hexdigest()
    assert received.encode() in everything  # the step's output: it got the real values
