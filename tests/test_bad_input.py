"""Bad input never ends in a traceback: fuzzed configs and saved plans, names that become paths.

The fuzzers run in-process for speed (thousands of inputs), then a few of the nastiest through
the CLI. Seeded by hypothesis' database-free derandomised mode, so a failure reproduces.
"""

from __future__ import annotations

import ast
import json
import random
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import Project
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zenctl.config.hcl import ConfigParser
from zenctl.config.variables import VariableInputs, resolve_variables
from zenctl.diagnostics import DiagnosticsError, UserError
from zenctl.fingerprint.canonical import canonical_json
from zenctl.graph import build_graph
from zenctl.plan.planfile import check_saved_plan, plan_hash, read_planfile
from zenctl.providers.registry import InstalledCatalog

REPO = Path(__file__).parent.parent
FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _corpus() -> list[str]:
    """Every HCL text the tests and examples hold: string constants that look like config."""
    texts = [path.read_text() for path in sorted(REPO.glob("examples/**/*.zc.hcl"))]
    for path in sorted(Path(__file__).parent.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
                if "{" in text and any(k in text for k in ("pipeline", "stack", "variable")):
                    texts.append(textwrap.dedent(text))
    return sorted(set(texts))


CORPUS = _corpus()
TOKENS = [
    "{", "}", "[", "]", "(", ")", '"', "=", ",", "\n", "${", "var.", "step.", "source.",
    ".outputs.", "#", "//", "/*", "*/", "<<EOF\n", "EOF\n", "\\", "\\u0000", "..", "/", "-1",
    "1e999", "true", "null", 'step "x" {', 'pipeline "p" {', 'source "s" {', "stack.",
    'variable "v" {', "run = ", "inputs = ", "params = ", "outputs = ", "type = ", "%{", "\t",
    "\u00e9", "\ufeff", "\x00", "${var.v}", "list(", "map(", 'on = "', "sensitive = true",
]  # fmt: skip


NAMES = st.one_of(
    st.sampled_from(["p", "a", "b", "raw", "train", "output", "demo", "prep", "s", "x", "v"]),
    st.sampled_from(["a-b", "_x", "..", ".", "../x", "/etc", "a/b", "a\\u0000", "CON", ""]),
    st.text(min_size=0, max_size=6),
)
VALUES = st.one_of(
    st.sampled_from(['"x"', "1", "1.5", "true", "null", "[]", "{}", "var.v", "${var.v}"]),
    st.sampled_from(['"m:f"', '"steps.pipeline:prep"', "source.s", "step.a.outputs.output"]),
    st.sampled_from(["source.raw", "step.prep.outputs.output", "stack.local", "var.factor"]),
    st.sampled_from(['"processing"', '"training"', "number", "list(string)", '"${var.x}-y"']),
    st.sampled_from(['["output"]', "{ x = source.s }", "{ n = step.a.outputs.output }"]),
)
ATTRS = st.sampled_from(["run", "inputs", "params", "outputs", "path", "on", "stack", "type"])


@st.composite
def mutated_config(draw: st.DrawFn) -> str:
    """A corpus text with a few edits, most of them keeping the syntax valid so that the
    validation behind the parser is reached: lines dropped, duplicated or swapped, strings and
    values replaced; some raw edits and truncations too."""
    lines = draw(st.sampled_from(CORPUS)).splitlines() or [""]
    for _ in range(draw(st.integers(1, 4))):
        lines = lines or [""]
        at = draw(st.integers(0, max(0, len(lines) - 1)))
        line = lines[at] if lines else ""
        op = draw(st.sampled_from(["drop", "copy", "swap", "string", "value", "raw", "cut"]))
        if op == "drop" and lines:
            del lines[at]
        elif op == "copy":
            lines.insert(at, line)
        elif op == "swap" and lines:
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], line
        elif op == "string" and '"' in line:
            start = line.index('"')
            end = line.find('"', start + 1)
            lines[at] = line[: start + 1] + draw(NAMES) + (line[end:] if end > 0 else "")
        elif op == "value" and "=" in line:
            lines[at] = line[: line.index("=") + 1] + " " + draw(VALUES)
        elif op == "raw":
            column = draw(st.integers(0, len(line)))
            lines[at] = line[:column] + draw(st.sampled_from(TOKENS)) + line[column:]
        elif op == "cut":
            lines = [*lines[:at], line[: draw(st.integers(0, len(line)))]]
    return "\n".join(lines) + "\n"


@st.composite
def generated_config(draw: st.DrawFn) -> str:
    """A structurally plausible config: blocks of random kinds, labels and attributes."""

    def block(depth: int) -> str:
        kinds = ["pipeline", "step", "step", "source", "variable", "stack", "orchestrator", "x"]
        kind = draw(st.sampled_from(kinds))
        count = draw(st.sampled_from([1, 1, 1, 0, 2]))
        labels = " ".join(f'"{draw(NAMES)}"' for _ in range(count))
        attrs = [f"{draw(ATTRS)} = {draw(VALUES)}" for _ in range(draw(st.integers(0, 4)))]
        children = [block(depth + 1) for _ in range(draw(st.integers(0, 3 if depth < 2 else 0)))]
        return f"{kind} {labels} {{\n" + "\n".join(attrs + children) + "\n}\n"

    return "".join(block(0) for _ in range(draw(st.integers(1, 3))))


