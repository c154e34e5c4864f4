"""Secrets set through every source never reach any output or any file zenctl writes, while
the step itself receives them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import blake3
import pytest
from conftest import Project, gcs_bucket

from zenctl.state.keys import legacy_secret_key

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
    # its seal was made with the old key: refused, saying so
    assert "metadata store's key was rotated since" in " ".join(stale.err.split())
    planned = project.run("plan", env=WITH_TOKEN).out
    assert "pipeline.vault.step.auth" in planned
    assert "Plan: 1 to run, 5 cached" in planned, planned
    assert "Apply complete! 1 ran, 5 cached" in project.apply(env=WITH_TOKEN).out


# A secret with a quote and a backslash (its repr, in double quotes, differs from it), and one
# with line breaks.
LOG_TOKEN = "tok'LOG\\f9c2-7e31"
LOG_KEY = "-----BEGIN KEY-----\nline-LOG-b27d4e\n-----END KEY-----"
DB_PASSWORD = "db-LOG-pw-83c1f0"  # the metadata store's (password_env), PostgreSQL only
LOGGED_SECRETS = (LOG_TOKEN, LOG_KEY, DB_PASSWORD, *LOG_KEY.splitlines())

LEAKY_STEP = '''
import os
import subprocess
import sys


def leak(token: str, header: str, key: str) -> None:
    """Everything a careless step does with a secret, then it fails quoting it."""
    print("token:", token[:6], end="", flush=True)  # split across writes, flushed between
    print(token[6:], flush=True)
    for char in token:  # a byte at a time, straight to the descriptor
        os.write(1, char.encode())
    os.write(1, b"\\n")
    print("repr:", repr(token), file=sys.stderr, flush=True)
    print("header:", header)  # "Bearer ${var.token}": a param made from the secret, whole
    print(key)
    print(repr(key))
    for line in key.splitlines():
        print("line:", line)
    subprocess.run([sys.executable, "-c", f"print({token!r})"], check=True)  # a child's output
    print("db:", os.environ.get("ZENCTL_TEST_DB_PASSWORD", "none"))
    try:
        raise KeyError(token)
    except KeyError as exc:
        raise ValueError(f"bad token {token!r}") from exc
'''

LEAKY_CONFIG = """
variable "token" {
  type      = string
  sensitive = true
}

variable "key" {
  type      = string
  sensitive = true
}

pipeline "leaky" {
  step "leak" {
    run    = "steps.leaky:leak"
    params = { token = var.token, header = "Bearer ${var.token}", key = var.key }
  }
}
"""


def _all_rows(project: Project) -> str:
    """Every row of every table of a server store, as text; every object of a bucket store."""
    if project.store.kind == "gcs":
        objects = gcs_bucket().list_blobs(prefix=f"{project.store.database}/")
        return "\n".join(blob.download_as_bytes().decode("latin-1") for blob in objects)
    import sqlalchemy

    engine = sqlalchemy.create_engine(project.store.engine_url(project.root))
    try:
        tables = sqlalchemy.inspect(engine).get_table_names()
    finally:
        engine.dispose()
    assert "step_executions" in tables
    return "\n".join(str(row) for table in tables for row in project.sql(f"SELECT * FROM {table}"))


@pytest.mark.gcs_store
def test_a_secret_the_step_prints_or_raises_with_is_masked_in_everything_zenctl_writes(
    project: Project,
) -> None:
    project.write("steps/leaky.py", LEAKY_STEP)
    project.write("leaky.zc.hcl", LEAKY_CONFIG)
    env = {"ZENCTL_VAR_token": LOG_TOKEN, "ZENCTL_VAR_key": LOG_KEY}
    if project.store.kind == "postgresql":  # trust auth: the server takes any password
        env["ZENCTL_TEST_DB_PASSWORD"] = DB_PASSWORD
        block = project.store.block()
        project.write(
            "stack.zc.hcl",
            block.replace("    url", '    password_env = "ZENCTL_TEST_DB_PASSWORD"\n    url'),
        )
    applied = project.apply(env=env)
    assert applied.code == 1, applied.both
    assert 'pipeline.leaky.step.leak: ValueError: bad token "***"' in applied.err, applied.err
    outputs = [
        applied,
        project.run("show", "pipeline.leaky.step.leak", env=env),
        project.run("runs", env=env),
        project.run("plan", env=env),
    ]
    assert 'ValueError: bad token "***"' in outputs[1].out, outputs[1].out

    (log,) = (project.root / ".zenctl").rglob("pipeline.leaky.step.leak.log")
    text = log.read_text()
    db = "***" if project.store.kind == "postgresql" else "none"
    printed = (
        "token: ***\n***\nrepr: \"***\"\nheader: ***\n***\n'***'\n"
        f"line: ***\nline: ***\nline: ***\n***\ndb: {db}\nTraceback"
    )
    assert text.startswith(printed), text
    assert 'ValueError: bad token "***"' in text and 'KeyError: "***"' in text, text

    written = b"".join(
        path.read_bytes() for path in project.root.rglob("*") if path.is_file()
    )  # the project's folder: .zenctl, its logs, artifacts and SQLite files included
    assert b"Traceback" in written
    dumps = [] if project.store.kind == "sqlite" else [_all_rows(project)]
    for secret in LOGGED_SECRETS:
        assert secret.encode() not in written, f"{secret!r} written under the project"
        for result in outputs:
            assert secret not in result.both, f"{secret!r} printed\n{result.both}"
        for dump in dumps:
            assert secret not in dump, f"{secret!r} in the metadata store"
        assert repr(secret)[1:-1].encode() not in written


LOOKING_STEP = '''

def look(token: str) -> None:
    """Run in a process of its own: searches the temporary files for its secret."""
    from pathlib import Path

    temp = Path(os.environ["TMPDIR"])
    found = [p.name for p in temp.rglob("*") if p.is_file() and token.encode() in p.read_bytes()]
    print("found:", found)
    raise ValueError(f"bad token {token!r}")
'''

WORKERS_CONFIG = LEAKY_CONFIG.replace(
    'pipeline "leaky" {\n',
    """
