"""Test helpers: a project in a temporary folder, driven through the `zenctl` command line.

`Project.run` runs zenctl in this process, as the binary would run it (arguments, environment,
stdin, stdout and stderr down to their file descriptors, exit code): a few milliseconds a
command where the binary pays Python's start-up and imports every time. Tests whose subject is
the process itself (signals, concurrent applies, a terminal on stdin, the entry point, variables
an interpreter reads when it starts) run the binary, `ZENCTL`, or use `Project(end_to_end=True)`.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
from hypothesis import HealthCheck, settings

ZENCTL = str(Path(sys.executable).parent / "zenctl")

# Hypothesis profiles. The default one keeps tests/test_model.py within about a minute on a
# 2-core CI machine; `pytest --hypothesis-profile=long` is the nightly-sized search. Tests that
# set their own sizes (the fuzzers of test_bad_input.py) keep them. A failure prints the blob
# that reproduces it (docs/testing.md).
settings.register_profile(
    "zenctl",
    max_examples=10,
    stateful_step_count=6,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "long", settings.get_profile("zenctl"), max_examples=200, stateful_step_count=25
)
settings.load_profile("zenctl")


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def both(self) -> str:
        return self.out + self.err


# The metadata stores a test whose subject is the store runs on (marked `all_stores`: its
# queries, schema upgrades, export/import, connection failures); every other test runs on
# SQLite alone, its behaviour being the same on each. The servers are the development
# machine's (PostgreSQL trust auth as postgres, MariaDB root without a password). The state
# tests proper (marked `gcs_store`: locking, crashes, integrity, export/import) run on the
# bucket store as well, against fake-gcs-server.
STORES = ("sqlite", "postgresql", "mysql")
GCS_STATE_BUCKET = "zenctl-state"
SERVERS = {
    "postgresql": "postgresql://postgres@127.0.0.1:5432",
    "mysql": "mysql://root@127.0.0.1:3306",
}


@functools.cache
def _admin(kind: str) -> Any:
    """An autocommit connection to the server, or the reason it cannot be had."""
    try:
        if kind == "postgresql":
            import psycopg

            return psycopg.connect(
                "host=127.0.0.1 port=5432 user=postgres dbname=postgres",
                autocommit=True,
                connect_timeout=3,
            )
        import pymysql

        return pymysql.connect(
            host="127.0.0.1", port=3306, user="root", connect_timeout=3, autocommit=True
        )
    except Exception as exc:
        return f"{kind} server at {SERVERS[kind]} is down: {exc}"


@dataclass
class Store:
    """One metadata store for one test: an SQLite file, or a fresh database on a server."""

    kind: str
    database: str = ""

    @property
    def url(self) -> str:
        return f"{SERVERS[self.kind]}/{self.database}" if self.database else ""

    def block(self) -> str:
        """The HCL of a stack like the embedded default one, on this store."""
        if self.kind == "gcs":
            where = f'bucket = "{GCS_STATE_BUCKET}"\n    prefix = "{self.database}"'
        elif self.kind == "sqlite":
            where = 'path = ".zenctl/metadata.db"'
        else:
            where = f'url = "{self.url}"'
        return (
            'stack "default" {\n  orchestrator "local" {}\n\n'
            '  artifact_store "local" {\n    path = ".zenctl/artifacts"\n  }\n\n'
            f'  metadata_store "{self.kind}" {{\n    {where}\n  }}\n}}\n'
        )

    def create(self) -> None:
        if self.kind == "gcs":
            self.database = f"state-{uuid.uuid4().hex[:12]}"
        elif self.kind != "sqlite":
            self.database = f"zenctl_test_{uuid.uuid4().hex[:12]}"
            _admin_execute(self.kind, f"CREATE DATABASE {self.database}")

    def drop(self) -> None:
        if self.kind == "gcs":
            gcs_bucket().delete_blobs(list(gcs_bucket().list_blobs(prefix=f"{self.database}/")))
        elif self.kind == "postgresql":
            _admin_execute(self.kind, f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")
        elif self.kind == "mysql":
            _admin_execute(self.kind, f"DROP DATABASE IF EXISTS {self.database}")

    def engine_url(self, root: Path) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{root / '.zenctl/metadata.db'}"
        driver = {"postgresql": "postgresql+psycopg", "mysql": "mysql+pymysql"}[self.kind]
        return f"{driver}{self.url[self.url.index(':') :]}"

    def sql(self, root: Path, query: str, **params: Any) -> list[tuple[Any, ...]]:
        """Rows of a query on the project's store, for tests that inspect state directly."""
        if self.kind == "gcs":
            return _gcs_sql(f"{self.database}/metadata.db", query, params)
        import sqlalchemy

        engine = sqlalchemy.create_engine(self.engine_url(root), poolclass=sqlalchemy.pool.NullPool)
        try:
            with engine.begin() as connection:
                result = connection.execute(sqlalchemy.text(query), params)
                return [tuple(row) for row in result] if result.returns_rows else []
        finally:
            engine.dispose()


