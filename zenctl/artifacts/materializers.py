"""Turn step outputs into bytes and back: a registry of materializers, chosen by the value's
type, or named for an output.

A content hash is taken over these bytes, so each materializer writes deterministically:
the same value always gives the same bytes, in any process and under any patch release of
the libraries, and downstream steps stay cached when an upstream re-run reproduces its output.

Values are written to a stream (`write`), never built whole in memory first: the artifact
store hashes the bytes as they go to disk (docs/artifacts.md). They are read back from a
file (`load`): a numpy array is memory-mapped read-only, so a step reads only the pages it
touches and a large input costs no copy.

A user's materializer (a `Materializer`) is registered under the `zenctl.materializers`
entry-point group, imported only when a value no built-in one stores reaches it, or when an
artifact it wrote is read (docs/artifacts.md#materializers).
"""

from __future__ import annotations

import functools
import importlib
import io
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, Protocol, cast, runtime_checkable

from zenctl.artifacts import parquet, tensors
from zenctl.diagnostics import UserError

JSON, TEXT, BYTES, NUMPY, PANDAS, JOBLIB = "json", "text", "bytes", "numpy", "pandas", "joblib"
SERIES, POLARS = "pandas-series", "polars"
TENSOR, MODULE, TENSORS = tensors.TENSOR, tensors.MODULE, tensors.TENSORS
NAME_MAX = 32  # the artifacts table's `materializer` column (state/migrations/0001)
DOCS = "docs/artifacts.md#materializers"


@runtime_checkable
class Materializer(Protocol):
    """Stores values of some types as bytes, and reads them back.

    What chose it (its entry-point name, or the "module:Class" an output names) is recorded
    with every artifact it writes, at most 32 characters, and chooses it again to read the
    artifact. `write` must be deterministic: the same value, the same bytes. `types` says
    what it stores, for `zenctl providers`.
    """

    types: tuple[str, ...]

    def can_store(self, value: Any) -> bool: ...

    def write(self, value: Any, out: BinaryIO) -> None: ...

    def load(self, path: Path) -> Any: ...


class Unstorable(Exception):
    """No materializer stores a step's output: a storage error, not a bug in the step."""


def kind(value: Any) -> str:
    """The name of the materializer that stores `value`: a built-in one for its type, else an
    installed one that says it can, else joblib's pickle."""
    module = type(value).__module__
    if module.startswith("pandas") and type(value).__name__ == "DataFrame":
        return PANDAS
    if module.startswith("pandas") and type(value).__name__ == "Series":
        return SERIES
    if module.startswith("polars") and type(value).__name__ == "DataFrame":
        return POLARS
    if (
        module == "numpy"
        and type(value).__name__ in ("ndarray", "memmap")  # a slice of a mapped input too
        and value.dtype.kind in _PLAIN_KINDS
        and not value.dtype.hasobject  # a record with an object field: pickled
    ):
        return NUMPY
    if type(value) is bytes:
        return BYTES
    if type(value) is str:  # a subclass (a StrEnum) is pickled, so it comes back itself
        return TEXT
    if _is_plain(value):
        return JSON
    torch_kind = tensors.kind(value)
    if torch_kind:
        return torch_kind
    for name, _, _ in installed():  # imported only now: a plain value never pays for them
        if materializer(name).can_store(value):
            return name
    return JOBLIB


def check(value: Any, name: str | None = None, rehearse: bool = False) -> str:
    """`kind(value)` (or the materializer `name`), refusing a value it cannot store. Only
    pickling tells whether a joblib value can be stored: `rehearse` pickles it to nowhere
    first (a second pass over it), for an output whose failure must come before the next
    output is written."""
    chosen = name or kind(value)
    if name and not materializer(name).can_store(value):
        raise Unstorable(f"materializer {name!r} does not store {_type_name(value)}")
    if chosen == JOBLIB and rehearse:
        _write_joblib(value, cast(BinaryIO, _Discard()))
    return chosen


def write(name: str, value: Any, out: BinaryIO) -> None:
    """Write `value`'s bytes, as materializer `name` encodes them, to `out`: in chunks where
    the format allows (numpy's and joblib's arrays), so that a value is never copied whole.
    The bytes are those `dump` gives: a stored value keeps its hash."""
    materializer(name).write(value, out)


