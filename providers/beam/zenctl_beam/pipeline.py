"""Build and run one Beam step's pipeline: inputs in, the step's PTransform, outputs back.

Inputs: an artifact becomes a PCollection through `beam.Create` (a list's items, a DataFrame's
rows as dicts, any other value as one element); a source is read by the runner as text lines
(`ReadFromText`), so big files never pass through this process. Outputs: each PCollection is
written to files under the pipeline's temp location, read back, and sorted by the bytes of
each element. A PCollection has no order, and sorting makes the same elements give the same
artifact bytes, hence the same content hash, so downstream steps stay cached.
"""

from __future__ import annotations

import base64
import os
import pickle
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from zenctl.sdk import ArtifactStore, StepTask, dump_value, load_inputs, step_function


def run_pipeline(
    runner: str,
    options: dict[str, Any],
    task: StepTask,
    store: ArtifactStore,
    details: dict[str, str],
) -> Any:
    """A `StepBody`: the step's value is its output PCollection(s) as lists of elements."""
    import apache_beam as beam
    from apache_beam.io.filesystems import FileSystems
    from apache_beam.options.pipeline_options import PipelineOptions

    transform = step_function(task)(**task.params)
    if not isinstance(transform, beam.PTransform):
        raise TypeError(
            f"{task.run} runs on a Beam processing component and must return a Beam "
            f"PTransform; it returned {type(transform).__name__}"
        )
    inputs = load_inputs(task, store)
    temp = options.get("temp_location")
    scratch = (
        FileSystems.join(str(temp), "zenctl", uuid.uuid4().hex)
        if temp
        else tempfile.mkdtemp(prefix="zenctl-beam-")
    )
    pipeline = beam.Pipeline(options=PipelineOptions.from_dictionary({**options, "runner": runner}))
    collections = {name: _read(pipeline, name, value) for name, value in inputs.items()}
    if not collections:
        applied = pipeline | transform
    elif len(collections) == 1:
        applied = next(iter(collections.values())) | transform
    else:
        applied = collections | transform
    produced = _produced(applied, task.run)
    for name, collection in produced.items():
        (
            collection
            | f"zenctl encode {name}" >> beam.Map(_encode)
            | f"zenctl write {name}" >> beam.io.WriteToText(FileSystems.join(scratch, name))
        )
    details["beam runner"] = runner  # not in the fingerprint: any runner gives the same result
    result = pipeline.run()
    if callable(getattr(result, "job_id", None)):  # a remote runner's job: findable from show
        details["beam job"] = str(result.job_id())
    result.wait_until_finish()
    try:
        values = {name: _collect(FileSystems.join(scratch, name)) for name in produced}
    finally:
        FileSystems.delete([scratch])
    return values["output"] if set(values) == {"output"} else values


def _read(pipeline: Any, name: str, value: Any) -> Any:
    import apache_beam as beam

    if isinstance(value, Path):
        pattern = os.path.join(value, "*") if value.is_dir() else str(value)
        return pipeline | f"zenctl read {name}" >> beam.io.ReadFromText(pattern)
    return pipeline | f"zenctl input {name}" >> beam.Create(_elements(value))


def _elements(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    if type(value).__name__ == "DataFrame":
        return list(value.to_dict("records"))
    if type(value).__name__ == "ndarray":
        return list(value)
    return [value]


def _produced(applied: Any, run: str) -> dict[str, Any]:
    """The transform's output PCollections by output name."""
    import apache_beam as beam

    if isinstance(applied, beam.pvalue.PCollection):
        return {"output": applied}
    if isinstance(applied, Mapping) and all(
        isinstance(item, beam.pvalue.PCollection) for item in applied.values()
    ):
        return {str(name): item for name, item in applied.items()}
    raise TypeError(
        f"the PTransform of {run} must produce a PCollection, or a dict of PCollections by "
        f"output name; it produced {type(applied).__name__}"
    )


def _encode(element: Any) -> str:
    return base64.b64encode(pickle.dumps(element)).decode("ascii")


def _collect(prefix: str) -> list[Any]:
    from apache_beam.io.filesystems import FileSystems

    elements = []
    for match in FileSystems.match([f"{prefix}-*"])[0].metadata_list:
        with FileSystems.open(match.path) as shard:
            elements += [pickle.loads(base64.b64decode(line)) for line in shard if line.strip()]
    return sorted(elements, key=lambda element: dump_value(element)[1])
