"""artifact_store "gcs": the test pipeline against fake-gcs-server, a local Cloud Storage."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import HOLDING_STEPS, ZENCTL, Project, wait_until_started
from gcs_emulator import Emulator
from test_plan_apply import step_lines

# The artifact store is under test; the metadata store's database is not.

storage = pytest.importorskip("google.cloud.storage", reason="providers/gcp is not installed")

BUCKET = "zenctl-test"
ADDR = "pipeline.demo.step."


@pytest.fixture
def emulator(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Emulator]:
    server = Emulator(tmp_path_factory.mktemp("gcs"))
    try:
        server.start()
    except (OSError, RuntimeError) as exc:
        pytest.skip(f"the fake-gcs-server binary cannot run: {exc}")
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", server.url)  # zenctl and the client below
    # the artifacts a test downloads stay out of the user's cache and out of other tests'
    monkeypatch.setenv("ZENCTL_CACHE_DIR", str(tmp_path_factory.mktemp("user-cache")))
    storage.Client().create_bucket(BUCKET)
    yield server
    server.kill()


def gcs_stack(
    extra: str = "", orchestrator: str = '"local" {}', prefix: str = "team/zenctl"
) -> str:
    return f"""
    stack "gcp" {{
      orchestrator {orchestrator}
      artifact_store "gcs" {{
        bucket = "{BUCKET}"
        prefix = "{prefix}"
        {extra}
      }}
      metadata_store "sqlite" {{}}
    }}
    """


def bucket_names(folder: str, prefix: str = "team/zenctl") -> list[str]:
    return [blob.name for blob in storage.Client().list_blobs(BUCKET, prefix=f"{prefix}/{folder}/")]


def test_pipeline_stores_artifacts_and_logs_in_the_bucket(
    project: Project, emulator: Emulator
) -> None:
    project.write("stack.zc.hcl", gcs_stack())
    applied = project.apply()
    assert applied.code == 0, applied.both
    objects = bucket_names("objects")
    manifests = bucket_names("manifests")
    assert len(objects) == len(manifests) == 5
    assert not (project.root / ".zenctl/artifacts").exists()
    log = next(name for name in bucket_names("logs") if name.endswith(f"{ADDR}report.log"))
    text = storage.Client().bucket(BUCKET).blob(log).download_as_bytes()
    assert b"reporting on 5 numbers" in text
    # where the apply ran, `zenctl logs` reads the copy it streamed the log through
    shown = project.run("logs", "report")
    assert shown.code == 0 and "reporting on 5 numbers" in shown.out, shown.both
    assert "No changes. 5 steps cached." in project.run("plan").out

    # a damaged object (same size, other bytes: a new generation) is never used
    document = json.loads(project.run("plan", "--json").out)
    prep = next(step for step in document["steps"] if step["address"] == f"{ADDR}prep")
    digest = prep["cached_outputs"]["output"]["hash"]
    blob = storage.Client().bucket(BUCKET).blob(f"team/zenctl/objects/{digest[:2]}/{digest}")
    good = blob.download_as_bytes()
    blob.upload_from_string(b"[9,9,9,9,9]")
    assert step_lines(project.run("plan").out)["prep"].startswith("~ run: artifact corrupt")
    applied = project.apply()
    assert applied.code == 0, applied.both
    assert "1 ran, 4 cached" in applied.out
    assert blob.download_as_bytes() == good
    assert "No changes. 5 steps cached." in project.run("plan").out


def test_store_quarantines_and_lists_for_gc(emulator: Emulator, tmp_path: Path) -> None:
    from zenctl_gcp.artifact_store import GcsArtifactStore, GcsSettings

    from zenctl.fingerprint.files import hash_bytes
    from zenctl.providers.protocol import Integrity

    store = GcsArtifactStore(GcsSettings(bucket=BUCKET, prefix="unit"), tmp_path)
    data = b"some artifact"
    digest = hash_bytes(data)
    assert store.put(digest, data) == f"gs://{BUCKET}/unit/objects/{digest[:2]}/{digest}"
    assert store.put(digest, data) == store.put(digest, data)  # already there: fine
    assert store.check({digest: len(data), "0" * 64: 1}) == {
        digest: Integrity.OK,
        "0" * 64: Integrity.MISSING,
    }
    assert [(i.kind, i.digest) for i in store.items()] == [("object", digest)]

    store.quarantine(digest)
    assert store.check({digest: len(data)}) == {digest: Integrity.CORRUPT}
    with pytest.raises(FileNotFoundError):
        store.get(digest)
    kinds = {item.kind: item for item in store.items()}
    assert set(kinds) == {"corrupt"}
    store.put(digest, data)  # a good copy is stored again
    assert store.check({digest: len(data)}) == {digest: Integrity.OK}
    store.remove([kinds["corrupt"]])
    assert [(i.kind, i.digest) for i in store.items()] == [("object", digest)]


def test_concurrent_writers_of_one_artifact_publish_one_object(
    emulator: Emulator, tmp_path: Path
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from zenctl_gcp.artifact_store import GcsArtifactStore, GcsSettings

    from zenctl.fingerprint.files import hash_bytes
    from zenctl.providers.protocol import Integrity

    data = b"written by four applies at once" * 1000
    digest = hash_bytes(data)
    stores = [GcsArtifactStore(GcsSettings(bucket=BUCKET), tmp_path) for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        uris = set(pool.map(lambda store: store.put(digest, data), stores))
    assert len(uris) == 1
    bucket = storage.Client().bucket(BUCKET)
    blob = bucket.get_blob(f"zenctl/objects/{digest[:2]}/{digest}")
    manifest = bucket.get_blob(f"zenctl/manifests/{digest}.json")
    assert blob.generation == int(manifest.metadata["generation"])  # the one that was verified
    assert blob.download_as_bytes() == data
    assert stores[0].check({digest: len(data)}) == {digest: Integrity.OK}


def test_missing_bucket_fails_at_once_with_what_to_fix(
    project: Project, emulator: Emulator
) -> None:
    project.write("stack.zc.hcl", gcs_stack().replace(BUCKET, "no-such-bucket"))
    applied = project.apply()
    assert applied.code == 1
    assert "Error: Bucket gs://no-such-bucket does not exist" in applied.err
    assert "gcloud storage buckets create" in applied.err
    assert "Running" not in applied.out


SLOW = """
import time