stack "workers" {
  orchestrator "dask" {
    workers = 1
  }
  artifact_store "local" {}
  metadata_store "sqlite" {}
  training "local" {}
}

pipeline "leaky" {
  stack = stack.workers

  step "look" {
    run    = "steps.leaky:look"
    params = { token = var.token }
    on     = "training"
  }
""",
)


def test_secrets_reach_worker_processes_unwritten_and_are_masked_there(project: Project) -> None:
    """A Dask worker and a training process learn the secrets to mask without a file."""
    pytest.importorskip("distributed", reason="providers/dask is not installed")
    project.write("steps/leaky.py", LEAKY_STEP + LOOKING_STEP)
    project.write("main.zc.hcl", WORKERS_CONFIG)
    temp = project.root / "tmp"  # the workers' temporary files: under the project, searched
    temp.mkdir()
    env = {"ZENCTL_VAR_token": LOG_TOKEN, "ZENCTL_VAR_key": LOG_KEY, "TMPDIR": str(temp)}
    applied = project.apply(env=env)
    assert applied.code == 1, applied.both
    for step in ("leak", "look"):
        assert f'pipeline.leaky.step.{step}: ValueError: bad token "***"' in applied.err
    logs = {path.stem: path.read_text() for path in project.root.rglob("pipeline.leaky.*.log")}
    assert logs["pipeline.leaky.step.look"].startswith("found: []\nTraceback"), logs
    assert logs["pipeline.leaky.step.leak"].startswith('token: ***\n***\nrepr: "***"\n'), logs
    written = b"".join(path.read_bytes() for path in project.root.rglob("*") if path.is_file())
    for secret in LOGGED_SECRETS:
        assert secret.encode() not in written, f"{secret!r} written under the project"
        assert secret not in applied.both


def test_a_secret_of_the_wrong_type_is_never_quoted_from_its_file(project: Project) -> None:
    """The error names the file and line it came from, and points at the declaration, whose
    line holds no value: a CI log is often public."""
    project.write(
        "secrets.zc.hcl",
        'variable "count" {\n  type      = number\n  sensitive = true\n}\n',
    )
    project.write("bad.zcvars", f'count = "{TOKEN}"\n')
    for args in (["--var-file", str(project.root / "bad.zcvars")], []):
        if not args:
            (project.root / "bad.zcvars").rename(project.root / "bad.auto.zcvars")
        refused = project.run("plan", *args)
        assert refused.code == 1, refused.both
        assert (
            'The value of variable "count" from' in refused.err
            and ":1 is not a valid" in refused.err
        )
        assert "secrets.zc.hcl line 1" in refused.err
        _assert_clean("the error", refused.both)


def test_a_saved_plan_asks_for_its_secrets_where_it_can_take_them(
    project: Project, tmp_path: Path
) -> None:
    add_token_step(project)
    saved = tmp_path / "plan.json"
    assert project.run("plan", "--out", str(saved), env=WITH_TOKEN).code == 0
    refused = project.run("apply", str(saved))
    assert refused.code == 1, refused.both
    assert 'never holds the value of the sensitive variable "token"' in refused.err
    assert "ZENCTL_VAR_token" in refused.err and "--var" not in refused.err
    assert "Fix that and apply it again" in refused.err
    applied = project.run("apply", str(saved), env=WITH_TOKEN)
    assert applied.code == 0, applied.both
