"""metadata_store "gcs": a team's shared state in a Cloud Storage bucket, no server to run.

Terraform's gcs backend keeps one state object and a lock object beside it; zenctl does the
same with its SQLite database. `gs://BUCKET/PREFIX/metadata.db` is the whole store and
`PREFIX/locks/WORKSPACE.json` are its state locks.

- Reads come from a local copy, downloaded when the store is opened and again when the state
  lock is taken (a holder sees every write committed before it).
- Each write is a transaction on the local copy, then an upload conditioned on the generation
  the copy came from (`if_generation_match`). If anyone wrote in between, the upload fails,
  the copy is dropped, and the store re-runs the transaction on the new generation (the same
  retry that re-runs a transaction after a dropped database connection): two racing CI jobs
  never lose each other's writes.
- A lock is an object created only if absent (`if_generation_match=0`) holding its holder's
  info; its heartbeat rewrites it conditioned on its own generation, and so does nothing once
  someone has taken it over. Every state write first checks that the lock object is still at
  the holder's generation (fencing); the conditional upload then catches a writer that
  slipped in between.

Every write uploads the whole database: fine for the thousands of executions a CI pipeline
records, and docs/state.md gives the figures from bench/ for when PostgreSQL is the better
choice.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import google.cloud.storage as storage
from google.api_core import exceptions as api
from google.auth.exceptions import DefaultCredentialsError

from zenctl.sdk import (
    Conflict,
    Database,
    LockTable,
    Row,
    SQLiteDatabase,
    UserError,
    parse_settings,
    retrying,
)
from zenctl_gcp.artifact_store import BINARY, TIMEOUT, transient
from zenctl_gcp.settings import GcsStoreSettings

T = TypeVar("T")

BLOCK = 'metadata_store "gcs"'


def _raced(exc: BaseException) -> bool:
    """Worth re-running the transaction: someone else wrote first, or the network blinked."""
    return isinstance(exc, api.PreconditionFailed) or transient(exc)


class GcsDatabase:
    """The store's SQLite database, as an object in a bucket (see the module's docstring)."""

    dialect = "sqlite"
    password: str | None = None  # credentials are Google Cloud's, never in a setting

    def __init__(self, settings: GcsStoreSettings) -> None:
        self.settings = settings
        prefix = settings.prefix.strip("/")
        self._name = f"{prefix}/metadata.db" if prefix else "metadata.db"
        self.url = f"gs://{settings.bucket}/{self._name}"
        try:
            client = storage.Client(project=settings.project)
        except DefaultCredentialsError:
            raise UserError(
                f"No Google Cloud credentials for {BLOCK} (bucket {settings.bucket})",
                "Run `gcloud auth application-default login`, or set "
                "GOOGLE_APPLICATION_CREDENTIALS to a service account key file; on Google Cloud "
                "the attached service account is used.",
            ) from None
        self._bucket = client.bucket(settings.bucket)
        self._locks = GcsLockTable(self._bucket, f"{prefix}/locks/" if prefix else "locks/")
        # The local copy lives in a private folder of its own, removed on close.
        self._folder = Path(tempfile.mkdtemp(prefix="zenctl-gcs-state-"))
        self._path = self._folder / "metadata.db"
        self._local: SQLiteDatabase | None = None
        self._generation = 0  # of the object the local copy came from; 0: there is none yet
        self._mutex = threading.RLock()
        self.retrying(self.refresh)

    @classmethod
    def from_settings(cls, settings: dict[str, Any], root: Path) -> Database:
        # typed as the protocol, so that mypy checks this class against it
        return cls(parse_settings(GcsStoreSettings, settings, BLOCK))

    @property
    def statements(self) -> int:
        return self._local.statements if self._local is not None else 0

    def _copy(self) -> SQLiteDatabase:
        if self._local is None:
            self.refresh()
        assert self._local is not None
        return self._local

    def refresh(self) -> None:
        with self._mutex:
            blob = self._bucket.blob(self._name)
            try:
                self._call(blob.reload)
                generation = int(blob.generation or 0)
            except api.NotFound:
                generation = 0
            if self._local is not None and generation == self._generation:
                return
            self._discard()
            if generation:
                self._call(
                    blob.download_to_filename, str(self._path), if_generation_match=generation
                )
            self._generation = generation
            self._local = SQLiteDatabase(self._path)
            # One file, complete after each commit: it is what gets uploaded.
            self._local.query("PRAGMA journal_mode=DELETE")

    def _discard(self) -> None:
        if self._local is not None:
            self._local.close()
            self._local = None
        for stale in self._folder.glob("metadata.db*"):
            stale.unlink()

    def _push(self) -> None:
        blob = self._bucket.blob(self._name)
        try:
            self._call(
                blob.upload_from_filename,
                str(self._path),
                content_type=BINARY,
                if_generation_match=self._generation,
            )
        except BaseException:
            self._discard()  # the copy holds a write the bucket does not: fetch it again
            raise
        self._generation = int(blob.generation or 0)

    def _call(self, operation: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """One request; a missing bucket or a permission is the user's to fix, named."""
        try:
            return operation(*args, timeout=TIMEOUT, retry=None, **kwargs)
        except (api.Forbidden, api.Unauthorized) as exc:
            raise UserError(
                f"Access denied to gs://{self.settings.bucket} ({exc.code})",
                f"{BLOCK} reads and writes {self.url} and its locks/ folder: the credentials "
                "need roles/storage.objectAdmin on the bucket. Check `gcloud auth "
                "application-default login` or GOOGLE_APPLICATION_CREDENTIALS.",
            ) from None
        except api.NotFound as exc:
            if "bucket" in str(exc).lower():
                raise UserError(
                    f"Bucket {self.settings.bucket} does not exist",
                    f"{BLOCK} keeps its state in gs://{self.settings.bucket}: create the "
                    f"bucket (gcloud storage buckets create gs://{self.settings.bucket}) or "
                    "fix the bucket setting.",
                ) from None
            raise

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        with self._mutex:
            return self._copy().query(sql, params)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Any]:
        with self._mutex:
            with self._copy().transaction() as execute:
                yield execute
            self._push()

    def retrying(self, work: Callable[[], T]) -> T:
        return retrying(work, _raced, self.url)

    def engine_url(self) -> Any:
        with self._mutex:
            self._copy()
            return f"sqlite:///{self._path}"

    def migrated(self) -> None:
        with self._mutex:
            self._push()

    def lock_table(self) -> LockTable:
        return self._locks

    def close(self) -> None:
        with self._mutex:
            self._discard()
            shutil.rmtree(self._folder, ignore_errors=True)


