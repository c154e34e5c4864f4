"""Metadata stores on SQLite, PostgreSQL and MariaDB: migrations, the state commands, moving
history between stores, secrets kept out of every output, and transient failures retried."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import MAIN, ZENCTL, Project

ROOT = Path(__file__).parent.parent
SCHEMA = json.loads((ROOT / "specs/state.schema.json").read_text())
TIMES = ("started_at", "finished_at", "duration", "created_at")


def export(project: Project, path: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = project.run("state", "export", str(path), env=env)
    assert result.code == 0, result.both
    document: dict[str, Any] = json.loads(path.read_text())
    jsonschema.validate(document, SCHEMA)
    return document


def history(document: dict[str, Any], without: tuple[str, ...] = ()) -> dict[str, Any]:
    """The document's recorded history, for comparing two exports."""
    sections = ("runs", "executions", "artifacts", "lineage_edges")
    return {
        name: [{k: v for k, v in row.items() if k not in without} for row in document[name]]
        for name in sections
    } | {"lineage": document["lineage"]}


def create_at_first_revision(project: Project, document: dict[str, Any]) -> None:
    """What zenctl's first schema (0001) held: made by Alembic, rows written as 0001's zenctl."""
    import sqlalchemy
    from alembic import command
    from alembic.config import Config

    from zenctl.state.schema import MIGRATIONS
    from zenctl.state.transfer import SECTIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = sqlalchemy.create_engine(project.store.engine_url(project.root))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(
            sqlalchemy.text("INSERT INTO zenctl_state VALUES (1, :lineage, :serial)"),
            {"lineage": document["lineage"], "serial": document["serial"]},
        )
        for name in ("runs", "executions", "artifacts", "lineage_edges"):  # 0001's tables
            section = SECTIONS[name]
            columns = [c for c in section.columns if c != "details"]  # added by 0002
            for entry in document[name]:
                connection.execute(
                    sqlalchemy.text(
                        f"INSERT INTO {section.table} ({', '.join(columns)}) "
                        f"VALUES ({', '.join(':' + c for c in columns)})"
                    ),
                    {c: v for c, v in section.row(entry).items() if c in columns},
                )
    engine.dispose()


@pytest.mark.all_stores
def test_a_store_made_by_the_first_schema_is_upgraded_with_its_history(
    project: Project, tmp_path: Path
) -> None:
    project.apply()
    before = export(project, tmp_path / "before.json")
    project.reset_store()
    create_at_first_revision(project, before)

    refused = project.run("plan")
    assert refused.code == 1
    assert "Metadata store needs an upgrade" in refused.err
    assert "has schema 0001, this zenctl needs 0007" in refused.err
    assert "zenctl state upgrade" in refused.err

    upgraded = project.run("state", "upgrade")
    assert upgraded.code == 0, upgraded.both
    assert "from schema 0001 to 0007" in upgraded.out
    assert "nothing to do" in project.run("state", "upgrade").out
    assert project.run("plan").out.strip().endswith("No changes. 5 steps cached.")
    after = export(project, tmp_path / "after.json")
    # 0001 kept MySQL's times in single-precision FLOAT (what 0004 fixes): compare the rest.
    lossy = TIMES if project.store.kind == "mysql" else ()
    assert history(after, lossy) == history(before, lossy)


@pytest.mark.all_stores
def test_stores_from_before_the_random_key_keep_steps_with_secrets_cached(
    project: Project, tmp_path: Path
) -> None:
    """Until schema 0005 the secrets key was derived from the lineage: an upgraded store, and
    an imported version 1 document, keep that key, so nothing re-runs."""
    from test_sensitive import WITH_TOKEN, add_token_step

    from zenctl.state.keys import legacy_secret_key

    add_token_step(project)
    assert project.run("init").code == 0
    ((lineage,),) = project.sql("SELECT lineage FROM zenctl_state")
    project.sql("UPDATE zenctl_state SET secret_key = :key", key=legacy_secret_key(lineage))
    assert project.apply(env=WITH_TOKEN).code == 0
    document = export(project, tmp_path / "before.json")
    assert document["format_version"] == 5
    del document["secret_key"]
    (tmp_path / "v1.json").write_text(json.dumps(document | {"format_version": 1}))
    cached = "No changes. 6 steps cached."

    project.reset_store()
    create_at_first_revision(project, document)
    assert project.run("state", "upgrade").code == 0
    assert project.run("plan", env=WITH_TOKEN).out.strip().endswith(cached)

    project.reset_store()
    imported = project.run("state", "import", str(tmp_path / "v1.json"))
    assert imported.code == 0, imported.both
    assert project.run("plan", env=WITH_TOKEN).out.strip().endswith(cached)


