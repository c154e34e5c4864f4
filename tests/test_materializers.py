"""Materializers (docs/artifacts.md#materializers): the same value gives the same bytes in any
process, a value none stores fails its step as a storage error, a user's materializer is found
by name or import path."""

from __future__ import annotations

import enum
import importlib.util
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import numpy
import pytest
from conftest import Project

from zenctl.artifacts import materializers
from zenctl.diagnostics import UserError

ROOT = Path(__file__).parent.parent

# Builds each value, twice with a different one where `changed` is set; prints {name: sha256}.
VALUES = """
import hashlib, json, sys
import pandas as pd
from zenctl.artifacts import materializers

changed = sys.argv[1] == "changed"
made = {
    "pandas": lambda: pd.DataFrame({"a": [1, 2], "b": ["x", "y" if not changed else "z"]}),
    "pandas-series": lambda: pd.Series([1.5, 2.5 if not changed else 3.5], name="s"),
}
if "torch" in sys.argv[2:]:
    import torch

    def module():
        torch.manual_seed(1 if not changed else 2)
        return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))

    made["torch-tensor"] = lambda: torch.arange(6.0 if not changed else 7.0).reshape(-1, 1)
    made["torch-module"] = module
    made["torch-tensors"] = lambda: module().state_dict()  # a dict of tensors by name
if "polars" in sys.argv[2:]:
    import polars as pl

    made["polars"] = lambda: pl.DataFrame({"a": [1, 2], "b": ["x", "y" if not changed else "z"]})
out = {}
for name, make in made.items():
    kind, data = materializers.dump(make())
    assert kind == name, (kind, name)
    out[name] = hashlib.sha256(data).hexdigest()
print(json.dumps(out))
"""


def _optional() -> list[str]:
    return [name for name in ("torch", "polars") if importlib.util.find_spec(name)]


