"""The Open Inference Protocol (KServe V2) over one model: request in, response out, no HTTP.

A deployment's server holds one model, named after the deployment; its version is the
model's hash, so an answer says which model gave it. The model takes one input tensor, a
batch of rows (`[N, F]`); it answers `predict` (one value per row) and, when the model has
`predict_proba`, `predict_proba` on request (`[N, classes]`). What the metadata says about
shapes and datatypes comes from scikit-learn's conventions (`n_features_in_`,
`feature_names_in_`, `classes_`); a model without them gets `-1` (any) dimensions.

Tensors arrive as JSON (`data` flat in row-major order, or nested), or in the binary tensor
data extension that `tritonclient` uses by default (the JSON header, then each input's raw
bytes). Every problem with a request is a `RequestError`: its message is one line that names
the input or output at fault.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy

from zenctl_local import __version__

# V2 datatype -> numpy dtype; numeric ones little-endian, as the binary extension sends them
DATATYPES: dict[str, str] = {
    "BOOL": "bool",
    "UINT8": "<u1",
    "UINT16": "<u2",
    "UINT32": "<u4",
    "UINT64": "<u8",
    "INT8": "<i1",
    "INT16": "<i2",
    "INT32": "<i4",
    "INT64": "<i8",
    "FP16": "<f2",
    "FP32": "<f4",
    "FP64": "<f8",
    "BYTES": "object",
}
FP64 = "FP64"
INPUT = "input-0"  # the name kserve's scikit-learn server gives its one input
PREDICT = "predict"
PROBABILITIES = "predict_proba"


class RequestError(Exception):
    """The request cannot be answered as sent: HTTP `status`, a one-line message."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(" ".join(message.split()))
        self.status = status


class ModelError(RequestError):
    """The model itself refused the input (its own exception): 422."""

    def __init__(self, exc: Exception) -> None:
        super().__init__(f"the model rejected the input: {type(exc).__name__}: {exc}", 422)


def server_metadata() -> dict[str, Any]:
    return {"name": "zenctl-local", "version": __version__, "extensions": []}


def model_metadata(name: str, version: str, model: Any) -> dict[str, Any]:
    features = int(getattr(model, "n_features_in_", -1))
    classes = getattr(model, "classes_", None)
    outputs = [
        {
            "name": PREDICT,
            "datatype": FP64 if classes is None else datatype(numpy.asarray(classes)),
            "shape": [-1],
        }
    ]
    if hasattr(model, "predict_proba"):
        width = -1 if classes is None else len(classes)
        outputs.append({"name": PROBABILITIES, "datatype": FP64, "shape": [-1, width]})
    return {
        "name": name,
        "versions": [version],
        "platform": type(model).__module__.split(".")[0],
        "inputs": [{"name": INPUT, "datatype": FP64, "shape": [-1, features]}],
        "outputs": outputs,
    }


def infer(name: str, version: str, model: Any, request: Any, binary: bytes) -> dict[str, Any]:
    """Answer one inference request; `binary` is what followed the JSON header, if anything."""
    if not isinstance(request, dict):
        raise RequestError("the request must be a JSON object with an `inputs` list")
    inputs = request.get("inputs")
    if not isinstance(inputs, list) or len(inputs) != 1:
        raise RequestError(
            f"send exactly one input (`{INPUT}`, shape [rows, features]) in `inputs`"
        )
    rows = tensor(inputs[0], binary)
    wanted = requested_outputs(request.get("outputs"), model)
    batch = frame(model, rows, inputs[0]["name"])
    outputs = []
    for output in wanted:
        try:
            values = numpy.asarray(getattr(model, output)(batch))
        except Exception as exc:  # the model's own complaint: the caller's input to fix
            raise ModelError(exc) from None
        outputs.append(
            {
                "name": output,
                "shape": list(values.shape),
                "datatype": datatype(values),
                "data": json_values(values),
            }
        )
    response: dict[str, Any] = {"model_name": name, "model_version": version}
    if "id" in request:
        response["id"] = request["id"]
    response["outputs"] = outputs
    return response