def check_config(text: str) -> None:
    """The loader's contract: a valid config, or diagnostics that each point at a file line.

    Parsing touches no files, so a project folder that does not exist serves."""
    root = Path("/fuzzed-project")
    try:
        config = ConfigParser(root, InstalledCatalog()).parse([(root / "main.zc.hcl", text)])
        for pipeline in config.pipelines.values():
            build_graph(pipeline)
        resolve_variables(config, VariableInputs((), {}))
    except DiagnosticsError as exc:
        for diagnostic in exc.diagnostics:
            assert diagnostic.summary
            if diagnostic.summary != "No value for required variable":
                assert diagnostic.range is not None, diagnostic
                assert diagnostic.range.start.line >= 1, diagnostic


@settings(FUZZ, max_examples=1600)
@given(text=mutated_config())
def test_fuzzed_configs_end_in_a_config_or_located_diagnostics(text: str) -> None:
    check_config(text)


@settings(FUZZ, max_examples=400)
@given(text=generated_config())
def test_generated_configs_end_in_a_config_or_located_diagnostics(text: str) -> None:
    check_config(text)


def test_a_few_fuzzed_configs_through_the_cli(project: Project) -> None:
    rng = random.Random(4)
    for _ in range(3):
        text = rng.choice(CORPUS)
        cut = rng.randrange(len(text))
        project.write("main.zc.hcl", text[:cut] + rng.choice(TOKENS) + text[cut:])
        result = project.run("validate")
        assert result.code in (0, 1), result.both
        assert "Traceback" not in result.both
        assert result.code == 0 or "Error: " in result.err


# -- names that become paths -------------------------------------------------------------------

BAD_NAMES = ["../escape", "/abs", "a/b", "a\\\\b", ".", "..", "a\\u0000b", "a\\nb", "a b"]
PLACES = {
    "pipeline": 'pipeline "{name}" {{\n  step "s" {{ run = "m:f" }}\n}}\n',
    "step": 'pipeline "p" {{\n  step "{name}" {{ run = "m:f" }}\n}}\n',
    "source": 'pipeline "p" {{\n  source "{name}" {{ path = "d" }}\n}}\n',
    "output": 'pipeline "p" {{\n  step "s" {{\n    run = "m:f"\n    outputs = ["{name}"]\n'
    "  }}\n}}\n",
}


@pytest.mark.parametrize("place", sorted(PLACES))
@pytest.mark.parametrize("name", BAD_NAMES)
def test_names_that_would_escape_a_folder_are_rejected_at_the_label(
    place: str, name: str, tmp_path: Path
) -> None:
    text = PLACES[place].format(name=name)
    with pytest.raises(DiagnosticsError) as raised:
        ConfigParser(tmp_path, InstalledCatalog()).parse([(tmp_path / "main.zc.hcl", text)])
    first = raised.value.diagnostics[0]
    assert first.summary in ("Invalid name", "Invalid character"), first
    assert first.range is not None
    line = text.splitlines()[first.range.start.line - 1]
    assert name in line[first.range.start.column - 1 :], (line, first.range)


def test_source_outside_the_project_is_snapshotted_inside_the_store(project: Project) -> None:
    """Like DVC's external dependencies: allowed, hashed, copied under the store's own name."""
    outside = project.root.parent / f"{project.root.name}-outside"
    outside.mkdir()
    (outside / "raw.txt").write_text("7 8 9\n")
    project.write("main.zc.hcl", (project.root / "main.zc.hcl").read_text().replace(
        '"data/raw.txt"', f'"../{outside.name}/raw.txt"'
    ))  # fmt: skip
    applied = project.apply()
    assert applied.code == 0, applied.both
    snapshots = project.root / ".zenctl/artifacts/snapshots"
    copies = [p for p in snapshots.rglob("*") if p.is_file()]
    assert [p.name for p in copies] == ["raw.txt"]
    assert all(snapshots in p.parents for p in copies)


# -- saved plans ---------------------------------------------------------------------------------


def _applied_project(tmp_path_factory: pytest.TempPathFactory, name: str) -> Project:
    """The test pipeline, applied once: real state and artifacts for the damaged documents."""
    from conftest import HELPERS, MAIN, PIPELINE_STEPS

    project = Project(tmp_path_factory.mktemp(name))
    project.write("steps/__init__.py", "")
    project.write("steps/pipeline.py", PIPELINE_STEPS)
    project.write("steps/helpers.py", HELPERS)
    project.write("data/raw.txt", "1 2 3\n")
    project.write("main.zc.hcl", MAIN)
    project.apply()
    return project