def slow(numbers: list[int]) -> int:
    time.sleep(2)
    return sum(numbers)
"""


def test_emulator_stopped_during_an_apply_loses_nothing(
    project: Project, emulator: Emulator
) -> None:
    project.write("steps/slow.py", SLOW)
    text = (project.root / "main.zc.hcl").read_text().rstrip()
    project.write(
        "main.zc.hcl",
        text[:-1]
        + '  step "slow" {\n    run = "steps.slow:slow"\n'
        + "    inputs = { numbers = step.prep.outputs.output }\n  }\n}\n",
    )
    project.write("stack.zc.hcl", gcs_stack("retry_timeout = 30"))
    logs = project.root / ".zenctl/gcs-cache/logs"

    def apply_with_outage(restart_after: float | None) -> subprocess.CompletedProcess[str]:
        """Kill the emulator as soon as the slow step starts; restart it later, or not."""
        runs = len(list(logs.rglob(f"{ADDR}slow.log")))
        apply = subprocess.Popen(
            [ZENCTL, "-C", str(project.root), "apply", "--auto-approve", "--parallelism", "1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        while len(list(logs.rglob(f"{ADDR}slow.log"))) == runs and apply.poll() is None:
            time.sleep(0.05)
        emulator.kill()
        if restart_after is not None:
            time.sleep(restart_after)
            emulator.start()
        out, err = apply.communicate(timeout=90)
        return subprocess.CompletedProcess(apply.args, apply.returncode, out, err)

    # down for longer than the step takes: its upload is retried until the bucket is back
    done = apply_with_outage(restart_after=3)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Apply complete! 6 ran" in done.stdout
    assert len(bucket_names("manifests")) == 6
    assert "No changes. 6 steps cached." in project.run("plan").out

    # down for longer than retry_timeout: the step fails with why, the next apply completes
    project.write("data/raw.txt", "1 2 3\n")
    project.write("stack.zc.hcl", gcs_stack("retry_timeout = 1"))
    done = apply_with_outage(restart_after=None)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "still failing after retrying for 1s (ConnectionError)" in done.stderr
    emulator.start()
    again = project.apply()
    assert again.code == 0, again.both
    assert f"{ADDR}prep: Running" not in again.out  # recorded before the outage
    assert f"{ADDR}slow: Done" in again.out
    assert "No changes. 6 steps cached." in project.run("plan").out


def test_dask_workers_share_only_the_bucket(project: Project, emulator: Emulator) -> None:
    """Steps on a local Dask cluster (no `scheduler`): artifacts and logs land in the bucket."""
    pytest.importorskip("distributed", reason="providers/dask is not installed")
    project.write("stack.zc.hcl", gcs_stack(orchestrator='"dask" {\n workers = 2\n}'))
    applied = project.apply()
    assert applied.code == 0, applied.both
    assert len(bucket_names("manifests")) == 5
    assert any(name.endswith(f"{ADDR}report.log") for name in bucket_names("logs"))
    assert not (project.root / ".zenctl/artifacts").exists()


def test_transient_errors_are_retried_and_permission_errors_are_not(
    emulator: Emulator, tmp_path: Path
) -> None:
    from google.api_core import exceptions as api
    from zenctl_gcp.artifact_store import ArtifactStoreError, GcsArtifactStore, GcsSettings

    store = GcsArtifactStore(GcsSettings(bucket=BUCKET, retry_timeout=5), tmp_path)
    calls: list[str] = []

    def busy() -> str:
        calls.append("call")
        if len(calls) < 3:
            raise (api.TooManyRequests if len(calls) == 1 else api.ServiceUnavailable)("busy")
        return "done"

    def denied() -> str:
        calls.append("call")
        raise api.Forbidden("caller does not have storage.objects.get access")

    # an operation of the library, retried by the policy the store hands it
    def operation(attempt: Any) -> Any:
        return lambda retry, timeout: retry(attempt)()

    assert store._call("storage.objects.get", operation(busy)) == "done"
    assert len(calls) == 3

    calls.clear()
    with pytest.raises(ArtifactStoreError, match=r"need storage\.objects\.get on the bucket"):
        store._call("storage.objects.get", operation(denied))
    assert len(calls) == 1


# -- metadata_store "gcs": the state in the bucket ---------------------------------------------

SHARED = """
stack "team" {
  orchestrator "local" {}
  artifact_store "gcs" {
    bucket = "%(bucket)s"
    prefix = "team/artifacts"
  }
  metadata_store "gcs" {
    bucket = "%(bucket)s"
    prefix = "team/state"
  }
}