def tensor(spec: Any, binary: bytes) -> numpy.ndarray[Any, Any]:
    """One input tensor as a numpy array of its declared shape and datatype."""
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise RequestError("each input must be an object with a `name`")
    name = spec["name"]
    kind = spec.get("datatype")
    if kind not in DATATYPES:
        raise RequestError(
            f"input {name!r}: datatype {kind!r} is not one of {', '.join(DATATYPES)}"
        )
    shape = spec.get("shape")
    if not isinstance(shape, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape
    ):
        raise RequestError(f"input {name!r}: shape must be a list of non-negative integers")
    parameters = spec.get("parameters") or {}
    size = parameters.get("binary_data_size") if isinstance(parameters, dict) else None
    if size is not None and (type(size) is not int or size < 0):
        raise RequestError(f"input {name!r}: binary_data_size must be a non-negative integer")
    try:
        if size is not None:
            array = from_bytes(binary[:size], kind, size)
        elif "data" in spec:
            array = numpy.asarray(spec["data"], dtype=DATATYPES[kind])
        else:
            raise RequestError(f"input {name!r}: no `data`")
    except (ValueError, TypeError, OverflowError, struct.error) as exc:
        raise RequestError(f"input {name!r}: data is not {kind}: {exc}") from None
    if array.size != math.prod(shape):
        raise RequestError(
            f"input {name!r}: shape {shape} holds {math.prod(shape)} values, data has {array.size}"
        )
    if len(shape) != 2:
        raise RequestError(f"input {name!r}: shape must be [rows, features], got {shape}")
    return array.reshape(shape)


def from_bytes(data: bytes, kind: str, size: Any) -> numpy.ndarray[Any, Any]:
    """A tensor in the binary extension: raw little-endian values, or length-prefixed bytes."""
    if not isinstance(size, int) or size < 0 or len(data) != size:
        raise ValueError(f"binary_data_size {size!r} does not match the bytes sent")
    if kind != "BYTES":
        return numpy.frombuffer(data, dtype=DATATYPES[kind])
    items, offset = [], 0
    while offset < len(data):
        (length,) = struct.unpack_from("<I", data, offset)
        items.append(data[offset + 4 : offset + 4 + length].decode())
        offset += 4 + length
    return numpy.asarray(items, dtype=object)


def requested_outputs(outputs: Any, model: Any) -> list[str]:
    if outputs is None:
        return [PREDICT]
    if not isinstance(outputs, list) or not all(
        isinstance(o, dict) and isinstance(o.get("name"), str) for o in outputs
    ):
        raise RequestError("`outputs` must be a list of objects with a `name`")
    known = [PREDICT] + ([PROBABILITIES] if hasattr(model, PROBABILITIES) else [])
    for output in outputs:
        if output["name"] not in known:
            raise RequestError(f"output {output['name']!r}: this model has only {', '.join(known)}")
    return [output["name"] for output in outputs]


def frame(model: Any, rows: numpy.ndarray[Any, Any], name: str) -> Any:
    """The batch as the model was trained on it: a DataFrame when it knows column names."""
    features = getattr(model, "n_features_in_", None)
    if features is not None and rows.shape[1] != features:
        raise RequestError(
            f"input {name!r}: the model takes {features} features a row, got {rows.shape[1]}"
        )
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        return rows
    import pandas

    return pandas.DataFrame(rows, columns=list(names))


def datatype(values: numpy.ndarray[Any, Any]) -> str:
    """The V2 datatype of an array; anything not a number or a boolean is sent as text."""
    if values.dtype.kind in "biuf":
        for name, dtype in DATATYPES.items():
            if numpy.dtype(dtype) == values.dtype.newbyteorder("<"):
                return name
    return "BYTES"


def json_values(values: numpy.ndarray[Any, Any]) -> list[Any]:
    """Row-major values as JSON-ready Python scalars; BYTES as strings."""
    result: list[Any] = values.reshape(-1).tolist()
    return result if datatype(values) != "BYTES" else [str(value) for value in result]