@pytest.fixture(scope="module")
def saved_plan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    project = _applied_project(tmp_path_factory, "saved")
    path = project.root / "plan.json"
    project.run("plan", "--var", "factor=3", "--out", str(path))
    return path, json.loads(path.read_text())


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(-2, 2**70), st.text(max_size=5),
    st.just([]), st.just({}), st.just([1, "x"]), st.just({"": None}),
    st.floats(allow_nan=False, allow_infinity=False),  # a saved plan is JSON: no NaN, no Infinity
)  # fmt: skip


@st.composite
def mutated(
    draw: st.DrawFn,
    document: dict[str, Any],
    seal: Callable[[dict[str, Any]], None],
    kinds: tuple[str, ...] = ("truncate", "flip", "retype", "delete", "swap"),
) -> bytes:
    """Damaged bytes, or a document with a value swapped for another type, deleted or
    exchanged with another value of the document, then `seal`ed (a saved plan gets its hash
    again, as anyone can recompute it, so the damage reaches the checks behind it)."""
    raw = canonical_json(document).encode()
    kind = draw(st.sampled_from(kinds))
    if kind == "truncate":
        return raw[: draw(st.integers(0, len(raw) - 1))]
    if kind == "flip":
        at = draw(st.integers(0, len(raw) - 1))
        flipped = raw[at] ^ (1 << draw(st.integers(0, 7)))
        return raw[:at] + bytes([flipped]) + raw[at + 1 :]
    changed = json.loads(raw)
    paths = [p for p in _paths(changed) if p and p[0] != "plan_hash"]
    path = draw(st.sampled_from(paths))
    if kind == "delete":
        del _parent(changed, path)[path[-1]]
    elif kind == "retype":
        _parent(changed, path)[path[-1]] = draw(JUNK)
    else:  # e.g. two steps' cached outputs: each step would be fed the other's artifact
        apart = [p for p in paths if p[: len(path)] != path and path[: len(p)] != p]
        other = draw(st.sampled_from(apart))
        value = _parent(changed, path)[path[-1]]
        _parent(changed, path)[path[-1]] = _parent(changed, other)[other[-1]]
        _parent(changed, other)[other[-1]] = value
    seal(changed)
    return canonical_json(changed).encode()


def _parent(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        document = document[part]
    return document


def _rehash(document: dict[str, Any]) -> None:
    document["plan_hash"] = plan_hash(document)


@settings(FUZZ, max_examples=150)
@given(data=st.data())
def test_malformed_saved_plans_are_refused_cleanly(
    data: st.DataObject, saved_plan: tuple[Path, dict[str, Any]]
) -> None:
    path, document = saved_plan
    raw = data.draw(mutated(document, _rehash))
    damaged = path.with_name("damaged.json")
    damaged.write_bytes(raw)
    try:
        loaded = read_planfile(damaged)
        check_saved_plan(damaged, loaded, document, "sqlite:///metadata.db", key=None)
    except UserError:
        return
    assert canonical_json(loaded) == canonical_json(document)  # accepted: it means the same


def test_malformed_saved_plans_through_the_cli(
    saved_plan: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    path, document = saved_plan
    project = Project(path.parent)
    raw = path.read_bytes()
    wrong_type = {**document, "steps": {"not": "a list"}}
    wrong_type["plan_hash"] = plan_hash(wrong_type)
    cases = {
        "truncated": raw[: len(raw) // 2],
        "flipped": raw.replace(b'"workspace":"default"', b'"workspace":"defaulu"'),
        "wrong-type": canonical_json(wrong_type).encode(),
    }
    for name, content in cases.items():
        damaged = tmp_path / f"{name}.json"
        damaged.write_bytes(content)
        for command in (("show", str(damaged)), ("apply", str(damaged))):
            result = project.run(*command)
            assert result.code == 1, (name, command, result.both)
            assert "Traceback" not in result.both and "crashed" not in result.both
            assert "Error: " in result.err, (name, result.both)


# -- state imports -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported_state(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A real project's exported history, beside the store that imports are fuzzed into."""
    project = _applied_project(tmp_path_factory, "state")
    path = project.root / "state.json"
    assert project.run("state", "export", str(path)).code == 0
    return path, json.loads(path.read_text())


@settings(FUZZ, max_examples=150)
@given(data=st.data())
def test_malformed_state_imports_are_refused_or_imported_whole(
    data: st.DataObject, exported_state: tuple[Path, dict[str, Any]]
) -> None:
    from zenctl.application.project import Project as ZenctlProject
    from zenctl.state.transfer import read_document

    path, document = exported_state
    damaged = path.with_name("damaged.json")
    damaged.write_bytes(data.draw(mutated(document, lambda _: None)))
    try:
        loaded = read_document(damaged)
    except UserError:
        return
    store = ZenctlProject.load(path.parent).open_state(create=True)
    assert store is not None
    try:
        store.import_document(loaded)  # what passed the checks must fit the store's constraints
        assert store.snapshot("default").lineage == loaded["lineage"]
    finally:
        store.close()