def gcs_bucket() -> Any:
    import google.cloud.storage as storage

    return storage.Client().bucket(GCS_STATE_BUCKET)


def _gcs_sql(name: str, query: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """A query on a bucket store's database object: read, and written back if it changed
    (as a person editing the object by hand would: whatever zenctl's generation)."""
    import sqlite3
    import tempfile

    from google.api_core.exceptions import NotFound

    blob = gcs_bucket().blob(name)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "metadata.db"
        try:
            blob.download_to_filename(str(path))
        except NotFound:
            path.unlink(missing_ok=True)
        connection = sqlite3.connect(path)
        try:
            rows = [tuple(row) for row in connection.execute(query, params)]
            connection.commit()
            changed = connection.total_changes > 0
        finally:
            connection.close()
        if changed:
            blob.upload_from_filename(str(path))
        return rows


def _admin_execute(kind: str, statement: str) -> None:
    admin = _admin(kind)
    if isinstance(admin, str):
        pytest.skip(admin)
    with admin.cursor() as cursor:
        cursor.execute(statement)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test that uses a store runs on SQLite; on all three SQL stores when the store is what
    it tests (marked `all_stores`), and on the bucket store too when marked `gcs_store`."""
    if "store" in metafunc.fixturenames:
        marked = metafunc.definition.get_closest_marker
        kinds = ("sqlite",)
        if marked("gcs_store"):
            kinds = (*STORES, "gcs")
        elif marked("all_stores"):
            kinds = STORES
        metafunc.parametrize("store", kinds, indirect=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests first: the other tests then fill the cores around them (`pytest -n`), and
    the run does not end waiting on one of them."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
def gcs_state_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One fake-gcs-server for every bucket-store test, its bucket made."""
    from gcs_emulator import Emulator

    server = Emulator(tmp_path_factory.mktemp("gcs-state"))
    server.start()
    before = os.environ.get("STORAGE_EMULATOR_HOST")
    os.environ["STORAGE_EMULATOR_HOST"] = server.url  # for zenctl's processes and the tests'
    gcs_bucket().create()
    yield server.url
    server.kill()
    if before is None:
        del os.environ["STORAGE_EMULATOR_HOST"]
    else:
        os.environ["STORAGE_EMULATOR_HOST"] = before


@pytest.fixture
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """A fresh, empty metadata store of the parametrized kind, dropped after the test."""
    if request.param == "gcs":
        request.getfixturevalue("gcs_state_server")
    created = Store(request.param)
    created.create()
    yield created
    created.drop()


# What every command sees, in the binary and in this process: no colour, wide lines.
CONSOLE = {"NO_COLOR": "1", "COLUMNS": "200"}


def run_binary(
    argv: list[str], env: dict[str, str] | None = None, stdin: str | None = None
) -> Result:
    """zenctl as a user runs it: the installed program, in a process of its own."""
    done = subprocess.run(
        [ZENCTL, *argv],
        capture_output=True,
        text=True,
        env={**os.environ, **CONSOLE, **(env or {})},
        input=stdin,
        timeout=120,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def run_in_process(
    argv: list[str], root: Path, env: dict[str, str] | None = None, stdin: str | None = None
) -> Result:
    """zenctl run in this process, as `run_binary` runs it, for a project in `root`."""
    from zenctl.cli.app import run

    assert threading.current_thread() is threading.main_thread(), (
        "zenctl in this process owns its streams and environment while it runs: a test that "
        "runs it from a thread, beside another command, needs Project(end_to_end=True)"
    )
    started = [name for name in env or {} if name.startswith("PYTHON")]
    assert not started, f"{started} are read when Python starts: use Project(end_to_end=True)"
    modules, path = set(sys.modules), list(sys.path)
    with _environment({**CONSOLE, **(env or {})}), _captured(stdin) as output:
        code = run(argv, prog_name="zenctl")
    # Steps run in worker processes; step code imported here would leak into the next test.
    imported = [name for name in set(sys.modules) - modules if _under(sys.modules[name], root)]
    assert not imported and sys.path == path, (
        f"zenctl imported {imported or 'nothing'} and set sys.path to {sys.path} in its own "
        "process: a test of an executor that runs step code there needs Project(end_to_end=True)"
    )
    return Result(code, *output)


@contextlib.contextmanager
def _environment(overrides: dict[str, str]) -> Iterator[None]:
    """os.environ with `overrides`, restored whole afterwards (whatever the command set)."""
    saved = dict(os.environ)
    os.environ.update(overrides)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _captured(stdin: str | None) -> Iterator[list[str]]:
    """stdin from `stdin` (never a terminal), stdout and stderr into files, down to file
    descriptors 1 and 2: step workers forked by zenctl, and the processes they start, write
    there as they would into the binary's pipes. Buffered as Python buffers a pipe. What
    they received is in the list yielded once the block ends: [stdout, stderr]."""
    streams = sys.stdin, sys.stdout, sys.stderr
    for stream in streams[1:]:
        stream.flush()
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        ours = (
            io.StringIO(stdin or ""),
            open(1, "w", encoding="utf-8", closefd=False),  # noqa: SIM115
            open(2, "w", 1, "utf-8", "backslashreplace", closefd=False),  # noqa: SIM115
        )
        sys.stdin, sys.stdout, sys.stderr = ours
        output: list[str] = []
        try:
            yield output
        finally:
            for stream in ours:
                stream.close()  # flushed; the descriptors stay open
            sys.stdin, sys.stdout, sys.stderr = streams
            for fd, copy in zip((1, 2), saved, strict=True):
                os.dup2(copy, fd)
                os.close(copy)
            output += [_text(out), _text(err)]


def _text(captured: IO[bytes]) -> str:
    """What a stream received, as `subprocess.run(text=True)` reads it (universal newlines)."""
    captured.seek(0)
    return captured.read().decode().replace("\r\n", "\n").replace("\r", "\n")


def _under(module: Any, root: Path) -> bool:
    file = getattr(module, "__file__", None)
    return bool(file) and Path(file).is_relative_to(root)


class Project:
    def __init__(self, root: Path, store: Store | None = None, *, end_to_end: bool = False) -> None:
        self.root = root
        self.store = store or Store("sqlite")
        self.end_to_end = end_to_end  # run the binary: the subject is the process itself

    def sql(self, query: str, **params: Any) -> list[tuple[Any, ...]]:
        return self.store.sql(self.root, query, **params)

    def reset_store(self) -> None:
        """Throw the store away and start a new, empty one (a new lineage)."""
        if self.store.kind == "gcs":
            self.store.drop()
        elif self.store.kind == "sqlite":
            for path in (self.root / ".zenctl").glob("metadata.db*"):
                path.unlink()
        else:
            self.store.drop()
            _admin_execute(self.store.kind, f"CREATE DATABASE {self.store.database}")

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
        return path

    def run(
        self, *args: str, env: dict[str, str] | None = None, stdin: str | None = None
    ) -> Result:
        argv = ["-C", str(self.root), *args]
        if self.end_to_end:
            return run_binary(argv, env, stdin)
        return run_in_process(argv, self.root, env, stdin)

    def start_apply(
        self, sigint_ignored: bool = False, *, args: tuple[str, ...] = ()
    ) -> subprocess.Popen[str]:
        """An apply in the background, in its own session, for a test to interrupt;
        `sigint_ignored` starts it as a shell starts a background job (through `sh`, which
        execs zenctl with SIGINT ignored: a preexec_fn could deadlock beside other threads)."""
        command = [ZENCTL, "-C", str(self.root), "apply", "--auto-approve", *args]
        if sigint_ignored:
            command = ["sh", "-c", 'trap "" INT; exec "$0" "$@"', *command]
        return subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **CONSOLE},
            start_new_session=True,
        )

    def apply(self, *args: str, env: dict[str, str] | None = None) -> Result:
        result = self.run("apply", "--auto-approve", *args, env=env)
        assert "Traceback" not in result.both, result.both
        return result