class GcsLockTable:
    """State locks as objects `PREFIX/locks/NAME.json`, each guarded by its generation."""

    def __init__(self, bucket: storage.Bucket, folder: str) -> None:
        self._bucket = bucket
        self._folder = folder
        self._held: dict[str, tuple[int, Row]] = {}  # lock ID -> (generation, row): ours
        self._seen: dict[str, int] = {}  # lock ID -> generation, of others' locks read

    def _blob(self, name: str) -> storage.Blob:
        return self._bucket.blob(f"{self._folder}{name}.json")

    def _write(self, row: Row, generation: int) -> None:
        """Write `row` over the lock object at `generation` (0: only if absent)."""
        blob = self._blob(row["name"])
        try:
            blob.upload_from_string(
                json.dumps(row, sort_keys=True),
                content_type="application/json",
                if_generation_match=generation,
                timeout=TIMEOUT,
                retry=None,
            )
        except api.PreconditionFailed:
            raise Conflict(f"lock {row['name']} changed") from None
        self._held[row["id"]] = (int(blob.generation or 0), row)

    def _read(self, blob: storage.Blob) -> Row | None:
        try:
            data = blob.download_as_bytes(timeout=TIMEOUT, retry=None)
        except api.NotFound:
            return None
        row: Row = json.loads(data)
        self._seen[row["id"]] = int(blob.generation or 0)
        return row

    def insert(self, row: Row) -> None:
        self._write(row, 0)

    def get(self, name: str) -> Row | None:
        return self._read(self._blob(name))

    def take_over(self, holder: Row, row: Row) -> None:
        self._write(row, self._seen[holder["id"]])

    def beat(self, name: str, lock_id: str) -> bool:
        generation, row = self._held[lock_id]
        try:
            self._write({**row, "heartbeat_at": time.time()}, generation)
        except Conflict:
            return False
        return True

    def fence(self, execute: Any, name: str, lock_id: str) -> bool:
        blob = self._blob(name)
        try:
            blob.reload(timeout=TIMEOUT, retry=None)
        except api.NotFound:
            return False
        return int(blob.generation or 0) == self._held[lock_id][0]

    def delete(self, name: str, lock_id: str) -> None:
        # Ours, or someone else's as last read (force-unlock): deleted only if still that.
        generation = self._held.pop(lock_id, (self._seen.get(lock_id), None))[0]
        if generation is None:
            return
        with contextlib.suppress(api.NotFound, api.PreconditionFailed):
            self._blob(name).delete(if_generation_match=generation, timeout=TIMEOUT, retry=None)

    def all(self) -> list[Row]:
        blobs = self._bucket.list_blobs(prefix=self._folder, timeout=TIMEOUT, retry=None)
        rows = [self._read(blob) for blob in blobs]
        return sorted((row for row in rows if row is not None), key=lambda row: row["name"])
