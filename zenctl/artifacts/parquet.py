"""Parquet whose bytes hold no writer's version: the same table gives the same bytes, and so
the same content hash, under any pyarrow and pandas release (docs/artifacts.md#materializers).

pyarrow writes its version into the footer (`created_by`) and has no option to leave it out;
the footer is held back as the file is written and rewritten before it reaches the store.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, BinaryIO

_CREATED_BY = b"parquet-cpp-arrow"  # the writer, without its version


def write(table: Any, out: BinaryIO) -> None:
    """Parquet without the writer's versions in its bytes: pyarrow's (the footer's
    `created_by`, which it has no option for, and pandas' metadata's `creator`) and pandas'
    (`pandas_version`). The footer is held back and rewritten as it ends the file."""
    import pyarrow
    import pyarrow.parquet

    metadata = dict(table.schema.metadata or {})
    if b"pandas" in metadata:
        pandas_metadata = json.loads(metadata[b"pandas"])
        pandas_metadata.pop("creator", None)
        pandas_metadata.pop("pandas_version", None)
        metadata[b"pandas"] = json.dumps(pandas_metadata).encode()
        table = table.replace_schema_metadata(metadata)
    held = _HeldTail(out)
    pyarrow.parquet.write_table(table, held)
    held.close_with(_without_version(bytes(held.tail), pyarrow.__version__))


def _without_version(tail: bytes, version: str) -> bytes:
    """The file's end, its footer's `created_by` ("parquet-cpp-arrow version X") rewritten
    as "parquet-cpp-arrow": a thrift string (its length as a varint, its bytes), the last
    string of the footer, whose length the last 8 bytes give."""
    length = int.from_bytes(tail[-8:-4], "little")
    if length + 8 > len(tail):
        raise RuntimeError("parquet footer larger than held back")
    footer = tail[-8 - length : -8]
    old = _CREATED_BY + b" version " + version.encode()
    at = footer.rfind(_varint(len(old)) + old)
    if at < 0:
        raise RuntimeError(f"parquet footer without created_by {old.decode()!r}")
    new = _varint(len(_CREATED_BY)) + _CREATED_BY
    footer = footer[:at] + new + footer[at + len(_varint(len(old))) + len(old) :]
    return tail[: -8 - length] + footer + len(footer).to_bytes(4, "little") + b"PAR1"


def _varint(number: int) -> bytes:
    out = bytearray()
    while number >= 0x80:
        out.append(number & 0x7F | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


class _HeldTail(io.RawIOBase):
    """Passes writes on to `out`, holding back the last `hold` bytes (where the footer is)."""

    def __init__(self, out: BinaryIO, hold: int = 8 << 20) -> None:
        super().__init__()
        self.out, self.hold, self.tail = out, hold, bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.tail += data
        if len(self.tail) > 2 * self.hold:  # pass on in large pieces, not at every write
            self.out.write(bytes(self.tail[: -self.hold]))
            del self.tail[: -self.hold]
        return len(data)

    def close_with(self, tail: bytes) -> None:
        self.out.write(tail)


# ---- the materializers' readers and writers: pandas DataFrames and Series, polars DataFrames


def write_pandas(value: Any, out: BinaryIO) -> None:
    import pyarrow

    table = pyarrow.Table.from_pandas(value)  # a RangeIndex as metadata, not a column
    if value.attrs:  # as pandas' to_parquet keeps them
        attrs = {b"PANDAS_ATTRS": json.dumps(value.attrs).encode()}
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **attrs})
    write(table, out)


def load_pandas(source: Path | bytes) -> Any:
    import pandas

    return pandas.read_parquet(io.BytesIO(source) if isinstance(source, bytes) else source)


_UNNAMED = "__zenctl_series__"  # the column of a Series without a name


def write_series(value: Any, out: BinaryIO) -> None:
    write_pandas(value.to_frame(_UNNAMED if value.name is None else value.name), out)


def load_series(source: Path | bytes) -> Any:
    series = load_pandas(source).iloc[:, 0]
    return series.rename(None) if series.name == _UNNAMED else series


def write_polars(value: Any, out: BinaryIO) -> None:
    write(value.to_arrow(), out)


def load_polars(source: Path | bytes) -> Any:
    import polars

    return polars.read_parquet(io.BytesIO(source) if isinstance(source, bytes) else source)