# Steps that hold an apply mid-step until the test lets them go: `slow` says it started and
# waits for a `go` file beside it; `after`, its dependent, leaves `after_ran` when it runs.
HOLDING_STEPS = """
import time
from pathlib import Path

HERE = Path(__file__).parent


def slow():
    (HERE / "started").write_text("yes")
    while not (HERE / "go").exists():
        time.sleep(0.05)
    return 1


def after(x):
    (HERE / "after_ran").write_text("yes")
    return x
"""


def wait_until_started(project: Project, process: subprocess.Popen[str]) -> None:
    """Block until `process`'s apply is inside a HOLDING_STEPS `slow` step."""
    deadline = time.monotonic() + 60
    while not (project.root / "started").exists():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)


PIPELINE_STEPS = '''
"""Steps of the test pipeline: small, fast, deterministic."""

from pathlib import Path

from steps.helpers import scale_all


def prep(raw: Path, verbose: bool = False) -> list[int]:
    numbers = [int(line) for line in raw.read_text().split()]
    if verbose:
        print("read", len(numbers), "numbers")
    return numbers


def features(numbers: list[int], factor: int) -> list[int]:
    return scale_all(numbers, factor)


def train(features: list[int], bias: float) -> dict:
    return {"weights": [x + bias for x in features]}


def evaluate(model: dict, numbers: list[int]) -> dict:
    return {"score": sum(model["weights"]) / max(1, len(numbers))}


def report(numbers: list[int]) -> str:
    print("reporting on", len(numbers), "numbers")
    return f"{len(numbers)} numbers, max {max(numbers)}"


def boom(numbers: list[int]) -> int:
    raise ValueError("the model diverged")
'''