def _hashes(seed: str, which: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", VALUES, which, *_optional()],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, str] = json.loads(done.stdout)
    return result


def test_each_type_gives_the_same_bytes_in_two_processes_and_others_for_another_value() -> None:
    first, second = _hashes("1", "same"), _hashes("2", "same")
    changed = _hashes("3", "changed")
    expected = {"pandas", "pandas-series"} | {
        {"torch": "torch-tensor", "polars": "polars"}[name] for name in _optional()
    }
    if "torch" in _optional():
        expected |= {"torch-module", "torch-tensors"}
    assert set(first) == expected
    assert first == second
    assert all(changed[name] != first[name] for name in first)


@pytest.mark.parametrize("make", ["pandas", "series", "polars"])
def test_parquet_bytes_hold_no_writer_version(make: str) -> None:
    import pandas as pd
    import pyarrow
    import pyarrow.parquet as pq

    value: Any
    if make == "polars":
        polars = pytest.importorskip("polars", reason="polars not installed (pip install polars)")
        value = polars.DataFrame({"a": [1, 2]})
    else:
        frame = pd.DataFrame({"a": [1, 2]}, index=["x", "y"])
        value = frame if make == "pandas" else frame["a"]
    name, data = materializers.dump(value)
    assert pq.ParquetFile(io.BytesIO(data)).metadata.created_by == "parquet-cpp-arrow"
    writers = [pyarrow.__version__, pd.__version__]
    if make == "polars":
        writers.append(polars.__version__)
    assert [version for version in writers if version.encode() in data] == []
    back = materializers.load(name, data)
    if make == "polars":
        assert back.equals(value)
    else:
        assert back.equals(value) and back.index.tolist() == ["x", "y"]


@pytest.mark.parametrize(
    "index",
    [None, "range", "strings", "dates"],
)
def test_a_dataframes_index_comes_back_as_it_was_and_a_range_costs_no_column(
    index: str | None,
) -> None:
    import pandas as pd

    made = {
        None: pd.RangeIndex(3),
        "range": pd.RangeIndex(10, 16, 2, name="row"),
        "strings": pd.Index(["x", "y", "z"], name="key"),
        "dates": pd.date_range("2026-01-01", periods=3),
    }[index]
    value = pd.DataFrame({"a": [1.0, 2.0, 3.0]}, index=made)
    back = materializers.load(*materializers.dump(value))
    assert back.equals(value) and type(back.index) is type(value.index)
    assert back.index.name == value.index.name
    stored = materializers.dump(value)[1]
    import pyarrow.parquet

    columns = pyarrow.parquet.read_schema(io.BytesIO(stored)).names
    # a RangeIndex is three numbers of metadata, not a column of every row's number
    assert columns == (
        ["a"] if isinstance(made, pd.RangeIndex) else ["a", made.name or "__index_level_0__"]
    )


def test_an_unnamed_series_comes_back_unnamed() -> None:
    import pandas as pd

    back = materializers.load(*materializers.dump(pd.Series([1, 2])))
    assert back.name is None and back.tolist() == [1, 2]


def test_a_torch_module_is_stored_as_its_state_dict() -> None:
    torch = pytest.importorskip("torch", reason="torch not installed (pip install zenctl[torch])")
    model = torch.nn.Linear(2, 3)
    name, data = materializers.dump(model)
    assert name == "torch-module"
    state = materializers.load(name, data)
    fresh = torch.nn.Linear(2, 3)
    fresh.load_state_dict(state)
    assert torch.equal(fresh.weight, model.weight)
    shared = torch.nn.Linear(2, 2)
    tied = materializers.load(*materializers.dump(torch.nn.Sequential(shared, shared)))
    assert torch.equal(tied["0.weight"], tied["1.weight"])
    tensor = torch.arange(4.0)[::2]  # not contiguous
    assert torch.equal(materializers.load(*materializers.dump(tensor)), tensor)


def test_torch_is_not_imported_for_other_values() -> None:
    code = (
        "import sys; from zenctl.artifacts import materializers as m; "
        "m.dump({1, 2}); m.dump([1]); print('torch' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr


class Upper:
    """A user's materializer: a str, stored upper-cased."""

    types = ("str",)

    def can_store(self, value: object) -> bool:
        return isinstance(value, str)

    def write(self, value: str, out: Any) -> None:
        out.write(value.upper().encode())

    def load(self, path: Path) -> str:
        return path.read_text()


def test_a_materializer_named_by_import_path_writes_and_reads() -> None:
    name = f"{__name__}:Upper"
    chosen = materializers.check("abc", name)
    buffer = io.BytesIO()
    materializers.write(chosen, "abc", buffer)
    assert materializers.load(name, buffer.getvalue()) == "ABC"
    with pytest.raises(materializers.Unstorable, match="does not store int"):
        materializers.check(1, name)


def test_a_recorded_materializer_no_longer_installed_is_a_clear_error() -> None:
    with pytest.raises(UserError, match="Unknown materializer 'gone'") as raised:
        materializers.load("gone", b"")
    assert "Install the package that provides it" in raised.value.diagnostic.detail
    with pytest.raises(UserError, match=r"'nowhere_pkg\.io:X'.*cannot be loaded"):
        materializers.load("nowhere_pkg.io:X", b"")


STEPS = """
import threading


def train():
    return {"lock": threading.Lock(), "metrics": {"loss": 0.5}}


def stream():
    return (n for n in range(3))
"""

MAIN = """
pipeline "p" {
  step "train" {
    run     = "steps.train:train"
    outputs = ["metrics", "lock"]
  }
  step "stream" {
    run = "steps.train:stream"
  }
}
"""


def test_an_unstorable_output_fails_the_step_as_a_storage_error(project: Project) -> None:
    project.write("steps/__init__.py", "")
    project.write("steps/train.py", STEPS)
    project.write("main.zc.hcl", MAIN)
    applied = project.apply()
    assert applied.code != 0
    assert 'Cannot store output "lock" of pipeline.p.step.train' in applied.both
    assert "register a materializer for _thread.lock" in applied.both
    assert "docs/artifacts.md#materializers" in applied.both
    assert 'Cannot store output "output" of pipeline.p.step.stream' in applied.both
    assert "no materializer stores generator" in applied.both
    assert "Traceback" not in applied.both
    for details, error in project.sql("SELECT details, error FROM step_executions"):
        assert json.loads(details) == {"error_kind": "storage"}
        assert error.startswith("Cannot store output")
    # checked before any output was written: the storable "metrics" left no object behind
    objects = project.root / ".zenctl/artifacts/objects"
    stored = [p.read_bytes() for p in objects.rglob("*") if p.is_file()]
    assert b'{"loss":0.5}' not in stored


UPPER = """
class Upper:
    types = ("str",)

    def can_store(self, value):
        return isinstance(value, str)

    def write(self, value, out):
        out.write(value.upper().encode())

    def load(self, path):
        return path.read_text()


def shout(word):
    return word


def hear(heard):
    return heard + "!"
"""

FORCED = """
pipeline "p" {
  step "shout" {
    run           = "steps.say:shout"
    params        = { word = "hey" }
    materializers = { output = "MATERIALIZER" }
  }
  step "hear" {
    run    = "steps.say:hear"
    inputs = { heard = step.shout.outputs.output }
  }
}
"""


def _forced(project: Project, materializer: str) -> None:
    project.write("steps/__init__.py", "")
    project.write("steps/say.py", UPPER)
    project.write("main.zc.hcl", FORCED.replace("MATERIALIZER", materializer))


def test_an_output_stored_by_the_materializer_it_names(project: Project) -> None:
    _forced(project, "steps.say:Upper")
    applied = project.apply()
    assert applied.code == 0, applied.both
    rows = dict(project.sql("SELECT materializer, hash FROM artifacts"))
    assert "steps.say:Upper" in rows
    store = project.root / ".zenctl/artifacts/objects"
    assert b"HEY" in [p.read_bytes() for p in store.rglob("*") if p.is_file()]
    # the next step read it back through the same materializer
    ((recorded,),) = project.sql(
        "SELECT e.outputs FROM current_steps c JOIN step_executions e ON e.id = c.execution_id "
        "WHERE c.address = 'pipeline.p.step.hear'"
    )
    assert json.loads(recorded)["output"]["materializer"] == "text"
    # naming another materializer changes the step's key: it runs again
    _forced(project, "text")
    assert "pipeline.p.step.shout" in project.run("plan").out
    document = json.loads(project.run("plan", "--json").out)
    jsonschema.validate(document, json.loads((ROOT / "specs/plan.schema.json").read_text()))
    (shout,) = [step for step in document["steps"] if step["address"].endswith(".shout")]
    assert shout["after"]["materializers"] == {"output": "text"}


def test_editing_the_projects_own_materializer_runs_its_steps_again(project: Project) -> None:
    """How an output is written is part of how it was made: cached bytes written by the old
    code must not be read back by the new `load` as if nothing happened."""
    _forced(project, "steps.say:Upper")
    project.write("steps/other.py", "def unrelated():\n    return 1\n")
    assert project.apply().code == 0
    assert "No changes" in project.run("plan").out
    project.write("steps/say.py", UPPER.replace("value.upper().encode()", "value.title().encode()"))
    planned = project.run("plan")
    assert planned.code == 0, planned.both
    assert "~ code: steps/say.py (materializer of output)" in planned.out, planned.out
    applied = project.apply()
    assert applied.code == 0, applied.both
    store = project.root / ".zenctl/artifacts/objects"
    assert b"Hey" in [p.read_bytes() for p in store.rglob("*") if p.is_file()]
    assert "No changes" in project.run("plan").out
    # the same module's other code, which the materializer does not reach, runs nothing
    edited = (project.root / "steps/say.py").read_text()
    project.write("steps/say.py", edited + "\nUNUSED = 1\n")
    assert "No changes" in project.run("plan").out
    # an installed (built-in) materializer is keyed by its name alone
    _forced(project, "text")
    document = json.loads(project.run("plan", "--json").out)
    jsonschema.validate(document, json.loads((ROOT / "specs/plan.schema.json").read_text()))
    (shout,) = [step for step in document["steps"] if step["address"].endswith(".shout")]
    assert "materializer_code" not in shout["after"]
    dropped = "- code: steps/__init__.py, steps/say.py (materializer of output)"
    assert dropped in project.run("plan").out


def test_an_unknown_materializer_is_a_config_error_at_its_line(project: Project) -> None:
    _forced(project, "panda")
    plan = project.run("plan")
    assert plan.code != 0
    assert "Unknown materializer" in plan.both and 'Did you mean "pandas"?' in plan.both
    assert "line 5" in plan.both, plan.both


def test_a_materializer_registered_as_an_entry_point_is_listed_and_used(
    project: Project, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zenctl.providers import discovery

    site = tmp_path_factory.mktemp("site")  # outside the project: an installed package
    (site / "upper_io").mkdir(parents=True)
    (site / "upper_io" / "__init__.py").write_text(UPPER)
    info = site / "upper_io-1.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: upper-io\nVersion: 1.2\n")
    (info / "entry_points.txt").write_text("[zenctl.materializers]\nupper = upper_io:Upper\n")
    monkeypatch.syspath_prepend(str(site))
    discovery._discovered.cache_clear()
    materializers._user.cache_clear()
    try:
        listed = project.run("providers")
        assert "upper" in listed.out and "[upper-io 1.2]" in listed.out, listed.both
        document = json.loads(project.run("providers", "--json").out)
        assert {"name": "upper", "types": ["str"], "distribution": "upper-io 1.2"} in document[
            "materializers"
        ]
        _forced(project, "upper")
        assert project.apply().code == 0
        assert ("upper",) in project.sql("SELECT materializer FROM artifacts")
    finally:
        discovery._discovered.cache_clear()
        materializers._user.cache_clear()
        sys.modules.pop("upper_io", None)


def test_every_built_in_materializer_is_known_to_config() -> None:
    from zenctl.providers.discovery import BUILT_IN_MATERIALIZERS

    assert tuple(materializers.BUILTIN) == BUILT_IN_MATERIALIZERS


@pytest.mark.parametrize(
    "array",
    [
        numpy.arange(5 << 20, dtype=numpy.float32),  # 20 MiB: more than one slice
        numpy.arange(12, dtype=numpy.int8).reshape(3, 4),
        numpy.array([True, False]),
        numpy.array([1 + 2j]),
        numpy.array(["2024-01-01"], dtype="datetime64[ns]"),
        numpy.array([5], dtype="timedelta64[s]"),
        numpy.array(["a", "bcd"]),
        numpy.array([b"xy"]),
        numpy.array(3.5),
        numpy.zeros((0, 3)),
        numpy.arange(4, dtype=">i4"),
        numpy.arange(6.0).reshape(2, 3).T,  # Fortran-ordered: numpy's own path
        numpy.arange(10.0)[::2],  # not contiguous
        numpy.zeros(2, dtype=[("a", "<i4"), ("b", "<f8")]),
    ],
    ids=lambda array: f"{array.dtype}-{array.shape}",
)
def test_an_array_is_stored_as_the_bytes_np_save_gives(array: Any) -> None:
    """An array's bytes, and so its hash, are np.save's, however zenctl writes them."""
    expected = io.BytesIO()
    numpy.save(expected, array, allow_pickle=False)
    assert materializers.dump(array) == ("numpy", expected.getvalue())


class Colour(enum.IntEnum):
    RED = 1


class Mode(enum.StrEnum):
    FAST = "fast"


@pytest.mark.parametrize(
    ("value", "stored_as"),
    [
        ({"zeta": 1, "alpha": {"y": 2, "b": 3}}, "json"),  # keys in their own order
        ({"colour": Colour.RED, "mode": Mode.FAST}, "joblib"),  # enums stay enums
        (Mode.FAST, "joblib"),
        (numpy.array(["a", "bb"], dtype=numpy.dtypes.StringDType()), "joblib"),
        (numpy.array([(1, "x")], dtype=[("a", "i4"), ("o", "O")]), "joblib"),
    ],
    ids=["dict-order", "enums", "str-enum", "string-dtype", "record-with-object"],
)
def test_a_value_comes_back_as_it_was_returned(value: Any, stored_as: str) -> None:
    name, data = materializers.dump(value)
    assert name == stored_as
    back = materializers.load(name, data)
    assert type(back) is type(value)
    if isinstance(value, numpy.ndarray):
        assert back.dtype == value.dtype and back.tolist() == value.tolist()
    else:
        assert back == value and repr(back) == repr(value)  # order and types included


def test_a_slice_of_a_memory_mapped_input_is_stored_as_an_array(tmp_path: Path) -> None:
    """A step that returns (part of) its read-only input returns an np.memmap: stored as
    `.npy`, like any array, so the next step maps it too."""
    name, data = materializers.dump(numpy.arange(10.0))
    (tmp_path / "x.npy").write_bytes(data)
    mapped = materializers.load(name, tmp_path / "x.npy")
    assert isinstance(mapped, numpy.memmap)
    sliced = mapped[:5]
    expected = io.BytesIO()
    numpy.save(expected, numpy.arange(5.0), allow_pickle=False)
    assert materializers.dump(sliced) == ("numpy", expected.getvalue())


def test_a_dict_of_tensors_is_stored_as_safetensors() -> None:
    torch = pytest.importorskip("torch", reason="torch not installed (pip install zenctl[torch])")
    torch.manual_seed(0)
    state = torch.nn.Linear(2, 2).state_dict()
    name, data = materializers.dump(state)
    assert name == "torch-tensors"
    back = materializers.load(name, data)
    assert sorted(back) == sorted(state)
    assert all(torch.equal(back[key], state[key]) for key in state)


FAILING = """
from pathlib import Path

import pandas as pd


class LoadFails:
    types = ("int",)

    def can_store(self, value):
        return isinstance(value, int)

    def write(self, value, out):
        out.write(str(value).encode())

    def load(self, path):
        raise RuntimeError("boom in load")


def mixed():
    return pd.DataFrame({"m": [1, "a"]})


def number():
    return 7


def use(x):
    return x


def a_path():
    (Path.cwd() / "f.txt").write_text("f")
    return Path.cwd() / "f.txt"
"""

FAILING_MAIN = """
pipeline "p" {
  step "mixed" {
    run = "steps.bad:mixed"
  }
  step "number" {
    run           = "steps.bad:number"
    materializers = { output = "steps.bad:LoadFails" }
  }
  step "use" {
    run    = "steps.bad:use"
    inputs = { x = step.number.outputs.output }
  }
  step "a_path" {
    run           = "steps.bad:a_path"
    materializers = { output = "json" }
  }
}
"""


def test_a_materializer_that_fails_names_the_output_the_input_and_the_way_out(
    project: Project,
) -> None:
    project.write("steps/__init__.py", "")
    project.write("steps/bad.py", FAILING)
    project.write("main.zc.hcl", FAILING_MAIN)
    applied = project.apply()
    assert applied.code == 1, applied.both
    text = " ".join(applied.both.split())
    # a value the chosen materializer refuses: a storage error, with the library's words
    assert (
        "Cannot store output \"output\" of pipeline.p.step.mixed: the 'pandas' materializer "
        in text
    )
    assert "ArrowInvalid" in text and 'materializers = { output = "joblib" }' in text
    # an input its materializer cannot read back: which input, which materializer
    assert 'Cannot load input "x"' in text and "'steps.bad:LoadFails'" in text
    assert "RuntimeError: boom in load" in text
    # a path output, for which a named materializer means nothing
    assert 'Cannot store output "output" of pipeline.p.step.a_path: it is a path' in text
    kinds = dict(project.sql("SELECT address, details FROM step_executions"))
    assert json.loads(kinds["pipeline.p.step.mixed"]) == {"error_kind": "storage"}
    assert json.loads(kinds["pipeline.p.step.a_path"]) == {"error_kind": "storage"}


def test_a_store_that_fails_while_written_is_not_called_a_materializer_failure() -> None:
    """A bucket down or a 403 mid-upload is the store's error, said as the store says it: no
    advice to name another materializer."""
    from types import SimpleNamespace

    from zenctl.apply.step_values import store_outputs

    class Down(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data: Any) -> int:
            raise ConnectionError("gs://arts still failing after retrying for 5s")

    class Store:
        def put_stream(self, write: Any) -> Any:
            write(Down())

        def staging_folder(self) -> None:
            return None

    task = SimpleNamespace(address="pipeline.p.step.s", materializers={})
    for value in ({"a": 1}, numpy.arange(4.0)):
        with pytest.raises(ConnectionError, match="still failing"):
            store_outputs(task, Store(), {"output": value})  # type: ignore[arg-type]