def dump(value: Any) -> tuple[str, bytes]:
    """`(materializer name, bytes)` for a step output, in memory (small values)."""
    name = kind(value)
    buffer = io.BytesIO()
    write(name, value, buffer)
    return name, buffer.getvalue()


def load(name: str, source: bytes | Path) -> Any:
    """The value stored as `source` (its bytes, or the file holding them). A numpy array read
    from a file is memory-mapped read-only: `np.array(value)` gives a step a copy it may
    write to (docs/artifacts.md)."""
    reader = materializer(name)
    if isinstance(source, Path):
        return reader.load(source)
    if isinstance(reader, _Builtin) and reader.read_bytes is not None:
        return reader.read_bytes(source)
    with tempfile.TemporaryDirectory(prefix="zenctl-load-") as folder:  # readers take a path
        path = Path(folder) / "value"
        path.write_bytes(source)
        return reader.load(path)


def materializer(name: str) -> Materializer:
    """The materializer recorded as `name`: a built-in one, an installed one, or a
    "module:Class" import path (an output's `materializers` setting)."""
    if name in BUILTIN:
        return BUILTIN[name]
    return _user(name)


def installed() -> list[tuple[str, str, str]]:
    """(name, "module:Class", "distribution version") of each registered materializer."""
    from zenctl.providers.discovery import MATERIALIZERS, entry_points_of

    return entry_points_of(MATERIALIZERS)


def listing() -> list[dict[str, Any]]:
    """Every materializer, for `zenctl providers`: name, the types it stores, the distribution
    that registers it (zenctl for the built-in ones), and why it cannot be loaded, if so."""
    from zenctl import __version__

    found = [
        {"name": name, "types": list(item.types), "distribution": f"zenctl {__version__}"}
        for name, item in BUILTIN.items()
    ]
    for name, _, distribution in installed():
        entry: dict[str, Any] = {"name": name, "types": [], "distribution": distribution}
        try:
            entry["types"] = list(materializer(name).types)
        except UserError as exc:
            entry["error"] = str(exc)
        found.append(entry)
    return found


@functools.cache
def _user(name: str) -> Materializer:
    found = {entry: (value, dist) for entry, value, dist in installed()}
    if name in found:
        path, dist = found[name]
        where = f"registered by {dist.split()[0]}" if dist else "registered"
    elif ":" in name:
        path, where = name, "named"
    else:
        known = [*BUILTIN, *sorted(found)]
        raise UserError(
            f"Unknown materializer {name!r}: it is not built in, and no installed package "
            "registers it under the 'zenctl.materializers' entry points.",
            f"Install the package that provides it; known: {', '.join(known)}.",
        )
    module, _, attribute = path.partition(":")
    try:
        made = getattr(importlib.import_module(module), attribute)()
    except Exception as exc:
        raise UserError(
            f"Materializer {name!r} ({where} as {path}) cannot be loaded: {exc}",
            f"Install the package providing {module!r} ({DOCS}).",
        ) from exc
    if not isinstance(made, Materializer) or len(name) > NAME_MAX:
        raise UserError(
            f"Materializer {name!r} ({path}) does not implement zenctl.sdk.Materializer "
            f"(types, can_store, write, load), or its name is over {NAME_MAX} characters.",
            DOCS,
        )
    return made


class _Builtin:
    """A built-in materializer: its functions, and a reader of bytes where one exists."""

    def __init__(
        self,
        name: str,
        types: str,
        write: Callable[[Any, BinaryIO], None],
        load: Callable[[Path], Any],
        read_bytes: Callable[[bytes], Any] | None = None,
    ) -> None:
        self.name, self.types = name, tuple(types.split(", "))
        self.write, self.load, self.read_bytes = write, load, read_bytes

    def can_store(self, value: Any) -> bool:
        return self.name == JOBLIB or kind(value) == self.name  # joblib: whatever pickles


def _type_name(value: Any) -> str:
    return f"{type(value).__module__}.{type(value).__qualname__}".removeprefix("builtins.")


# ---- plain values


def _write_json(value: Any, out: BinaryIO) -> None:
    # keys in the dict's own order: a step reading it gets the order it was built in
    out.write(json.dumps(value, separators=(",", ":")).encode())


def _write_text(value: str, out: BinaryIO) -> None:
    out.write(value.encode())