HELPERS = """
def scale_all(numbers, factor):
    return [n * factor for n in numbers]
"""

MAIN = """
variable "factor" {
  type    = number
  default = 2
}

pipeline "demo" {
  source "raw" {
    path = "data/raw.txt"
  }

  step "prep" {
    run    = "steps.pipeline:prep"
    inputs = { raw = source.raw }
    params = { verbose = false }
  }

  step "features" {
    run    = "steps.pipeline:features"
    inputs = { numbers = step.prep.outputs.output }
    params = { factor = var.factor }
  }

  step "train" {
    run    = "steps.pipeline:train"
    inputs = { features = step.features.outputs.output }
    params = { bias = 0.5 }
  }

  step "evaluate" {
    run    = "steps.pipeline:evaluate"
    inputs = { model = step.train.outputs.output, numbers = step.prep.outputs.output }
  }

  step "report" {
    run    = "steps.pipeline:report"
    inputs = { numbers = step.prep.outputs.output }
  }
}
"""


@pytest.fixture
def project(tmp_path: Path, store: Store) -> Project:
    """A five-step pipeline with a source, a helper module and an independent branch, on the
    embedded default stack or, for a server store, a stack (stack.zc.hcl) that uses it."""
    p = Project(tmp_path, store)
    if store.kind != "sqlite":
        p.write("stack.zc.hcl", store.block())
    p.write("steps/__init__.py", "")
    p.write("steps/pipeline.py", PIPELINE_STEPS)
    p.write("steps/helpers.py", HELPERS)
    p.write("data/raw.txt", "1 2 3 4 5\n")
    p.write("main.zc.hcl", MAIN)
    return p
