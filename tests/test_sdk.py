"""The provider SDK as a contract: providers import only `zenctl.sdk`; what it names resolves
and costs a warm plan nothing; `zenctl.testing`'s doubles behave as real components do."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from zenctl import sdk
from zenctl.fingerprint.files import hash_bytes
from zenctl.providers.protocol import Integrity, StepInput
from zenctl.testing import InlineExecutor, MemoryArtifactStore, step_task

REPO = Path(__file__).parent.parent
PROVIDER_ROOTS = [*sorted((REPO / "providers").iterdir()), REPO / "examples" / "provider-hello"]
ALLOWED = {"zenctl.sdk"}
ALLOWED_IN_TESTS = {"zenctl.sdk", "zenctl.testing"}


def reaches_past_the_sdk(path: Path, package: str, source: str) -> list[str]:
    """Each import in a provider's module of a zenctl module other than the SDK (and, in its
    tests, zenctl.testing), or of another provider's package (`zenctl_*`)."""
    allowed = ALLOWED_IN_TESTS if "tests" in path.parts else ALLOWED
    found: list[str] = []
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "zenctl":  # `from zenctl import apply` names a module too
                names = [f"zenctl.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            inside = name in allowed or any(name.startswith(f"{a}.") for a in allowed)
            if (top == "zenctl" and not inside) or (top.startswith("zenctl_") and top != package):
                found.append(f"{path.relative_to(REPO)}:{node.lineno} imports {name}")
    return found


def provider_modules() -> list[tuple[Path, str]]:
    """Every .py of every provider, with the name of the package it belongs to."""
    found = []
    for root in PROVIDER_ROOTS:
        for path in sorted(root.rglob("*.py")):
            package = path.relative_to(root).parts[0]
            if package == "build":  # what `pip install` left: a copy, not the source
                continue
            found.append((path, package.removesuffix(".py")))
    return found


def test_providers_import_only_the_sdk_and_themselves() -> None:
    modules = provider_modules()
    assert {package for _, package in modules} >= {
        "zenctl_local",
        "zenctl_dask",
        "zenctl_gcp",
        "zenctl_beam",
        "zenctl_hello",
    }
    problems = [
        problem
        for path, package in modules
        for problem in reaches_past_the_sdk(path, package, path.read_text())
    ]
    assert problems == []


@pytest.mark.parametrize(
    ("source", "where"),
    [
        ("from zenctl.apply.task import execute_step\n", "zenctl.apply.task"),
        ("import zenctl.paths\n", "zenctl.paths"),
        ("from zenctl import diagnostics\n", "zenctl.diagnostics"),
        ("def f():\n    from zenctl_local.workers import WorkerPool\n", "zenctl_local.workers"),
        ("from zenctl.testing import InlineExecutor\n", "zenctl.testing"),
    ],
)
def test_the_import_check_catches_each_way_past_the_sdk(source: str, where: str) -> None:
    path = REPO / "providers" / "x" / "zenctl_x" / "m.py"
    assert reaches_past_the_sdk(path, "zenctl_x", source) == [
        f"providers/x/zenctl_x/m.py:{source.count(chr(10))} imports {where}"
    ]
    ok = "from zenctl.sdk import UserError\nfrom zenctl_x.m import y\nfrom . import z\n"
    assert reaches_past_the_sdk(path, "zenctl_x", ok) == []
    in_tests = REPO / "providers" / "x" / "tests" / "test_m.py"
    assert reaches_past_the_sdk(in_tests, "tests", "from zenctl.testing import step_task\n") == []


def test_every_name_the_sdk_exports_resolves() -> None:
    assert sorted(sdk.__all__) == sorted(sdk._EXPORTS)
    for name in sdk.__all__:
        assert getattr(sdk, name) is not None, name
    assert dir(sdk) == sorted(sdk.__all__)
    with pytest.raises(AttributeError, match="no attribute 'execute'"):
        sdk.execute  # noqa: B018


def test_loading_every_provider_imports_neither_pydantic_nor_the_runtime() -> None:
    """Every command loads the installed providers: that must stay cheap (a warm plan's
    budget), so the SDK imports a name only when it is used."""
    probe = (
        "import json, sys\n"
        "import zenctl_local, zenctl_dask, zenctl_gcp, zenctl_beam, zenctl_hello\n"
        "heavy = ['pydantic', 'zenctl.apply.task', 'zenctl.state.db', 'multiprocessing']\n"
        "print(json.dumps([name for name in heavy if name in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(done.stdout) == []


def test_memory_store_keeps_checks_quarantines_and_removes(tmp_path: Path) -> None:
    store = MemoryArtifactStore(tmp_path / "scratch")
    data = b"weights"
    digest = hash_bytes(data)
    assert store.put(digest, data) == f"memory://{digest}"
    assert store.get(digest) == data
    gone = hash_bytes(b"never stored")
    assert store.check({digest: len(data), gone: 1}) == {
        digest: Integrity.OK,
        gone: Integrity.MISSING,
    }
    assert store.check({digest: len(data) + 1}) == {digest: Integrity.CORRUPT}
    with pytest.raises(FileNotFoundError):
        store.get(gone)

    store.objects[digest] = b"damaged"  # the double's bytes are the test's to tamper with
    assert store.check({digest: len(data)}) == {digest: Integrity.CORRUPT}
    store.quarantine(digest)
    assert digest not in store.objects and store.check({digest: 7}) == {digest: Integrity.CORRUPT}

    source = tmp_path / "raw.txt"
    source.write_text("1 2 3\n")
    snapshot = store.snapshot(source, hash_bytes(source.read_bytes()))
    assert snapshot.read_text() == "1 2 3\n" and snapshot.is_relative_to(tmp_path / "scratch")
    store.put(digest, data)
    kinds = sorted(item.kind for item in store.items())
    assert kinds == ["corrupt", "object", "snapshot"]
    store.remove(list(store.items()))
    assert list(store.items()) == [] and not store.objects and not store.quarantined


STEPS = """
def double(numbers: list, factor: int = 2) -> list:
    print("doubling", len(numbers), "numbers")
    return [n * factor for n in numbers]


def fail() -> int:
    raise ValueError("diverged")
"""


def test_inline_executor_runs_each_step_at_once_through_the_real_runtime(tmp_path: Path) -> None:
    (tmp_path / "steps.py").write_text(STEPS)
    store = MemoryArtifactStore()
    numbers = b"[1,2,3]"
    store.put(hash_bytes(numbers), numbers)
    executor = InlineExecutor(store)
    with pytest.raises(RuntimeError, match="not started"):
        executor.submit(step_task(tmp_path, "steps:double"))
    executor.start(4)
    task = step_task(
        tmp_path,
        "steps:double",
        params={"factor": 10},
        inputs={"numbers": StepInput("artifact", hash_bytes(numbers), "json")},
    )
    future = executor.submit(task)
    assert future.done()
    result = future.result()
    assert result.ok, result.error
    assert store.get(result.outputs["output"]["hash"]) == b"[10,20,30]"
    assert Path(task.log_path).read_text() == "doubling 3 numbers\n"  # captured, as a worker's

    failed = executor.submit(step_task(tmp_path, "steps:fail", address="pipeline.p.step.f"))
    assert failed.result().error == "ValueError: diverged"
    assert executor.submitted[0] is task and len(executor.submitted) == 2
    executor.shutdown(cancel=False)
    # as a worker's would, the step's modules leave with it: a later project's `steps`, or
    # a worker forked from this process, must not find this one's
    assert "steps" not in sys.modules and str(tmp_path) not in sys.path


def test_inline_executor_body_replaces_how_the_value_is_computed(tmp_path: Path) -> None:
    """As a MockTransport's handler answers requests: the step function is never called."""
    (tmp_path / "steps.py").write_text(STEPS)
    store = MemoryArtifactStore()
    executor = InlineExecutor(store, body=lambda task, _store, details: {"answer": task.run})
    executor.start(1)
    result = executor.submit(step_task(tmp_path, "steps:fail")).result()
    assert result.ok, result.error
    assert store.get(result.outputs["output"]["hash"]) == b'{"answer":"steps:fail"}'
