"""Turn step outputs into bytes and back, chosen by the value's type.

A content hash is taken over these bytes, so each materializer writes deterministically:
the same value always gives the same bytes, and downstream steps stay cached when an
upstream re-run reproduces its output.

Values are written to a stream (`write`), never built whole in memory first: the artifact
store hashes the bytes as they go to disk (docs/artifacts.md). They are read back from a
file (`load`): a numpy array is memory-mapped read-only, so a step reads only the pages it
touches and a large input costs no copy.
"""

from __future__ import annotations

import functools
import io
import json
from pathlib import Path
from typing import Any, BinaryIO

JSON, TEXT, BYTES, NUMPY, PANDAS, JOBLIB = "json", "text", "bytes", "numpy", "pandas", "joblib"


def kind(value: Any) -> str:
    """The name of the materializer that stores `value`."""
    module = type(value).__module__
    if module.startswith("pandas") and type(value).__name__ == "DataFrame":
        return PANDAS
    if module == "numpy" and type(value).__name__ == "ndarray" and value.dtype != object:
        return NUMPY
    if isinstance(value, bytes):
        return BYTES
    if isinstance(value, str):
        return TEXT
    return JSON if _is_plain(value) else JOBLIB


def write(materializer: str, value: Any, out: BinaryIO) -> None:
    """Write `value`'s bytes, as `materializer` (from `kind`) encodes them, to `out`: in
    chunks where the format allows (numpy's and joblib's arrays), so that a value is never
    copied whole. The bytes are those `dump` gives: a stored value keeps its hash."""
    if materializer == PANDAS:
        value.to_parquet(out, index=True)
    elif materializer == NUMPY:
        import numpy

        numpy.save(out, value, allow_pickle=False)  # not a real file: written in chunks
    elif materializer == BYTES:
        out.write(value)
    elif materializer == TEXT:
        out.write(value.encode())
    elif materializer == JSON:
        out.write(json.dumps(value, sort_keys=True, separators=(",", ":")).encode())
    else:
        _canonical_pickler()(out).dump(value)


def dump(value: Any) -> tuple[str, bytes]:
    """`(materializer name, bytes)` for a step output, in memory (small values, sort keys)."""
    name = kind(value)
    buffer = io.BytesIO()
    write(name, value, buffer)
    return name, buffer.getvalue()


def load(materializer: str, source: bytes | Path, writable: bool = False) -> Any:
    """The value stored as `source` (its bytes, or the file holding them). A numpy array read
    from a file is memory-mapped read-only unless `writable` (then a private copy in memory):
    `np.array(value)` gives a step a copy it may write to."""
    if materializer == NUMPY and isinstance(source, Path) and not writable:
        import numpy

        return numpy.load(source, mmap_mode="r", allow_pickle=False)
    if isinstance(source, Path):
        if materializer in (PANDAS, NUMPY, JOBLIB):  # their readers take a path
            return _read(materializer, source)
        source = source.read_bytes()  # json, text, bytes: small, and wanted whole anyway
    if materializer == JSON:
        return json.loads(source)
    if materializer == TEXT:
        return source.decode()
    if materializer == BYTES:
        return source
    return _read(materializer, io.BytesIO(source))


def _read(materializer: str, source: Path | BinaryIO) -> Any:
    if materializer == PANDAS:
        import pandas

        return pandas.read_parquet(source)
    if materializer == NUMPY:
        import numpy

        return numpy.load(source, allow_pickle=False)
    if materializer == JOBLIB:
        import joblib

        return joblib.load(source)
    raise ValueError(f"unknown materializer {materializer!r}")


def _joblib_bytes(value: Any) -> bytes:
    """joblib's pickle, with every set and frozenset, at any depth, in a canonical order."""
    buffer = io.BytesIO()
    _canonical_pickler()(buffer).dump(value)
    return buffer.getvalue()


@functools.cache
def _canonical_pickler() -> Any:
    from joblib.numpy_pickle import NumpyPickler, Pickler

    class CanonicalPickler(NumpyPickler):  # type: ignore[misc]
        def save(self, obj: Any) -> None:
            if type(obj).__name__ == "ndarray" and obj.dtype.hasobject:
                # joblib hands an object array's elements to pickle's own Pickler, which would
                # write a set in them in its hash order: pickle the array through this one.
                Pickler.save(self, obj)
                return
            super().save(obj)

        def reducer_override(self, obj: Any) -> Any:
            # A set's own order follows its elements' hashes, which vary with PYTHONHASHSEED.
            # Elements may not be orderable (mixed types, sets of sets): their bytes are.
            if type(obj) in (set, frozenset):
                return type(obj), (sorted(obj, key=_joblib_bytes),)
            return NotImplemented

    return CanonicalPickler


def _is_plain(value: Any) -> bool:
    """JSON round-trips it unchanged: no tuples, no non-string keys, no NaN, no numpy scalars."""
    if value is None or isinstance(value, bool | int | str):
        return True
    if isinstance(value, float):
        return value == value and value not in (float("inf"), float("-inf"))
    if type(value) is list:
        return all(_is_plain(item) for item in value)
    if type(value) is dict:
        return all(isinstance(key, str) and _is_plain(item) for key, item in value.items())
    return False