@pytest.mark.gcs_store
def test_a_newer_schema_is_never_written(project: Project) -> None:
    project.apply()
    project.sql("UPDATE alembic_version SET version_num = '9999'")
    for command in (("apply", "--auto-approve", "--var", "factor=3"), ("state", "upgrade")):
        result = project.run(*command)
        assert result.code == 1
        assert "Metadata store is newer than this zenctl" in result.err
        assert "schema 9999; this zenctl knows up to 0007" in result.err
    assert project.sql("SELECT COUNT(*) FROM runs") == [(1,)]


@pytest.mark.gcs_store
def test_history_moves_from_sqlite_to_another_store(project: Project, tmp_path: Path) -> None:
    source = Project(tmp_path / "source")
    for name in ("steps/__init__.py", "steps/pipeline.py", "steps/helpers.py", "data/raw.txt"):
        source.write(name, (project.root / name).read_text())
    source.write("main.zc.hcl", MAIN)
    assert source.apply().code == 0
    assert source.apply("--var", "factor=3").code == 0
    document = export(source, tmp_path / "history.json")
    assert len(document["runs"]) == 2 and len(document["artifacts"]) >= 5
    # The artifact bytes move with the artifact store, not with the state document.
    shutil.copytree(source.root / ".zenctl/artifacts", project.root / ".zenctl/artifacts")

    imported = project.run("state", "import", str(tmp_path / "history.json"))
    assert imported.code == 0, imported.both
    assert "Imported 2 runs, 8 executions" in imported.out
    # The steps are cached in the new store, at both variable values, with the same lineage.
    assert project.run("plan", "--var", "factor=3").out.strip().endswith("5 steps cached.")
    assert project.run("plan").out.strip().endswith("No changes. 5 steps cached.")
    assert history(export(project, tmp_path / "moved.json")) == history(document)
    assert "pipeline.demo.step.train" in project.run("state", "list").out

    again = project.run("state", "import", str(tmp_path / "history.json"))
    assert again.code == 1
    assert "The metadata store already holds history" in again.err
    assert "--force" in again.err
    forced = project.run("state", "import", str(tmp_path / "history.json"), "--force")
    assert forced.code == 0, forced.both


GREETING = """
  greeting "file" {
    path = "out/hello.txt"
    text = "Hello"
  }
}
"""


@pytest.mark.gcs_store
def test_export_and_import_carry_every_table(project: Project, tmp_path: Path) -> None:
    """Resources, executors' details and metrics move with the rest: imported into a fresh
    store, every step is cached, the resource is still managed and unchanged, details and
    metrics still shown."""
    from zenctl.state.transfer import SECTIONS

    project.write("stack.zc.hcl", project.store.block().rstrip().removesuffix("}") + GREETING)
    evaluate = "inputs = { model = step.train.outputs.output, numbers = step.prep.outputs.output }"
    project.write("main.zc.hcl", MAIN.replace(evaluate, evaluate + '\n    metrics = ["output"]'))
    assert project.apply().code == 0
    details = {"dataflow job": "2026-01-02_03_04_05-123", "console": "https://example.test/j"}
    train = "pipeline.demo.step.train"
    project.sql(
        "UPDATE step_executions SET details = :details WHERE address = :address",
        details=json.dumps(details),
        address=train,
    )
    before = export(project, tmp_path / "before.json")
    assert before["format_version"] == 5
    (metric,) = before["metrics"]
    assert (metric["name"], metric["value"], metric["value_json"]) == ("score", 6.5, "6.5")
    (resource,) = before["resources"]
    assert resource["address"] == "stack.default.greeting"
    assert resource["attributes"]["text"] == "Hello" and resource["state"]
    assert [e["details"] for e in before["executions"] if e["address"] == train] == [details]

    project.reset_store()
    imported = project.run("state", "import", str(tmp_path / "before.json"))
    assert imported.code == 0, imported.both
    assert "Imported 1 runs, 5 executions" in imported.out and "and 1 resources" in imported.out
    after = export(project, tmp_path / "after.json")
    assert {name: after[name] for name in SECTIONS} == {name: before[name] for name in SECTIONS}
    assert after["lineage"] == before["lineage"] and after["serial"] > before["serial"]

    plan = project.run("plan")
    assert plan.code == 0, plan.both
    assert plan.out.strip().endswith("No changes. 5 steps cached."), plan.out
    shown = project.run("show", train).out
    assert "dataflow job" in shown and "2026-01-02_03_04_05-123" in shown
    assert "output.score  6.5" in project.run("metrics", "show").out
    destroyed = project.run("destroy", "--auto-approve")  # still managed: zenctl removes it
    assert "Destroy complete! Resources: 1 destroyed." in destroyed.out, destroyed.both
    assert not (project.root / "out/hello.txt").exists()


