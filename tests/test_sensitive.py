"""Secrets set through every source never reach any output or any file zenctl writes, while
the step itself receives them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import blake3
import pytest
from conftest import Project

from zenctl.state.transfer import legacy_secret_key

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
    assert "\n~     params.token: (sensitive) -> (sensitive) (from var.token)\n" in comment.out
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


TOKEN_CONFIG = """
variable "token" {
  type      = string
  sensitive = true
}

pipeline "vault" {
  step "auth" {
    run    = "steps.secret:auth"
    params = { token = var.token, dsn = "sqlite://", keys = [], retries = 3 }
  }
}
"""
WITH_TOKEN = {"ZENCTL_VAR_token": TOKEN}


def add_token_step(project: Project) -> None:
    """A pipeline "vault" whose one step takes var.token, set by WITH_TOKEN."""
    project.write("steps/secret.py", SECRET_STEP)
    project.write("secrets.zc.hcl", TOKEN_CONFIG)


def _token_hash(project: Project) -> str:
    result = project.run("plan", "--json", env=WITH_TOKEN)
    (auth,) = [s for s in json.loads(result.out)["steps"] if s["step"] == "auth"]
    keyed: str = auth["after"]["params"]["token"]["sensitive"]
    return keyed


def _keyed(value: str, key: bytes) -> str:
    """The keyed hash a plan shows for a secret."""
    from zenctl.fingerprint.canonical import canonical_json

    return blake3.blake3(canonical_json(value).encode(), key=key).hexdigest()[:20]


@pytest.mark.stateless
def test_a_posted_plan_gives_no_way_to_check_guesses_of_a_secret(
    project: Project, tmp_path: Path
) -> None:
    add_token_step(project)
    store_less = _token_hash(project)
    assert store_less != _token_hash(project)  # no store yet: a throwaway key each time
    assert project.apply(env=WITH_TOKEN).code == 0
    posted = json.loads(project.run("plan", "--json", env=WITH_TOKEN).out)
    keyed = _token_hash(project)
    # The lineage printed in the plan used to key the hash; it no longer does.
    assert keyed != _keyed(TOKEN, bytes.fromhex(legacy_secret_key(posted["state"]["lineage"])))
    # The store's own random key does, and it appears in no output.
    document = json.loads(project.run("state", "export", "-").out)
    key = document["secret_key"]
    assert keyed == _keyed(TOKEN, bytes.fromhex(key))
    saved = tmp_path / "plan.zcplan"
    outputs = [
        project.run("plan", *args, env=WITH_TOKEN).both
        for args in ((), ("--json",), ("--format", "markdown"), ("--out", str(saved)))
    ]
    for text in (*outputs, saved.read_text()):
        assert key not in text
    # Another store with the same secret hashes it differently.
    other = Project(tmp_path / "other")
    for name in ("steps/__init__.py", "steps/secret.py", "secrets.zc.hcl"):
        other.write(name, (project.root / name).read_text())
    assert other.apply(env=WITH_TOKEN).code == 0
    assert _token_hash(other) != keyed


@pytest.mark.stateless
def test_rotating_the_key_reruns_only_the_steps_with_secrets(
    project: Project, tmp_path: Path
) -> None:
    add_token_step(project)
    assert project.apply(env=WITH_TOKEN).code == 0
    before = _token_hash(project)
    saved = tmp_path / "plan.zcplan"
    assert project.run("plan", "--out", str(saved), env=WITH_TOKEN).code == 0

    unconfirmed = project.run("state", "rotate-key")
    assert unconfirmed.code == 1
    assert "pipeline.vault.step.auth" in unconfirmed.out
    assert "Error: State rotate-key needs confirmation" in unconfirmed.err
    assert "zenctl state rotate-key --auto-approve" in unconfirmed.err
    assert _token_hash(project) == before
    rotated = project.run("state", "rotate-key", "--auto-approve")
    assert rotated.code == 0, rotated.both
    assert "These steps take sensitive params and will run again:" in rotated.out
    assert "  - pipeline.vault.step.auth\n" in rotated.out
    assert "pipeline.demo" not in rotated.out

    assert _token_hash(project) != before
    stale = project.run("apply", str(saved), env=WITH_TOKEN)
    assert stale.code == 1
    assert "Saved plan is stale" in stale.err
    planned = project.run("plan", env=WITH_TOKEN).out
    assert "pipeline.vault.step.auth" in planned
    assert "Plan: 1 to run, 5 cached" in planned, planned
    assert "Apply complete! 1 ran, 5 cached" in project.apply(env=WITH_TOKEN).out