def _write_bytes(value: bytes, out: BinaryIO) -> None:
    out.write(value)


def _load_numpy(path: Path) -> Any:
    import numpy

    return numpy.load(path, mmap_mode="r", allow_pickle=False)


_NUMPY_CHUNK = 16 << 20  # as numpy's own
_PLAIN_KINDS = "biufcmMSUV"  # dtypes np.save writes as raw bytes (not StringDType, objects)


def _write_numpy(value: Any, out: BinaryIO) -> None:
    """np.save's bytes; for a C-ordered array of a plain dtype, its header, then the array's
    memory itself: np.save copies each chunk (`tobytes`) into a stream not a real file."""
    import numpy
    from numpy.lib import format as npy

    plain = value.dtype.kind in _PLAIN_KINDS and value.dtype.names is None
    if not (plain and value.flags.c_contiguous):
        numpy.save(out, value, allow_pickle=False)  # not a real file: written in chunks
        return
    npy.write_array_header_1_0(out, npy.header_data_from_array_1_0(value))
    data = value.reshape(-1).view(numpy.uint8)
    for start in range(0, len(data), _NUMPY_CHUNK):
        out.write(memoryview(data[start : start + _NUMPY_CHUNK]))


def _read_numpy(data: bytes) -> Any:
    import numpy

    return numpy.load(io.BytesIO(data), allow_pickle=False)


# ---- joblib: anything else that pickles


def _write_joblib(value: Any, out: BinaryIO) -> None:
    try:
        _canonical_pickler()(out).dump(value)
    except OSError:  # the store's disk, not the value
        raise
    except Exception as exc:  # a generator, a lock, a __reduce__ that fails
        raise Unstorable(f"no materializer stores {_type_name(value)} ({exc})") from exc


def _load_joblib(source: Path | bytes) -> Any:
    import joblib

    return joblib.load(io.BytesIO(source) if isinstance(source, bytes) else source)


def _joblib_bytes(value: Any) -> bytes:
    """joblib's pickle, with every set and frozenset, at any depth, in a canonical order."""
    buffer = io.BytesIO()
    _canonical_pickler()(buffer).dump(value)
    return buffer.getvalue()


class _Discard(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return len(data)


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
    """JSON round-trips it unchanged: no tuples, no non-string keys, no NaN, no numpy scalars,
    no subclasses (an IntEnum would come back a bare int)."""
    if value is None or type(value) in (bool, int, str):
        return True
    if type(value) is float:
        return value == value and value not in (float("inf"), float("-inf"))
    if type(value) is list:
        return all(_is_plain(item) for item in value)
    if type(value) is dict:
        return all(type(key) is str and _is_plain(item) for key, item in value.items())
    return False


def _load_json(path: Path) -> Any:
    return json.loads(path.read_bytes())


# in the order `kind` tries them; their names are zenctl.providers.discovery's too
BUILTIN: dict[str, _Builtin] = {
    item.name: item
    for item in (
        _Builtin(
            JSON, "dict, list, str, int, float, bool, None", _write_json, _load_json, json.loads
        ),
        _Builtin(TEXT, "str", _write_text, Path.read_text, bytes.decode),
        _Builtin(BYTES, "bytes", _write_bytes, Path.read_bytes, bytes),
        _Builtin(NUMPY, "numpy.ndarray", _write_numpy, _load_numpy, _read_numpy),
        _Builtin(
            PANDAS,
            "pandas.DataFrame",
            parquet.write_pandas,
            parquet.load_pandas,
            parquet.load_pandas,
        ),
        _Builtin(
            SERIES, "pandas.Series", parquet.write_series, parquet.load_series, parquet.load_series
        ),
        _Builtin(
            POLARS,
            "polars.DataFrame",
            parquet.write_polars,
            parquet.load_polars,
            parquet.load_polars,
        ),
        _Builtin(
            TENSOR, "torch.Tensor", tensors.write_tensor, tensors.load_tensor, tensors.load_tensor
        ),
        _Builtin(MODULE, "torch.nn.Module", tensors.write_module, tensors.load, tensors.load),
        _Builtin(
            TENSORS, "dict of torch.Tensor", tensors.write_tensors, tensors.load, tensors.load
        ),
        _Builtin(JOBLIB, "anything that pickles", _write_joblib, _load_joblib, _load_joblib),
    )
}