def test_a_state_document_carries_every_column_of_every_table(tmp_path: Path) -> None:
    """Every table of history, every column, is a section of the document: a migration that
    adds one must add it to the export (the locks are not history, nor is the schema version;
    zenctl_state is the document's top level)."""
    import sqlite3

    from zenctl.state.db import SQLiteDatabase
    from zenctl.state.schema import upgrade
    from zenctl.state.transfer import SECTIONS

    path = tmp_path / "metadata.db"
    db = SQLiteDatabase(path)
    upgrade(db)
    db.close()
    connection = sqlite3.connect(path)
    tables = {
        table: {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
        for (table,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    connection.close()
    assert tables.pop("zenctl_state") == {"id", "lineage", "serial", "secret_key"}
    del tables["locks"], tables["alembic_version"]
    assert tables == {section.table: set(section.columns) for section in SECTIONS.values()}


def test_the_published_state_schema_is_the_one_zenctl_checks_with() -> None:
    packaged = (ROOT / "zenctl/state/state.schema.json").read_text()
    assert packaged == (ROOT / "specs/state.schema.json").read_text()


def test_malformed_state_documents_are_refused_clearly(project: Project, tmp_path: Path) -> None:
    from zenctl.state.transfer import FORMAT_VERSION

    project.apply()
    good = export(project, tmp_path / "good.json")
    bad_status = json.loads(json.dumps(good))
    bad_status["executions"][0]["status"] = "bogus"
    dangling = json.loads(json.dumps(good))
    dangling["lineage_edges"][0]["execution_id"] = "no-such-execution"
    dangling_current = json.loads(json.dumps(good))
    dangling_current["current"][0]["execution_id"] = "no-such-execution"
    newer = dict(good, format_version=FORMAT_VERSION + 1)
    huge_size = json.loads(json.dumps(good))
    huge_size["artifacts"][0]["size"] = 2**63  # a database integer holds less
    huge_time = json.loads(json.dumps(good))
    huge_time["runs"][0]["started_at"] = 2**70
    cases = {
        "size.json": (
            json.dumps(huge_size),
            "At artifacts[0].size: 9223372036854775808 is greater",
        ),
        "time.json": (json.dumps(huge_time), "At runs[0].started_at: 1180591620717411303424 is"),
        "truncated.json": (json.dumps(good)[:200], "is not valid JSON"),
        "status.json": (json.dumps(bad_status), "At executions[0].status: 'bogus' is not one of"),
        "dangling.json": (json.dumps(dangling), "execution no-such-execution is not in executions"),
        "current.json": (
            json.dumps(dangling_current),
            "current[0]: execution no-such-execution is not in executions",
        ),
        "newer.json": (json.dumps(newer), "was exported by a newer zenctl"),
        "list.json": ("[]", "At the top level: [] is not of type 'object'"),
    }
    for name, (text, expected) in cases.items():
        (tmp_path / name).write_text(text)
        result = project.run("state", "import", str(tmp_path / name), "--force")
        assert result.code == 1, result.both
        assert expected in result.err, result.err
        assert "Traceback" not in result.both
    assert project.run("plan").out.strip().endswith("No changes. 5 steps cached.")


@pytest.mark.gcs_store
def test_state_list_show_and_rm(project: Project) -> None:
    project.apply()
    listed = project.run("state", "list").out.split()
    assert listed == sorted(f"pipeline.demo.step.{s}" for s in MAIN_STEPS)
    shown = project.run("state", "show", "pipeline.demo.step.train")
    assert shown.code == 0 and "fingerprint" in shown.out and "bias = 0.5" in shown.out
    assert "not in state" in project.run("state", "show", "pipeline.demo.step.nope").err

    unconfirmed = project.run("state", "rm", "pipeline.demo.step.report")
    assert unconfirmed.code == 1
    assert "State rm needs confirmation" in unconfirmed.err
    assert "zenctl state rm --auto-approve" in unconfirmed.err
    removed = project.run("state", "rm", "pipeline.demo.step.report", "--auto-approve")
    assert removed.code == 0, removed.both
    assert "Removed 1 step(s) from state" in removed.out
    assert "pipeline.demo.step.report" not in project.run("state", "list").out
    # Forgotten, not deleted: its history stays, the removal is a recorded run of its own.
    assert "forgotten: zenctl state rm" in project.run("show", "pipeline.demo.step.report").out
    statuses = "SELECT status FROM step_executions WHERE address = :a ORDER BY serial"
    assert project.sql(statuses, a="pipeline.demo.step.report") == [("succeeded",), ("forgotten",)]
    assert "state rm" in project.run("runs").out
    plan = project.run("plan").out
    assert "pipeline.demo.step.report    run: new (removed from state)" in plan
    assert "Plan: 1 to run, 4 cached" in plan
    project.apply()
    assert "pipeline.demo.step.report" in project.run("state", "list").out


MAIN_STEPS = ("prep", "features", "train", "evaluate", "report")


def test_passwords_never_appear_in_output_or_state(tmp_path: Path) -> None:
    secret = "s3cret-Pa55word"
    project = Project(tmp_path)
    project.write(
        "main.zc.hcl",
        """
        variable "db_password" {
          type      = string
          sensitive = true
        }
        stack "default" {
          orchestrator "local" {}
          artifact_store "local" {
            path = ".zenctl/artifacts"
          }
          metadata_store "postgresql" {
            url = "postgresql://nobody:${var.db_password}@127.0.0.1:1/zenctl"
          }
        }
        pipeline "p" {
          step "s" {
            run = "steps:one"
          }
        }
        """,
    )
    project.write("steps.py", "def one():\n    return 1\n")
    env = {"ZENCTL_VAR_db_password": secret}
    down = project.run("plan", env=env)
    assert down.code == 1
    assert "Can't connect to the metadata store" in down.err
    assert "postgresql+psycopg://nobody:***@127.0.0.1:1/zenctl" in down.err
    assert secret not in down.both and "Traceback" not in down.both

    clear = project.root / "main.zc.hcl"
    clear.write_text(clear.read_text().replace("${var.db_password}", secret))
    refused = project.run("plan", env=env)
    assert "Password in clear in the metadata_store url" in refused.err
    assert "on main.zc.hcl line" in refused.err
    assert secret not in refused.both
    clear.write_text(clear.read_text().replace(f"nobody:{secret}@", "nobody@"))
    clear.write_text(clear.read_text().replace("url =", 'password_env = "ZT_PW"\n    url ='))
    unset = project.run("plan", env=env)
    assert "Environment variable ZT_PW is not set" in unset.err


@pytest.mark.all_stores
def test_server_passwords_stay_out_of_output_logs_and_state(
    project: Project, tmp_path: Path
) -> None:
    if project.store.kind == "sqlite":
        pytest.skip("SQLite has no password")
    secret = "pw-Zq81-never-shown"
    (project.root / "stack.zc.hcl").write_text(
        project.store.block().replace("url =", 'password_env = "ZT_DB_PASSWORD"\n    url =')
    )
    env = {"ZT_DB_PASSWORD": secret}
    applied = project.run("apply", "--auto-approve", env=env)
    if project.store.kind == "mysql":  # root has no password: the server says no, not us
        assert applied.code == 1 and "Can't connect to the metadata store" in applied.err
        assert "***@127.0.0.1:3306" in applied.err
    else:  # trust authentication ignores the password
        assert applied.code == 0, applied.both
        export(project, tmp_path / "state.json", env)
        assert project.run("plan", env=env).code == 0
        assert secret not in (tmp_path / "state.json").read_text()
    assert secret not in applied.both
    for path in project.root.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


@pytest.mark.all_stores
def test_retries_a_transaction_when_the_server_drops_the_connection(project: Project) -> None:
    """The server ends the session mid-transaction; the store re-runs the whole transaction."""
    from zenctl.state.db import ServerDatabase
    from zenctl.state.urls import server_url

    kind = project.store.kind
    if kind == "sqlite":
        pytest.skip("SQLite has no connection to drop; `database is locked` is unit-tested")
    db = ServerDatabase(server_url(kind, {"url": project.store.url}), kind)
    db.query("SELECT 1 AS one")
    attempts = []

    def work() -> int:
        with db.transaction() as execute:
            attempts.append(1)
            session = execute(
                "SELECT pg_backend_pid()" if kind == "postgresql" else "SELECT CONNECTION_ID()"
            ).fetchone()[0]
            if len(attempts) == 1:  # another session ends ours, as a DBA or a failover would
                kill = f"SELECT pg_terminate_backend({session})"
                project.sql(kill if kind == "postgresql" else f"KILL CONNECTION {session}")
            return int(execute("SELECT 41 + 1").fetchone()[0])

    assert db.retrying(work) == 42
    assert len(attempts) == 2
    db.close()


SLOW_PIPELINE = """
pipeline "slow" {
  step "first" {
    run = "slow_steps:first"
  }
  step "wait" {
    run    = "slow_steps:wait"
    inputs = { x = step.first.outputs.output }
  }
  step "last" {
    run    = "slow_steps:last"
    inputs = { x = step.wait.outputs.output }
  }
}
"""
SLOW_STEPS = """
import pathlib
import time


def first():
    return 1


def wait(x):
    pathlib.Path("waiting").write_text("yes")
    while not pathlib.Path("go").exists():
        time.sleep(0.05)
    return x + 1


def last(x):
    return x + 1
"""


@pytest.mark.all_stores
def test_apply_survives_its_database_sessions_being_terminated(project: Project) -> None:
    if project.store.kind != "postgresql":
        pytest.skip("pg_terminate_backend is PostgreSQL's")
    project.write("main.zc.hcl", SLOW_PIPELINE)
    project.write("slow_steps.py", SLOW_STEPS)
    env = {**os.environ, "NO_COLOR": "1"}
    apply = subprocess.Popen(
        [ZENCTL, "-C", str(project.root), "apply", "--auto-approve"],
        cwd=project.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (project.root / "waiting").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    terminated = project.sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = :db AND application_name = 'zenctl'",
        db=project.store.database,
    )
    assert terminated, "the apply had no session to terminate"
    (project.root / "go").write_text("go")
    output, _ = apply.communicate(timeout=120)
    assert "Traceback" not in output
    assert apply.returncode == 0, output
    assert "Apply complete! 3 ran" in output
    assert project.sql("SELECT status, COUNT(*) FROM step_executions GROUP BY status") == [
        ("succeeded", 3)
    ]
    assert project.run("plan").out.strip().endswith("No changes. 3 steps cached.")


def test_transient_errors_are_recognised_and_retries_are_bounded() -> None:
    import sqlite3

    from zenctl.diagnostics import UserError
    from zenctl.state import db as database

    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise sqlite3.OperationalError("database is locked")
        return "done"

    assert database.retrying(flaky, database._sqlite_transient, "sqlite:///x") == "done"
    assert len(calls) == 3

    def broken() -> None:
        raise sqlite3.OperationalError("no such table: runs")

    with pytest.raises(sqlite3.OperationalError):  # not transient: not retried
        database.retrying(broken, database._sqlite_transient, "sqlite:///x")

    def locked_forever() -> None:
        calls.append(1)
        raise sqlite3.OperationalError("database is locked")

    calls.clear()
    original = database.RETRY_MAX_WAIT
    database.RETRY_MAX_WAIT = 0.01
    try:
        with pytest.raises(UserError, match="Lost the metadata store"):
            database.retrying(locked_forever, database._sqlite_transient, "sqlite:///x")
    finally:
        database.RETRY_MAX_WAIT = original
    assert len(calls) == database.RETRY_ATTEMPTS


def test_store_urls_pick_the_drivers_and_hide_passwords() -> None:
    from zenctl.config.variables import Sensitive
    from zenctl.diagnostics import UserError
    from zenctl.state.urls import server_url

    url = server_url("postgresql", {"url": Sensitive("postgresql://u:pw@h/db")})
    assert url.drivername == "postgresql+psycopg" and url.password == "pw"
    assert url.render_as_string(hide_password=True) == "postgresql+psycopg://u:***@h/db"
    mysql = server_url("mysql", {"url": "mariadb://u@h/db", "password_env": "P"}, {"P": "x"})
    assert mysql.drivername == "mysql+pymysql" and mysql.password == "x"
    for settings, message in (
        ({"url": "mysql://u@h/db"}, "url is for another database"),
        ({"url": "not a url"}, "is not a database URL"),
        ({"path": "x"}, "takes url and password_env"),
    ):
        with pytest.raises(UserError) as refused:
            server_url("postgresql", settings)
        assert message in refused.value.diagnostic.summary + refused.value.diagnostic.detail
