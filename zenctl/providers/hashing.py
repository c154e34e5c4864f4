"""Hashing a stream as it is written: how a step's value reaches a store in one pass over
its bytes (`ArtifactStore.put_stream`, zenctl/providers/protocol.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, BinaryIO, cast


class HashingWriter:
    """A binary stream that hashes what it passes on to `file`: a materializer writes through
    it, so that storing a value reads its bytes once."""

    def __init__(self, file: BinaryIO) -> None:
        import blake3  # the core's hash (zenctl/fingerprint/files.py)

        self.file = file
        # one thread: this runs in forked workers, where blake3's thread pool is unusable
        self.hasher = blake3.blake3(max_threads=1)
        self.size = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        view = memoryview(data).cast("B")
        if len(view) < _OVERLAP_BYTES:
            self.hasher.update(view)
            self.file.write(view)
        else:
            # numpy's 16 MiB chunks: hashed on another core while they are written (both
            # release the GIL), about a quarter off storing a large array; done before the
            # caller may reuse its buffer
            failed: list[BaseException] = []
            hashing = threading.Thread(target=_update, args=(self.hasher, view, failed))
            hashing.start()
            try:
                self.file.write(view)
            finally:
                hashing.join()
            if failed:
                raise failed[0]
        self.size += len(view)
        return len(view)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        self.file.flush()

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return False

    @property
    def closed(self) -> bool:
        return self.file.closed


_OVERLAP_BYTES = 1 << 20  # below this, a thread costs more than the overlap saves


def _update(hasher: Any, view: memoryview, failed: list[BaseException]) -> None:
    try:
        hasher.update(view)
    except BaseException as exc:  # raised by `write`, in the writing thread
        failed.append(exc)


def write_hashed(file: BinaryIO, write: Callable[[BinaryIO], object]) -> tuple[str, int]:
    """`write` to `file` through a `HashingWriter`: `(hash, size)` of the bytes written.
    Flushed, not synced: the store syncs what it keeps (`put_file` copies it)."""
    writer = HashingWriter(file)
    write(cast(BinaryIO, writer))  # a binary stream, as far as anything writing needs
    file.flush()
    return writer.hasher.hexdigest(), writer.size