pipeline "p" {
  stack = stack.team
  step "slow" {
    run = "held:slow"
  }
  step "after" {
    run    = "held:after"
    inputs = { x = step.slow.outputs.output }
  }
}
"""


def test_shared_state_survives_the_bucket_going_away_mid_apply(
    tmp_path: Path, emulator: Emulator
) -> None:
    """The bucket is unreachable while a step runs: the apply retries, loses nothing, and a
    fresh clone (no .zenctl folder at all) then sees every step cached."""
    project = Project(tmp_path / "clone-1")
    project.write("main.zc.hcl", SHARED % {"bucket": BUCKET})
    project.write("held.py", HOLDING_STEPS)
    process = project.start_apply()
    wait_until_started(project, process)
    emulator.kill()
    time.sleep(1.0)
    (project.root / "go").write_text("now")  # the step ends while the bucket is gone
    time.sleep(1.0)
    emulator.start()
    out, err = process.communicate(timeout=180)
    assert process.returncode == 0, out + err
    assert "Apply complete! 2 ran" in out

    clone = Project(tmp_path / "clone-2")  # another CI job: only the bucket is shared
    clone.write("main.zc.hcl", SHARED % {"bucket": BUCKET})
    clone.write("held.py", HOLDING_STEPS)
    assert "No changes. 2 steps cached." in clone.run("plan").out
    listed = clone.run("state", "list")
    assert "pipeline.p.step.after" in listed.out, listed.both
    names = [blob.name for blob in storage.Client().list_blobs(BUCKET, prefix="team/state/")]
    assert names == ["team/state/metadata.db"]  # the lock object was released


def test_racing_writers_never_lose_each_others_records(emulator: Emulator) -> None:
    """Two processes' stores write from stale copies: each write lands, none is lost."""
    from zenctl_gcp.metadata_store import GcsDatabase, GcsStoreSettings

    settings = GcsStoreSettings(bucket=BUCKET, prefix="race")
    first, second = GcsDatabase(settings), GcsDatabase(settings)
    for db in (first, second):
        with contextlib.suppress(Exception):  # the second finds the table made
            db.retrying(lambda db=db: _create_table(db))
    for round_ in range(5):
        for db in (first, second):  # each writes from a copy the other has just outdated
            db.retrying(lambda db=db, n=round_: _insert(db, f"{db is first}-{n}"))
    third = GcsDatabase(settings)
    names = [row["name"] for row in third.query("SELECT name FROM notes ORDER BY name")]
    assert sorted(names) == sorted(f"{who}-{n}" for who in (True, False) for n in range(5))
    for db in (first, second, third):
        db.close()


