"""Turn step outputs into bytes and back, chosen by the value's type.

A content hash is taken over these bytes, so each materializer writes deterministically:
the same value always gives the same bytes, and downstream steps stay cached when an
upstream re-run reproduces its output.
"""

from __future__ import annotations

import functools
import io
import json
from typing import Any

JSON, TEXT, BYTES, NUMPY, PANDAS, JOBLIB = "json", "text", "bytes", "numpy", "pandas", "joblib"


def dump(value: Any) -> tuple[str, bytes]:
    """`(materializer name, bytes)` for a step output."""
    module = type(value).__module__
    if module.startswith("pandas") and type(value).__name__ == "DataFrame":
        buffer = io.BytesIO()
        value.to_parquet(buffer, index=True)
        return PANDAS, buffer.getvalue()
    if module == "numpy" and type(value).__name__ == "ndarray" and value.dtype != object:
        import numpy

        buffer = io.BytesIO()
        numpy.save(buffer, value, allow_pickle=False)
        return NUMPY, buffer.getvalue()
    if isinstance(value, bytes):
        return BYTES, value
    if isinstance(value, str):
        return TEXT, value.encode()
    if _is_plain(value):
        return JSON, json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    return JOBLIB, _joblib_bytes(value)


def load(materializer: str, data: bytes) -> Any:
    if materializer == JSON:
        return json.loads(data)
    if materializer == TEXT:
        return data.decode()
    if materializer == BYTES:
        return data
    if materializer == PANDAS:
        import pandas

        return pandas.read_parquet(io.BytesIO(data))
    if materializer == NUMPY:
        import numpy

        return numpy.load(io.BytesIO(data), allow_pickle=False)
    if materializer == JOBLIB:
        import joblib

        return joblib.load(io.BytesIO(data))
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
