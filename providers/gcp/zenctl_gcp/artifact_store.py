"""A content-addressed artifact store in a Google Cloud Storage bucket.

Layout under `gs://BUCKET/PREFIX/`: `objects/ab/<digest>` holds the bytes and
`manifests/<digest>.json` says they are complete. `put` uploads the object, then creates
the manifest, both with `if_generation_match=0`: a concurrent writer of the same digest can
neither clobber nor be clobbered, and a reader that sees the manifest sees the whole object.
The manifest records the object's generation, whose bytes were hashed when stored: `check`
re-reads an object only when its generation changed since (the bucket's verified-at cache).
Quarantined objects move to `corrupt/<digest>`. Source snapshots and step logs live in a local
cache folder (steps read files); logs are uploaded to `logs/<run>/<address>.log` at step end.

Transfers stream from and to files, and their failures are retried by the client library's
own retry, request by request, for up to `retry_timeout` seconds: an object over 8 MiB goes up
in a resumable session of `chunk_size` requests, so a dropped connection sends one chunk again,
not the object; a download that breaks resumes at the byte it reached, and its checksum is
checked against the bucket's. Writes name the generation they expect, which is what makes
them safe to retry (a conditional policy: the library's, given our timeout).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

# Not `from google.cloud import storage`: mypy rejects it once a typed google.cloud package
# (the Dataflow client) is installed beside it.
import google.cloud.storage as storage
import requests
from google.api_core import exceptions as api
from google.auth.exceptions import DefaultCredentialsError, TransportError
from google.cloud.storage.retry import (
    DEFAULT_RETRY,
    ConditionalRetryPolicy,
    is_generation_specified,
)

from zenctl.sdk import (
    ArtifactStore,
    FolderArtifactStore,
    Integrity,
    StoredItem,
    UserError,
    hash_path,
    parse_settings,
    resolve_in_project,
)
from zenctl_gcp.settings import GcsSettings

T = TypeVar("T")

BLOCK = 'artifact_store "gcs"'
TIMEOUT = (10.0, 120.0)  # per request: connect, read
_FEW = 16  # up to this many objects to check: one request each; more: list the folders
_CACHE = "cache:"  # `StoredItem.key` prefix of the local cache's items
BINARY = "application/octet-stream"


class ArtifactStoreError(UserError):
    """The bucket cannot be used: a setting or a permission to fix, named in the message."""


def transient(exc: BaseException) -> bool:
    """Errors worth retrying: throttling, server errors, dropped connections."""
    return isinstance(
        exc,
        api.TooManyRequests
        | api.ServerError
        | requests.ConnectionError
        | requests.Timeout
        | requests.exceptions.ChunkedEncodingError
        | ConnectionError
        | TransportError,
    )


def _verified(manifest: storage.Blob) -> int | None:
    """The object generation whose bytes were hashed, as its manifest records it."""
    recorded = (manifest.metadata or {}).get("generation")
    return int(recorded) if recorded else None


class GcsArtifactStore(ArtifactStore):
    remote = True  # objects read are kept in the user's artifact cache (docs/artifact-cache.md)

    def __init__(self, settings: GcsSettings, root: Path) -> None:
        self.settings = settings
        self.cache = FolderArtifactStore(resolve_in_project(root, settings.cache))
        self.prefix = settings.prefix.strip("/")
        self._retry = DEFAULT_RETRY.with_delay(initial=0.25, maximum=8).with_timeout(
            settings.retry_timeout
        )
        # a write is retried only when it names the generation it expects: sent twice, the
        # second finds the first's object instead of writing it again
        self._retry_conditional = ConditionalRetryPolicy(
            self._retry, is_generation_specified, ["query_params"]
        )
        try:
            self.client = storage.Client(project=settings.project)
        except DefaultCredentialsError:
            raise ArtifactStoreError(
                f"No Google Cloud credentials for {BLOCK} (bucket {settings.bucket})",
                "Run `gcloud auth application-default login`, or set "
                "GOOGLE_APPLICATION_CREDENTIALS to a service account key file; on Google Cloud "
                "the attached service account is used.",
            ) from None
        self.bucket = self.client.bucket(settings.bucket)
        self._check_bucket()

    @classmethod
    def from_settings(cls, settings: dict[str, Any], root: Path) -> GcsArtifactStore:
        return cls(parse_settings(GcsSettings, settings, BLOCK), root)

    def _name(self, *parts: str) -> str:
        return "/".join([self.prefix, *parts] if self.prefix else parts)

    def _object(self, digest: str) -> storage.Blob:
        name = self._name("objects", digest[:2], digest)
        return self.bucket.blob(name, chunk_size=self.settings.chunk_size)

    def _manifest(self, digest: str) -> storage.Blob:
        return self.bucket.blob(self._name("manifests", f"{digest}.json"))

    def _uri(self, blob: storage.Blob) -> str:
        return f"gs://{self.settings.bucket}/{blob.name}"

    def _call(
        self,
        permission: str,
        operation: Callable[..., T],
        *args: Any,
        overwrite: bool = False,
        **kwargs: Any,
    ) -> T:
        """`operation` with transient errors retried by the library, as its own defaults do:
        a create only when it names the generation it expects, or when it is an `overwrite`
        that may happen twice; what still fails explained, or re-raised."""
        create = permission == "storage.objects.create" and not overwrite
        retry = self._retry_conditional if create else self._retry
        try:
            return operation(*args, retry=retry, timeout=TIMEOUT, **kwargs)
        except (api.Forbidden, api.Unauthorized) as exc:
            raise ArtifactStoreError(
                f"Access denied to gs://{self.settings.bucket} ({exc.code}): the credentials "
                f"need {permission} on the bucket (roles/storage.objectAdmin grants all that "
                "zenctl uses); check `gcloud auth application-default login` or "
                "GOOGLE_APPLICATION_CREDENTIALS"
            ) from None
        except Exception as exc:
            if isinstance(exc, api.RetryError) and exc.cause is not None:
                exc = exc.cause  # the retries ran out: what the last try met
            if not transient(exc):
                raise
            code = getattr(exc, "code", None)
            error = f"{code} {type(exc).__name__}" if code else type(exc).__name__
            raise ArtifactStoreError(
                f"gs://{self.settings.bucket} still failing after retrying for "
                f"{self.settings.retry_timeout:g}s ({error}); nothing "
                "recorded is lost: apply again once it is reachable (retry_timeout sets the wait)",
                str(exc),
            ) from None

    def _check_bucket(self) -> None:
        """Fail at once, with what to fix, when the bucket is missing or not readable."""
        try:
            self._call(
                "storage.objects.list",
                lambda **kw: list(self.client.list_blobs(self.bucket, max_results=1, **kw)),
            )
        except api.NotFound:
            raise ArtifactStoreError(
                f"Bucket gs://{self.settings.bucket} does not exist ({BLOCK})",
                f"Create it (`gcloud storage buckets create gs://{self.settings.bucket}`) or fix "
                "`bucket` in the stack's artifact_store block.",
            ) from None

    def put(self, digest: str, data: bytes) -> str:
        return self._put(digest, data)

    def put_file(self, digest: str, path: Path) -> str:
        """Uploaded from disk: a step's large file is never read whole into memory."""
        return self._put(digest, path)

    def _put(self, digest: str, data: bytes | Path) -> str:
        blob = self._object(digest)
        blobs = self._metadata([blob.name, self._manifest(digest).name])
        current, manifest = blobs.get(blob.name), blobs.get(self._manifest(digest).name)
        if current is not None and manifest and _verified(manifest) == current.generation:
            return self._uri(blob)  # published, and not replaced since
        if current is not None or not self._upload(blob, data, 0):
            self._keep_or_replace(blob, data)  # unpublished, damaged, or another writer's
        self._publish(digest, blob, manifest.generation if manifest else 0)
        return self._uri(blob)

    def _publish(self, digest: str, blob: storage.Blob, over: int) -> None:
        """Write the manifest of `blob`'s verified generation, if the manifest's generation is
        still `over` (0: none yet); a concurrent writer's manifest says the same."""
        manifest = self._manifest(digest)
        manifest.metadata = {"generation": str(blob.generation)}
        body = {"digest": digest, "size": blob.size, "generation": blob.generation}
        self._upload(manifest, json.dumps(body, sort_keys=True), over)  # False: it is there

    def _upload(self, blob: storage.Blob, data: bytes | str | Path, generation: int) -> bool:
        """Upload `data` (a file's: from disk) as `blob` if its generation is still
        `generation` (0: absent)."""
        upload = blob.upload_from_filename if isinstance(data, Path) else blob.upload_from_string
        try:
            self._call(
                "storage.objects.create",
                upload,
                str(data) if isinstance(data, Path) else data,
                content_type="application/json" if isinstance(data, str) else BINARY,
                if_generation_match=generation,
            )
        except api.PreconditionFailed:
            return False
        return True

    def _keep_or_replace(self, blob: storage.Blob, data: bytes | Path) -> None:
        """Keep an existing object with our bytes; replace exactly that version if it differs."""
        self._call("storage.objects.get", blob.reload)
        if blob.md5_hash == base64.b64encode(_md5(data)).decode():
            return
        if not self._upload(blob, data, blob.generation):
            self._keep_or_replace(blob, data)  # replaced meanwhile: check the new version

    def get(self, digest: str) -> bytes:
        blob = self._object(digest)
        try:
            data: bytes = self._call(
                "storage.objects.get", blob.download_as_bytes, raw_download=True
            )
        except api.NotFound:
            raise FileNotFoundError(f"{self._uri(blob)} does not exist") from None
        return data

    def get_file(self, digest: str, target: Path) -> None:
        """Downloaded to disk: a large object is never held in memory (the core verifies the
        file, in the user's artifact cache, before anything reads it)."""
        blob = self._object(digest)
        try:
            self._download(blob, target)
        except api.NotFound:
            raise FileNotFoundError(f"{self._uri(blob)} does not exist") from None

    def _download(self, blob: storage.Blob, target: Path, **conditions: Any) -> None:
        """Streamed to `target`: the stored bytes (raw, never a decompressed copy), checked
        against the bucket's checksum; a broken transfer resumes where it stopped."""
        self._call(
            "storage.objects.get",
            blob.download_to_filename,
            str(target),
            raw_download=True,
            checksum="auto",
            **conditions,
        )

    def check(self, expected: Mapping[str, int]) -> dict[str, Integrity]:
        names = [self._object(d).name for d in expected]
        names += [self._manifest(d).name for d in expected]
        names += [self._quarantined(d).name for d in expected]
        blobs = self._metadata(names)
        found: dict[str, Integrity] = {}
        for digest, size in expected.items():
            current = blobs.get(self._object(digest).name)
            manifest = blobs.get(self._manifest(digest).name)
            if current is None:
                corrupt = self._quarantined(digest).name in blobs
                found[digest] = Integrity.CORRUPT if corrupt else Integrity.MISSING
            elif current.size != size:
                found[digest] = Integrity.CORRUPT
            elif manifest and _verified(manifest) == current.generation:
                found[digest] = Integrity.OK  # the generation whose bytes were hashed
            else:  # replaced, or never published: hash it once and record that generation
                intact = self._hash_of(current) == digest
                if intact:  # remembered for the next check; a reader that may not write
                    # (a plan with roles/storage.objectViewer) hashes it again next time
                    with contextlib.suppress(ArtifactStoreError):
                        self._publish(digest, current, manifest.generation if manifest else 0)
                found[digest] = Integrity.OK if intact else Integrity.CORRUPT
        return found

    def _hash_of(self, blob: storage.Blob) -> str | None:
        with tempfile.TemporaryDirectory(prefix="zenctl-check-") as folder:
            target = Path(folder) / "object"
            try:
                self._download(blob, target, if_generation_match=blob.generation)
            except (api.NotFound, api.PreconditionFailed):
                return None  # changed again under us: not the version we were asked about
            return hash_path(target)

    def _metadata(self, names: list[str]) -> dict[str, storage.Blob]:
        """The objects among `names` that exist, with their metadata (no bytes)."""
        if len(names) <= 3 * _FEW:
            blobs = [self._call("storage.objects.get", self.bucket.get_blob, n) for n in names]
            return {blob.name: blob for blob in blobs if blob is not None}
        wanted = set(names)
        return {
            blob.name: blob
            for folder in ("objects", "manifests", "corrupt")
            for blob in self._list(folder)
            if blob.name in wanted
        }

    def _list(self, folder: str) -> list[storage.Blob]:
        prefix = self._name(folder) + "/"
        blobs: list[storage.Blob] = self._call(
            "storage.objects.list",
            lambda **kw: list(self.client.list_blobs(self.bucket, prefix=prefix, **kw)),
        )
        return blobs

    def _quarantined(self, digest: str) -> storage.Blob:
        return self.bucket.blob(self._name("corrupt", digest))

    def quarantine(self, digest: str) -> None:
        blob = self._call("storage.objects.get", self.bucket.get_blob, self._object(digest).name)
        if blob is None:
            return  # another reader set it aside first
        with contextlib.suppress(api.NotFound):
            self._call("storage.objects.delete", self._manifest(digest).delete)
        with contextlib.suppress(api.NotFound, api.PreconditionFailed):
            self._call(
                "storage.objects.create",
                self.bucket.copy_blob,
                blob,
                self.bucket,
                self._quarantined(digest).name,
                source_generation=blob.generation,
            )
            # only the damaged version: a good copy stored meanwhile stays
            self._call("storage.objects.delete", blob.delete, if_generation_match=blob.generation)

    def items(self) -> Iterator[StoredItem]:
        for kind, folder in (("object", "objects"), ("corrupt", "corrupt")):
            for blob in self._list(folder):
                digest = blob.name.rsplit("/", 1)[1] if kind == "object" else None
                yield StoredItem(kind, blob.name, digest, blob.size, blob.updated.timestamp())
        for item in self.cache.items():  # source snapshots, leftovers of killed applies
            yield replace(item, key=_CACHE + item.key)

    def remove(self, items: Sequence[StoredItem]) -> None:
        cached = [item for item in items if item.key.startswith(_CACHE)]
        self.cache.remove([replace(item, key=item.key.removeprefix(_CACHE)) for item in cached])
        for item in (item for item in items if not item.key.startswith(_CACHE)):
            blobs = [self.bucket.blob(item.key)]
            if item.kind == "object" and item.digest:  # unpublish first: no manifest alone
                blobs.insert(0, self._manifest(item.digest))
            for blob in blobs:
                with contextlib.suppress(api.NotFound):
                    self._call("storage.objects.delete", blob.delete)

    def snapshot(self, source: Path, digest: str) -> Path:
        return self.cache.snapshot(source, digest)

    def log_path(self, run_id: str, address: str) -> tuple[Path, str]:
        path, _ = self.cache.log_path(run_id, address)
        return path, f"gs://{self.settings.bucket}/{self._log_name(path)}"

    def _log_name(self, path: Path) -> str:
        return self._name("logs", *path.relative_to(self.cache.path / "logs").parts)

    def log_finished(self, path: Path) -> None:
        blob = self.bucket.blob(self._log_name(path))
        # the whole log again, if need be: a log is small, and the last one written wins
        self._call("storage.objects.create", blob.upload_from_filename, str(path), overwrite=True)


def _md5(data: bytes | Path) -> bytes:
    """The MD5 digest the bucket keeps of an object, of bytes or of a file read in chunks."""
    if isinstance(data, bytes):
        return hashlib.md5(data).digest()
    md5 = hashlib.md5()
    with data.open("rb") as source:
        for chunk in iter(lambda: source.read(1 << 20), b""):
            md5.update(chunk)
    return md5.digest()