def _create_table(db: Any) -> None:
    with db.transaction() as execute:
        execute("CREATE TABLE IF NOT EXISTS notes (name TEXT PRIMARY KEY)")


def _insert(db: Any, name: str) -> None:
    with db.transaction() as execute:
        execute("INSERT INTO notes (name) VALUES (:name)", {"name": name})


def test_a_missing_state_bucket_is_a_clear_error(tmp_path: Path, emulator: Emulator) -> None:
    project = Project(tmp_path / "p")
    project.write(
        "main.zc.hcl",
        (SHARED % {"bucket": BUCKET}).replace(
            f'bucket = "{BUCKET}"\n    prefix = "team/state"',
            'bucket = "no-such-bucket"\n    prefix = "x"',
        ),
    )
    project.write("held.py", HOLDING_STEPS)
    (project.root / "go").write_text("now")
    for command in ("plan", "apply"):
        refused = (
            project.run(command, "--auto-approve") if command == "apply" else project.run(command)
        )
        assert refused.code == 1, refused.both
        assert "Error: Bucket no-such-bucket does not exist" in refused.err, refused.err
        assert "gcloud storage buckets create gs://no-such-bucket" in refused.err
        assert "on main.zc.hcl line 7" in refused.err and "Traceback" not in refused.both
    bad = project.write(
        "main.zc.hcl",
        (SHARED % {"bucket": BUCKET}).replace(
            'prefix = "team/state"', 'prefix = "team/state"\n    region = "eu"'
        ),
    )
    assert bad.exists()
    checked = project.run("validate")
    assert checked.code == 1 and "region" in checked.err, checked.both


class CountingProxy:
    """An HTTP proxy in front of the emulator that counts each object's downloads and the bytes
    of uploads; with `refuse_downloads`, it drops every download's connection, as an
    unreachable host would, while uploads and metadata requests still pass; with
    `drop_chunk = N`, it drops the connection once, halfway through the body of the Nth chunk
    of a resumable upload; with `drop_download`, once, halfway through a download's body."""

    def __init__(self, target: str) -> None:
        self.downloads: Counter[str] = Counter()
        self.refuse_downloads = False
        self.uploaded = 0  # bytes of upload bodies received, dropped ones included
        self.chunks = 0  # requests of resumable upload sessions
        self.drop_chunk: int | None = None
        self.downloaded = 0  # bytes of download bodies sent to the client
        self.drop_download = False
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler(target))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def object_downloads(self) -> dict[str, int]:
        """Downloads of artifact objects, by hash."""
        return {
            name.rsplit("/", 1)[1]: count
            for name, count in self.downloads.items()
            if "/objects/" in name
        }

    def _handler(self, target: str) -> type[BaseHTTPRequestHandler]:
        proxy = self
        host, port = urllib.parse.urlsplit(target).netloc.split(":")

        class Forward(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def forward(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                if urllib.parse.parse_qs(url.query).get("alt") == ["media"]:
                    if proxy.refuse_downloads:
                        self.close_connection = True  # no response: the client sees a drop
                        return
                    proxy.downloads[urllib.parse.unquote(url.path.split("/o/", 1)[1])] += 1
                length = int(self.headers.get("Content-Length") or 0)
                if url.path.startswith("/upload/"):
                    proxy.chunks += "upload_id=" in url.query
                    if proxy.chunks == proxy.drop_chunk and "upload_id=" in url.query:
                        proxy.drop_chunk = None
                        proxy.uploaded += len(self.rfile.read(length // 2))
                        self.close_connection = True  # mid-body: the client sees a reset
                        return
                    proxy.uploaded += length
                upstream = http.client.HTTPConnection(host, int(port), timeout=30)
                upstream.request(
                    self.command,
                    self.path,
                    self.rfile.read(length) if length else None,
                    {k: v for k, v in self.headers.items() if k.lower() != "connection"},
                )
                response = upstream.getresponse()
                body = response.read()
                upstream.close()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in ("connection", "content-length", "transfer-encoding"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if urllib.parse.parse_qs(url.query).get("alt") == ["media"]:
                    if proxy.drop_download:
                        proxy.drop_download = False
                        body = body[: len(body) // 2]  # then the connection closes
                        self.close_connection = True
                    proxy.downloaded += len(body)
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = forward

        return Forward


@pytest.fixture
def proxy(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[CountingProxy]:
    """zenctl talks to the emulator through a CountingProxy."""
    counting = CountingProxy(emulator.url)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", counting.url)
    yield counting
    counting.server.shutdown()
    counting.server.server_close()


def outputs_by_step(project: Project) -> dict[str, str]:
    """Each step's output hash, as the plan would reuse it."""
    document = json.loads(project.run("plan", "--json").out)
    return {
        step["address"].removeprefix(ADDR): step["cached_outputs"]["output"]["hash"]
        for step in document["steps"]
    }


def test_each_artifact_is_downloaded_once_across_applies(
    project: Project, proxy: CountingProxy
) -> None:
    project.write("stack.zc.hcl", gcs_stack())
    # one step at a time: two steps missing the cache at the same moment would both download
    applied = project.apply("--parallelism", "1")
    assert applied.code == 0, applied.both
    hashes = outputs_by_step(project)
    # prep's output is read by features, evaluate and report; features' and train's by one each
    assert proxy.object_downloads() == {hashes[s]: 1 for s in ("prep", "features", "train")}
    applied = project.apply("--replace", f"{ADDR}evaluate", "--replace", f"{ADDR}report")
    assert applied.code == 0, applied.both
    assert "2 ran, 3 cached" in applied.out
    assert proxy.object_downloads() == {hashes[s]: 1 for s in ("prep", "features", "train")}


def test_pull_fetches_what_the_plan_reuses_for_reads_without_the_bucket(
    project: Project, proxy: CountingProxy, tmp_path: Path
) -> None:
    project.write("stack.zc.hcl", gcs_stack("retry_timeout = 1"))
    assert project.apply().code == 0
    hashes = outputs_by_step(project)
    cache = tmp_path / "laptop-cache"
    laptop = {"ZENCTL_CACHE_DIR": str(cache)}  # another machine's empty cache
    proxy.downloads.clear()

    pulled = project.run("pull", f"{ADDR}features", env=laptop)  # and what it needs
    assert pulled.code == 0, pulled.both
    assert f"{ADDR}prep: output {hashes['prep'][:10]} fetched (11 B)" in pulled.out
    assert f"Pull complete: 2 fetched (23 B). Cache: {cache / 'artifacts'}" in pulled.out
    assert proxy.object_downloads() == {hashes["prep"]: 1, hashes["features"]: 1}

    pulled = project.run("pull", env=laptop)
    assert pulled.code == 0, pulled.both
    assert f"{ADDR}features: output {hashes['features'][:10]} already cached" in pulled.out
    assert "Pull complete: 3 fetched (63 B), 2 already cached (23 B)." in pulled.out
    assert set(proxy.object_downloads().values()) == {1}
    assert len(proxy.object_downloads()) == 5
    assert "3 fetched" not in project.run("pull", env=laptop).out  # nothing new: no download
    assert set(proxy.object_downloads().values()) == {1}

    # a flipped bit in the cache is caught: that entry alone is fetched again
    entry = cache / "artifacts" / hashes["prep"][:2] / hashes["prep"]
    damaged = bytearray(entry.read_bytes())
    damaged[0] ^= 0x20
    entry.write_bytes(damaged)
    pulled = project.run("pull", env=laptop)
    assert "Pull complete: 1 fetched (11 B), 4 already cached" in pulled.out
    assert proxy.object_downloads()[hashes["prep"]] == 2
    assert entry.read_bytes() != damaged

    # downloads now fail as with no network: steps that run read their inputs from the cache
    proxy.refuse_downloads = True
    rerun = ("--replace", f"{ADDR}evaluate", "--replace", f"{ADDR}report")
    applied = project.apply(*rerun, env=laptop)
    assert applied.code == 0, applied.both
    assert "2 ran, 3 cached" in applied.out
    # ... and would have failed without it: the refused downloads are real
    applied = project.apply(*rerun, env={"ZENCTL_CACHE_DIR": str(tmp_path / "empty")})
    assert applied.code == 1
    assert "still failing after retrying for 1s (ConnectionError)" in applied.both


def test_pull_into_a_cache_that_cannot_be_written_says_nothing_was_kept(
    project: Project, emulator: Emulator, tmp_path: Path
) -> None:
    project.write("stack.zc.hcl", gcs_stack())
    assert project.apply().code == 0
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "artifacts").write_text("a file where the cache's folder would be")
    pulled = project.run("pull", env={"ZENCTL_CACHE_DIR": str(cache)})
    assert pulled.code == 1, pulled.both
    assert "Artifacts fetched but not kept" in pulled.err
    assert "not kept: the artifact cache" in pulled.out
    assert "Pull incomplete: 0 fetched (0 B)." in pulled.out  # it was: "5 fetched"


def test_pull_fails_naming_the_artifact_missing_from_the_bucket(
    project: Project, emulator: Emulator
) -> None:
    project.write("stack.zc.hcl", gcs_stack())
    assert project.apply().code == 0
    hashes = outputs_by_step(project)
    bucket = storage.Client().bucket(BUCKET)
    bucket.blob(f"team/zenctl/objects/{hashes['train'][:2]}/{hashes['train']}").delete()
    pulled = project.run("pull")
    assert pulled.code == 1
    assert "Traceback" not in pulled.err
    # the apply read prep's and features' outputs into the cache; train's and evaluate's run
    assert "Pull incomplete: 1 fetched (16 B), 2 already cached (23 B)." in pulled.out
    assert "Error: Artifacts missing or damaged in the artifact store" in pulled.err
    assert f"{ADDR}train: artifact missing (output output {hashes['train'][:10]})" in pulled.err
    assert "run again at the next `zenctl apply`" in pulled.err


def test_cached_artifacts_are_read_with_the_bucket_gone(
    project: Project, emulator: Emulator
) -> None:
    from zenctl_gcp.artifact_store import ArtifactStoreError, GcsArtifactStore, GcsSettings

    from zenctl.artifacts.integrity import read_verified

    project.write("stack.zc.hcl", gcs_stack())
    assert project.apply().code == 0
    assert project.run("pull").code == 0
    hashes = outputs_by_step(project)
    store = GcsArtifactStore(
        GcsSettings(bucket=BUCKET, prefix="team/zenctl", retry_timeout=1), project.root
    )
    emulator.kill()  # its port is closed now
    assert json.loads(read_verified(store, hashes["prep"])) == [1, 2, 3, 4, 5]
    assert read_verified(store, hashes["report"]) == b"5 numbers, max 5"
    with pytest.raises(ArtifactStoreError, match="still failing after retrying"):
        read_verified(store, "0" * 64)  # not in the cache: the bucket is asked, and is gone


def test_a_directory_output_goes_through_the_bucket_and_the_cache(
    project: Project, emulator: Emulator
) -> None:
    from test_file_outputs import make, outputs

    make(project)
    project.write("stack.zc.hcl", gcs_stack())
    applied = project.apply()
    assert applied.code == 0, applied.both
    assert outputs(project, "build")["output"]["materializer"] == "directory"
    # the manifest and each distinct file are objects: a.txt and sub/b.txt are one
    built = bucket_names("objects")
    assert len(built) == 1 + 3 + 1 + 1, built  # manifest, 3 distinct files, model, read's
    assert not (project.root / ".zenctl/artifacts/objects").exists()
    cache = Path(os.environ["ZENCTL_CACHE_DIR"]) / "artifacts"
    assert len([p for p in cache.rglob("*") if p.is_file()]) >= 4  # what the reader read

    project.write("main.zc.hcl", (project.root / "main.zc.hcl").read_text().replace('"a"', '"b"'))
    applied = project.apply()
    assert "1 ran, 2 cached" in applied.out, applied.both
    digest = str(outputs(project, "read")["output"]["hash"])
    blob = storage.Client().bucket(BUCKET).blob(f"team/zenctl/objects/{digest[:2]}/{digest}")
    assert json.loads(blob.download_as_bytes())["n"] == "1"


def test_a_file_is_uploaded_from_disk_and_replaces_a_damaged_copy(
    emulator: Emulator, tmp_path: Path
) -> None:
    from zenctl_gcp.artifact_store import GcsArtifactStore, GcsSettings

    from zenctl.fingerprint.files import hash_bytes
    from zenctl.providers.protocol import Integrity

    store = GcsArtifactStore(GcsSettings(bucket=BUCKET, prefix="files"), tmp_path / "cache")
    data = b"a large file, in chunks" * 100_000
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    digest = hash_bytes(data)
    blob = storage.Client().bucket(BUCKET).blob(f"files/objects/{digest[:2]}/{digest}")
    blob.upload_from_string(b"half an upload")  # a killed writer's object, no manifest
    store.put_file(digest, source)
    assert blob.download_as_bytes() == data
    assert store.check({digest: len(data)}) == {digest: Integrity.OK}
    store.put_file(digest, source)  # published already: nothing uploaded again
    assert store.get(digest) == data


def test_a_dropped_connection_mid_transfer_resumes_instead_of_starting_over(
    proxy: CountingProxy, tmp_path: Path
) -> None:
    """A large output goes up in a resumable session: the library's retry sends again the
    chunk whose connection dropped, and nothing before it. Down, the same: it resumes."""
    from zenctl_gcp.artifact_store import GcsArtifactStore, GcsSettings

    from zenctl.sdk import hash_bytes

    chunk = 256 << 10
    store = GcsArtifactStore(GcsSettings(bucket=BUCKET, chunk_size=chunk), tmp_path)
    data = os.urandom((8 << 20) + 5 * chunk)  # over 8 MiB: a resumable upload, 37 chunks
    (tmp_path / "big.bin").write_bytes(data)
    digest = hash_bytes(data)
    proxy.drop_chunk = 20
    store.put_file(digest, tmp_path / "big.bin")
    assert proxy.drop_chunk is None, "the proxy dropped no chunk"
    assert proxy.chunks == 37 + 1  # each chunk once, the dropped one twice
    assert len(data) < proxy.uploaded <= len(data) + chunk  # not sent again from the start
    stored = storage.Client().bucket(BUCKET).blob(store._object(digest).name).download_as_bytes()
    assert hash_bytes(stored) == digest

    # a download broken halfway resumes where it stopped, its checksum checked
    proxy.drop_download, proxy.downloaded = True, 0
    store.get_file(digest, tmp_path / "back.bin")
    assert not proxy.drop_download, "the proxy broke no download"
    assert (tmp_path / "back.bin").read_bytes() == data
    assert len(data) < proxy.downloaded < 1.1 * len(data)  # not from the first byte again


def test_a_reader_that_may_not_write_still_checks_a_rewritten_object(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An object uploaded again with the same bytes (a copy, a restore: a new generation) is
    hashed once and its manifest rewritten; a plan run with read-only credentials cannot
    write it, and still finds the object intact (docs/gcp.md: objectViewer is enough)."""
    from zenctl_gcp.artifact_store import ArtifactStoreError, GcsArtifactStore, GcsSettings

    from zenctl.fingerprint.files import hash_bytes
    from zenctl.providers.protocol import Integrity

    store = GcsArtifactStore(GcsSettings(bucket=BUCKET, prefix="viewer"), tmp_path)
    data = b"the same bytes"
    digest = hash_bytes(data)
    store.put(digest, data)
    name = f"viewer/objects/{digest[:2]}/{digest}"
    storage.Client().bucket(BUCKET).blob(name).upload_from_string(data)  # a new generation

    def denied(*args: object) -> None:
        raise ArtifactStoreError(f"Access denied to gs://{BUCKET} (403)")

    monkeypatch.setattr(store, "_publish", denied)
    assert store.check({digest: len(data)}) == {digest: Integrity.OK}
