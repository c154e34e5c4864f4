"""Model-based test of the cache: random small projects, random edit sequences, two oracles.

A hypothesis state machine writes a small project (sources, helper modules imported across
files, params from variables and from a YAML file, a heredoc, a file named in `deps`, fan-in,
cut-off steps that clamp or round), edits it as a user does and drives the real `zenctl`
through the CLI after every edit. Its own model of the project (not zenctl's code) knows which
files, params and data each step depends on and computes what each step returns (some
steps store their output through a materializer of the project's own, whose code is edited
too). After each rule:

1. No stale cache: every output of the incremental apply has the bytes a from-scratch apply of
   the same project in a fresh store produces, and the bytes the model computes.
2. No wasted run and no phantom diff: apply executes exactly the steps whose inputs (code,
   params, data, upstream bytes) the model says have no reusable execution, every diff line
   of the plan is a real change against the step's baseline, and a second plan has no changes.

Sizes come from the hypothesis profiles in conftest.py; a failure prints the blob to rerun it
(docs/testing.md).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from conftest import Project
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

# The rule families in play. Left out until their features are merged: `moved` (renames with a
# `moved` block), `heredoc` (heredocs that interpolate variables), `baseline` (a step's diff is
# against what the last apply left in place, a reuse from history included; without it, against
# its last run) and `gc_current` (gc keeps what the current configuration reuses).
FEATURES = {
    "params",
    "code",
    "comments",
    "data",
    "touch",
    "revert",
    "replace",
    "gc",
    "moved",
    "heredoc",
    "baseline",
    "gc_current",
    "expressions",
    "deps",
    "materializers",
}

PIPELINE = "p"
FRAMED = "steps.io:Framed"
DEP_FILE = "data/dep.txt"
VARIABLES = ("v0", "v1")
INT_KINDS = ("load", "clamp", "snap", "adj", "mix")
CODE_FILES = ("steps/core.py", "steps/tuned.py", "steps/util.py", "steps/base.py")
# each step kind: its module and the files of that module's import closure
MODULE_OF = {kind: "core" for kind in ("load", "clamp", "snap", "mix", "fmt")} | {"adj": "tuned"}
CLOSURE = {
    "core": ("steps/__init__.py", "steps/core.py"),
    "tuned": ("steps/__init__.py", "steps/tuned.py", "steps/util.py", "steps/base.py"),
}
# what of each file a step kind's function reaches, as the Content field that edits it: the
# code hash covers only that (`spare` and `unused` are functions no step reaches)
REACHES = {
    "load": {"steps/core.py": "modulus"},
    "adj": {"steps/util.py": "scale", "steps/base.py": "offset"},
}

# a literal, the name of the variable it reads, or an expression: ("twice", VARIABLE) is
# `local.twice_VARIABLE` (a local computing var * 2) and ("file", "k") reads `k` of the YAML
# file params.yaml through `yamldecode(file(...))`, which an edit changes without any .hcl edit
Param = int | str | tuple[str, str]


@dataclass(frozen=True)
class StepSpec:
    ident: int  # stays when the step is renamed
    kind: str
    inputs: tuple[tuple[str, str], ...]  # (input name, "source.rawN" or the ident of a step)
    params: tuple[tuple[str, Param], ...]
    dep: bool = False  # declares `deps = [DEP_FILE]`, a file its code does not read
    framed: bool = False  # its output is stored by the project's own materializer, FRAMED


@dataclass(frozen=True)
class Content:
    """Everything an edit changes and a revert restores."""

    variables: tuple[int, ...]
    data: tuple[bytes, ...]
    modulus: int  # in steps/core.py
    scale: int  # in steps/util.py
    offset: int  # in steps/base.py
    comments: tuple[int, ...] = (0, 0, 0, 0)  # a revision per CODE_FILES entry
    file_value: int = 1  # `k` in params.yaml
    spare: int = 1  # in `spare`, a function of steps/core.py no step calls
    unused: int = 0  # in `unused`, a helper of steps/util.py no step calls
    dep: bytes = b"d"  # the bytes of DEP_FILE
    frame: int = 0  # in steps/io.py: what the project's materializer writes before a value

    def code_variant(self, kind: str, path: str) -> int:
        """What of a file's code the fingerprint of a step of `kind` sees: what its function
        reaches, not its comments nor the functions it does not call."""
        field_ = REACHES.get(kind, {}).get(path)
        return int(getattr(self, field_)) if field_ else 0


@dataclass(frozen=True)
class Key:
    """The model's cache key of a step: what it depends on, as values. Not its address: an
    execution of another step with the same key is reused too (its bytes are the same)."""

    run: str
    refs: tuple[str, ...]  # which source or step each input reads
    code: tuple[tuple[str, int], ...]
    params: tuple[tuple[str, Any], ...]
    inputs: tuple[tuple[str, bytes], ...]
    deps: tuple[bytes, ...] = ()  # the bytes of each file in the step's `deps`
    frame: int | None = None  # the code of the materializer a framed step names


@dataclass(frozen=True)
class Record:
    """One execution that ran and succeeded."""

    key: Key
    output: bytes


@dataclass
class Prediction:
    keys: dict[int, Key] = field(default_factory=dict)
    outputs: dict[int, bytes] = field(default_factory=dict)
    must_run: set[int] = field(default_factory=set)
    # the same new key as a step before it in this apply: run, or reuse what that one recorded,
    # as the steps' timing decides
    may_run: set[int] = field(default_factory=set)
    planned_run: set[int] = field(default_factory=set)  # must run, or an upstream step must
    # the key of what a step that does not run leaves in place: its current state when that did
    # the same work (made under other input references), else its own key
    reused: dict[int, Key] = field(default_factory=dict)


# -- the project's files ----------------------------------------------------------------------


def _comment(revision: int) -> str:
    return f"# revision {revision}\n" + ("\n\n# (reformatted)\n" if revision % 2 else "")


def code_files(content: Content) -> dict[str, str]:
    core, tuned, util, base = (_comment(revision) for revision in content.comments)
    return {
        "steps/__init__.py": "",
        "steps/io.py": f"""import json

FRAME = {content.frame}


class Framed:
    types = ("int",)

    def can_store(self, value):
        return isinstance(value, int)

    def write(self, value, out):
        out.write(f"{{FRAME}}|{{json.dumps(value)}}".encode())

    def load(self, path):
        return json.loads(path.read_bytes().split(b"|", 1)[1])
""",
        "steps/base.py": f'"""Offsets."""\n{base}OFFSET = {content.offset}\n',
        "steps/util.py": (
            f"from steps import base\n{util}\n\ndef adjust(x: int) -> int:\n"
            f"    return x * {content.scale} + base.OFFSET\n\n\n"
            f"def unused(x: int) -> int:\n    return adjust(x) - {content.unused}\n"
        ),
        "steps/tuned.py": (
            f"from steps.util import adjust\n{tuned}\n\ndef adj(x: int) -> int:\n"
            "    return adjust(x)\n"
        ),
        "steps/core.py": f"""from pathlib import Path
{core}
MODULUS = {content.modulus}


def load(raw: Path, k: int) -> int:
    return sum(raw.read_bytes()) % MODULUS * k


def clamp(x: int, hi: int) -> int:
    return min(x, hi)


def snap(x: int, m: int) -> int:
    return x - x % m


def mix(a: int, b: int, w: int) -> int:
    return a * w + b


def fmt(x: int, note: str) -> str:
    return f"{{note}}={{x}}"


def spare(x: int) -> int:
    return x * {content.spare} % MODULUS
""",
    }


def _note_heredoc() -> str:
    line = "run ${var.v1}" if "heredoc" in FEATURES else "run"
    return f"<<-EOT\n        {line}\n        EOT"


def _moved_block(old: str, new: str) -> str:
    return (
        f"moved {{\n  from = pipeline.{PIPELINE}.step.{old}\n"
        f"  to   = pipeline.{PIPELINE}.step.{new}\n}}\n"
    )


def _target(kind: str) -> str:
    return f"steps.{MODULE_OF[kind]}:{kind}"


def _refs(step: StepSpec, names: dict[int, str]) -> tuple[str, ...]:
    """The fingerprint holds each input's reference: history is reused only under the same
    references, but a step's current state also when only they changed (see `_same_work`)."""
    return tuple(_reference(ref, names) for _, ref in step.inputs)


def _same_work(a: Key, b: Key) -> bool:
    """The same work but for which step produced the input bytes (a renamed producer)."""
    return replace(a, refs=()) == replace(b, refs=())


def _reference(ref: str, names: dict[int, str]) -> str:
    return ref if ref.startswith("source.") else f"step.{names[int(ref)]}.outputs.output"


def _hcl_value(value: Param) -> str:
    if isinstance(value, tuple):
        kind, name = value
        return f"local.twice_{name}" if kind == "twice" else f"local.settings.{name}"
    return f"var.{value}" if isinstance(value, str) else str(value)


def _locals() -> str:
    twice = "".join(f"  twice_{name} = var.{name} * 2\n" for name in VARIABLES)
    return f'locals {{\n{twice}  settings = yamldecode(file("params.yaml"))\n}}\n'


def _param_value(value: Param, content: Content) -> Any:
    if isinstance(value, tuple):
        kind, name = value
        if kind == "twice":
            return 2 * content.variables[VARIABLES.index(name)]
        return content.file_value
    return content.variables[VARIABLES.index(value)] if isinstance(value, str) else value


def main_hcl(
    steps: list[StepSpec], names: dict[int, str], sources: int, moves: list[tuple[str, str]]
) -> str:
    blocks = [
        f'variable "{name}" {{\n  type    = number\n  default = 1\n}}\n' for name in VARIABLES
    ]
    if "expressions" in FEATURES:
        blocks.append(_locals())
    body = [f'  source "raw{i}" {{\n    path = "data/raw{i}.bin"\n  }}\n' for i in range(sources)]
    for step in steps:
        inputs = ", ".join(f"{name} = {_reference(ref, names)}" for name, ref in step.inputs)
        params = [f"{name} = {_hcl_value(value)}" for name, value in step.params]
        if step.kind == "fmt":
            params.append(f"note = {_note_heredoc()}")
        body.append(
            f'  step "{names[step.ident]}" {{\n'
            f'    run    = "{_target(step.kind)}"\n'
            f"    inputs = {{ {inputs} }}\n"
            "    params = {\n"
            + "".join(f"      {param}\n" for param in params)
            + "    }\n"
            + (f'    deps   = ["{DEP_FILE}"]\n' if step.dep else "")
            + (f"    materializers = {{ output = {json.dumps(FRAMED)} }}\n" if step.framed else "")
            + "  }\n"
        )
    blocks.append(f'pipeline "{PIPELINE}" {{\n' + "\n".join(body) + "}\n")
    blocks.extend(_moved_block(old, new) for old, new in moves)
    return "\n".join(blocks)


# -- what the model computes ------------------------------------------------------------------


def param_values(step: StepSpec, content: Content) -> dict[str, Any]:
    values: dict[str, Any] = {name: _param_value(value, content) for name, value in step.params}
    if step.kind == "fmt":
        values["note"] = f"run {content.variables[1]}\n" if "heredoc" in FEATURES else "run\n"
    return values


def compute(
    step: StepSpec, content: Content, params: dict[str, Any], args: dict[str, bytes]
) -> bytes:
    """The bytes of the step's artifact: canonical JSON for an int, the text for a str."""
    number = {name: int(value.split(b"|")[-1]) for name, value in args.items() if name != "raw"}
    if step.kind == "load":
        result: int | str = sum(args["raw"]) % content.modulus * params["k"]
    elif step.kind == "clamp":
        result = min(number["x"], params["hi"])
    elif step.kind == "snap":
        result = number["x"] - number["x"] % params["m"]
    elif step.kind == "adj":
        result = number["x"] * content.scale + content.offset
    elif step.kind == "mix":
        result = number["a"] * params["w"] + number["b"]
    else:
        return f"{params['note']}={number['x']}".encode()
    framed = f"{content.frame}|" if step.framed else ""
    return f"{framed}{json.dumps(result)}".encode()


@st.composite
def projects(draw: st.DrawFn) -> tuple[list[StepSpec], Content]:
    sources = draw(st.integers(1, 2))
    expressions = st.tuples(st.just("twice"), st.sampled_from(VARIABLES)) | st.just(("file", "k"))
    value = st.one_of(
        st.integers(1, 3),
        st.sampled_from(VARIABLES),
        *([expressions] if "expressions" in FEATURES else []),
    )
    steps: list[StepSpec] = []
    for ident in range(draw(st.integers(2, 5))):
        producers = [str(s.ident) for s in steps if s.kind != "fmt"]
        kinds = [k for k in (*INT_KINDS, "fmt") if producers or k == "load"]
        kind = draw(st.sampled_from([k for k in kinds if k != "mix" or len(producers) >= 2]))
        upstream = st.sampled_from(producers) if producers else st.nothing()
        if kind == "load":
            source = f"source.raw{draw(st.integers(0, sources - 1))}"
            spec = StepSpec(ident, kind, (("raw", source),), (("k", draw(value)),))
        elif kind == "mix":
            a, b = draw(st.lists(upstream, min_size=2, max_size=2, unique=True))
            spec = StepSpec(ident, kind, (("a", a), ("b", b)), (("w", draw(value)),))
        else:
            names = {"clamp": ("hi",), "snap": ("m",)}.get(kind, ())
            params = tuple((name, draw(value)) for name in names)
            spec = StepSpec(ident, kind, (("x", draw(upstream)),), params)
        dep = "deps" in FEATURES and draw(st.booleans())
        framed = "materializers" in FEATURES and kind != "fmt" and draw(st.booleans())
        steps.append(replace(spec, dep=dep, framed=framed))
    content = Content(
        variables=(1, 1),
        data=tuple(draw(st.binary(min_size=1, max_size=6)) for _ in range(sources)),
        modulus=draw(st.sampled_from([5, 7])),
        scale=draw(st.integers(1, 2)),
        offset=draw(st.integers(0, 2)),
    )
    return steps, content


# -- the state machine ------------------------------------------------------------------------

# the project's files and variables -> {address: (output hash, output bytes)}
_FROM_SCRATCH: dict[str, dict[str, tuple[str, bytes]]] = {}
_RUNNING = re.compile(rf"^(pipeline\.{PIPELINE}\.step\.\S+): Running\.\.\.$", re.M)
_STEP_LINE = re.compile(rf"^  [+~=-] (pipeline\.{PIPELINE}\.step\.\S+)\s+(run|cached)", re.M)


def _printed_plan(output: str) -> dict[str, tuple[str, set[str]]]:
    """The plan apply prints: per step, its action and what its diff lines name
    (`params.k`, `code: steps/util.py`, `source.raw0`, `inputs.x`)."""
    steps: dict[str, tuple[str, set[str]]] = {}
    lines: set[str] = set()
    for line in output.split("Plan:")[0].splitlines():
        header = _STEP_LINE.match(line)
        if header:
            lines = set()
            steps[header[1]] = (header[2], lines)
        elif line.startswith("      ") and line.strip()[:1] in "+~-":
            change = line.strip()[2:]
            if change.startswith("code: "):
                lines.add(change)
            else:
                lines.add(re.split(r"[: ]", change)[0])
    return steps


def _outputs(plan: dict[str, Any]) -> dict[str, tuple[str, bytes]]:
    """Each step's output in a plan where every step is cached: its hash and its stored bytes."""
    found = {}
    for entry in plan["steps"]:
        output = entry["cached_outputs"]["output"]
        found[entry["address"]] = (
            output["hash"],
            Path(output["uri"].removeprefix("file://")).read_bytes(),
        )
    return found


def _enabled(family: str) -> Any:
    """Keep a rule only when its family is in FEATURES (a rule left out is not drawn at all)."""
    return lambda function: function if family in FEATURES else None


class ProjectMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folders: list[Path] = []
        self.project = Project(self._folder())
        self.steps: list[StepSpec] = []
        self.names: dict[int, str] = {}
        self.moves: list[tuple[str, str]] = []
        self.content = Content((1, 1), (), 5, 1, 0)
        self.seen: list[Content] = []  # every content applied so far, for reverts
        self.history: dict[int, list[Record]] = {}  # executions that ran, oldest first
        self.present: set[bytes] = set()  # artifact bytes in the store
        self.current: dict[int, Key] = {}  # what the last apply left in place
        self.last_ran: dict[int, Key] = {}

    def _folder(self) -> Path:
        self.folders.append(Path(tempfile.mkdtemp(prefix="zenctl-model-")))
        return self.folders[-1]

    def teardown(self) -> None:
        for folder in self.folders:
            shutil.rmtree(folder, ignore_errors=True)

    # -- the edits ----------------------------------------------------------------------------

    @initialize(project=projects())
    def create(self, project: tuple[list[StepSpec], Content]) -> None:
        self.steps, self.content = project
        self.names = {step.ident: f"s{step.ident}" for step in self.steps}
        self.history = {step.ident: [] for step in self.steps}
        self._converge()

    @_enabled("params")
    @rule(variable=st.integers(0, len(VARIABLES) - 1), value=st.integers(1, 3))
    def set_variable(self, variable: int, value: int) -> None:
        values = list(self.content.variables)
        values[variable] = value
        self._edit(replace(self.content, variables=tuple(values)))

    @_enabled("expressions")
    @rule(value=st.integers(1, 3))
    def edit_params_file(self, value: int) -> None:
        """A file an expression reads changes, and no .hcl file does."""
        self._edit(replace(self.content, file_value=value))

    @_enabled("deps")
    @rule(data=st.sampled_from([b"d", b"e", b"f"]))
    def edit_dep_file(self, data: bytes) -> None:
        """A file steps name in `deps` changes: exactly those steps run again."""
        self._edit(replace(self.content, dep=data))

    @_enabled("code")
    @rule(which=st.sampled_from(["modulus", "scale", "offset"]), value=st.integers(0, 2))
    def edit_helper_code(self, which: str, value: int) -> None:
        choices = {"modulus": (5, 6, 7), "scale": (1, 2, 3), "offset": (0, 1, 2)}
        self._edit(replace(self.content, **{which: choices[which][value]}))

    @_enabled("code")
    @rule(which=st.sampled_from(["spare", "unused"]), value=st.integers(0, 2))
    def edit_unrelated_code(self, which: str, value: int) -> None:
        """A function no step calls, in a step's module or in a helper module it imports:
        nothing may run, and the oracle must hold."""
        self._edit(replace(self.content, **{which: value + 1}))

    @_enabled("materializers")
    @rule(value=st.integers(0, 2))
    def edit_materializer(self, value: int) -> None:
        """The project's own materializer writes other bytes: the steps that name it run again
        (and those reading them, whose inputs' bytes changed), no other step."""
        self._edit(replace(self.content, frame=value))

    @_enabled("comments")
    @rule(file=st.integers(0, len(CODE_FILES) - 1))
    def edit_comments(self, file: int) -> None:
        comments = list(self.content.comments)
        comments[file] += 1
        self._edit(replace(self.content, comments=tuple(comments)))

    @_enabled("data")
    @rule(source=st.integers(0, 1), data=st.binary(min_size=1, max_size=6))
    def change_data(self, source: int, data: bytes) -> None:
        sources = list(self.content.data)
        sources[source % len(sources)] = data
        self._edit(replace(self.content, data=tuple(sources)))

    @_enabled("touch")
    @rule(file=st.sampled_from([*CODE_FILES, "data/raw0.bin"]), ahead=st.integers(1, 100))
    def touch(self, file: str, ahead: int) -> None:
        """A new mtime, the same bytes: nothing may run."""
        moment = time.time() + ahead
        os.utime(self.project.root / file, (moment, moment))
        self._converge()

    @_enabled("revert")
    @rule(index=st.integers(0, 50))
    def revert(self, index: int) -> None:
        self._edit(self.seen[index % len(self.seen)])

    @_enabled("replace")
    @rule(index=st.integers(0, 10))
    def replace_step(self, index: int) -> None:
        self._converge(replace=self.steps[index % len(self.steps)].ident)

    @_enabled("gc")
    @rule(keep=st.integers(1, 3))
    def collect_garbage(self, keep: int) -> None:
        """gc after time passed: what it spares only because it is recent is old now."""
        hour_ago = time.time() - 3600
        for path in (self.project.root / ".zenctl/artifacts").rglob("*"):
            os.utime(path, (hour_ago, hour_ago))
        result = self.project.run("gc", "--keep-last", str(keep))
        assert result.code == 0, result.both
        kept = [record for records in self.history.values() for record in records[-keep:]]
        if "gc_current" in FEATURES:
            in_place = set(self.current.values())
            kept += [r for records in self.history.values() for r in records if r.key in in_place]
        self.present = {record.output for record in kept}
        self.present |= {data for record in kept for _, data in record.key.inputs}
        self._converge()

    @_enabled("moved")
    @rule(index=st.integers(0, 10))
    def rename_step(self, index: int) -> None:
        """A rename with a `moved` block: history follows the step, nothing runs."""
        ident = self.steps[index % len(self.steps)].ident
        old = self.names[ident]
        self.names[ident] = f"{old}_r"
        self.moves.append((old, self.names[ident]))
        self._converge()

    def _edit(self, content: Content) -> None:
        self.content = content
        self._converge()

    # -- the model's prediction -----------------------------------------------------------------

    def _predict(self, replaced: int | None) -> Prediction:
        prediction = Prediction()
        new_keys: set[Key] = set()
        for step in self.steps:
            args = {
                name: self.content.data[int(ref.removeprefix("source.raw"))]
                if ref.startswith("source.")
                else prediction.outputs[int(ref)]
                for name, ref in step.inputs
            }
            params = param_values(step, self.content)
            closure = CLOSURE[MODULE_OF[step.kind]]
            key = Key(
                run=_target(step.kind),
                refs=_refs(step, self.names),
                code=tuple((path, self.content.code_variant(step.kind, path)) for path in closure),
                params=tuple(sorted(params.items())),
                inputs=tuple(sorted(args.items())),
                deps=(self.content.dep,) if step.dep else (),
                frame=self.content.frame if step.framed else None,
            )
            current = self.current.get(step.ident)
            in_place = current is not None and _same_work(current, key)
            reusable = any(
                (record.key == key or (in_place and record.key == current))
                and record.output in self.present
                for records in self.history.values()
                for record in records
            )
            prediction.keys[step.ident] = key
            prediction.reused[step.ident] = current if in_place and current is not None else key
            prediction.outputs[step.ident] = compute(step, self.content, params, args)
            if step.ident == replaced:
                prediction.must_run.add(step.ident)
            elif not reusable and key in new_keys:
                prediction.may_run.add(step.ident)
            elif not reusable:
                prediction.must_run.add(step.ident)
                new_keys.add(key)
            if step.ident in prediction.must_run | prediction.may_run or any(
                int(ref) in prediction.planned_run
                for _, ref in step.inputs
                if not ref.startswith("source.")
            ):
                prediction.planned_run.add(step.ident)
        return prediction

    def _expected_changes(self, step: StepSpec, now: Key, prediction: Prediction) -> set[str]:
        """The plan's diff lines the model expects: what differs from the step's baseline."""
        baseline = (self.current if "baseline" in FEATURES else self.last_ran).get(step.ident)
        if baseline is None or step.ident not in prediction.planned_run:
            return set()
        before = dict(baseline.code)
        changes = {f"code: {path}" for path, variant in now.code if before[path] != variant}
        before = dict(baseline.params)
        changes |= {f"params.{name}" for name, value in now.params if before[name] != value}
        if now.deps != baseline.deps:
            changes.add("deps")
        if now.frame != baseline.frame:
            changes.add("code: steps/io.py (materializer of output)")
        refs = dict(step.inputs)
        old_inputs = dict(baseline.inputs)
        for name, data in now.inputs:
            ref = refs[name]
            if old_inputs[name] == data:
                continue
            if ref.startswith("source."):
                changes.add(ref)
            elif int(ref) not in prediction.planned_run:  # otherwise known only after apply
                changes.add(f"inputs.{name}")
        return changes

    # -- driving zenctl and checking it ----------------------------------------------------------

    def _write(self) -> None:
        """Write what changed only: an unchanged file keeps its mtime, as in an editor."""
        files = {path: text.encode() for path, text in code_files(self.content).items()}
        files |= {f"data/raw{i}.bin": data for i, data in enumerate(self.content.data)}
        files["params.yaml"] = f"k: {self.content.file_value}\n".encode()
        files[DEP_FILE] = self.content.dep
        hcl = main_hcl(self.steps, self.names, len(self.content.data), self.moves)
        files["main.zc.hcl"] = hcl.encode()
        for path, data in files.items():
            target = self.project.root / path
            if not target.exists() or target.read_bytes() != data:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)

    def _variables(self) -> list[str]:
        return [
            arg
            for name, value in zip(VARIABLES, self.content.variables, strict=True)
            for arg in ("--var", f"{name}={value}")
        ]

    def _address(self, ident: int) -> str:
        return f"pipeline.{PIPELINE}.step.{self.names[ident]}"

    def _converge(self, replace: int | None = None) -> None:
        self._write()
        prediction = self._predict(replace)
        from_scratch = self._start_from_scratch()
        replacing = ["--replace", self._address(replace)] if replace is not None else []

        applied = self.project.apply(*self._variables(), *replacing)
        assert applied.code == 0, applied.both
        printed = _printed_plan(applied.out)
        for step in self.steps:
            address = self._address(step.ident)
            action, lines = printed[address]
            planned = step.ident in prediction.planned_run
            wanted = "run" if planned else "cached"
            assert action == wanted, f"{address}: {action}, model {wanted}\n{applied.out}"
            expected = self._expected_changes(step, prediction.keys[step.ident], prediction)
            assert lines == expected, f"{address}: diff {lines}, model {expected}\n{applied.out}"
        ran = set(_RUNNING.findall(applied.out))
        expected_runs = {self._address(ident) for ident in prediction.must_run}
        allowed = expected_runs | {self._address(ident) for ident in prediction.may_run}
        assert ran <= allowed, f"wasted runs {ran - allowed}:\n{applied.out}"
        assert ran >= expected_runs, f"stale: {expected_runs - ran} did not run:\n{applied.out}"

        for step in self.steps:
            key, output = prediction.keys[step.ident], prediction.outputs[step.ident]
            if self._address(step.ident) in ran:
                self.history[step.ident].append(Record(key, output))
                self.present.add(output)
                self.last_ran[step.ident] = key
            ran_now = self._address(step.ident) in ran
            self.current[step.ident] = key if ran_now else prediction.reused[step.ident]
        self.seen.append(self.content)

        after = self._plan_json()
        assert all(entry["action"] == "cached" for entry in after["steps"]), after["steps"]
        assert not after["removed"], after["removed"]
        text = self.project.run("plan", *self._variables())
        assert text.code == 0 and "No changes." in text.out, text.both

        scratch = from_scratch()
        outputs = _outputs(after)
        for step in self.steps:
            address = self._address(step.ident)
            (digest, stored), (fresh_digest, fresh) = outputs[address], scratch[address]
            assert digest == fresh_digest, (
                f"{address}: incremental {digest}, from scratch {fresh_digest}"
            )
            assert stored == fresh == prediction.outputs[step.ident], (
                f"{address}: incremental {stored!r}, from scratch {fresh!r}, "
                f"model {prediction.outputs[step.ident]!r}"
            )

    def _plan_json(self) -> dict[str, Any]:
        result = self.project.run("plan", "--json", *self._variables())
        assert result.code == 0, result.both
        document: dict[str, Any] = json.loads(result.out)
        return document

    def _start_from_scratch(self) -> Any:
        """Apply a copy of the project in a fresh store, beside the incremental apply; the
        returned call waits for it and gives each step's output hash and bytes."""
        folder = self._folder() / "project"
        shutil.copytree(self.project.root, folder, ignore=shutil.ignore_patterns(".zenctl"))
        files = sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        digest = repr(
            [(str(p.relative_to(folder)), p.read_bytes()) for p in files] + self._variables()
        )
        results: dict[str, tuple[str, bytes]] = {}
        failures: list[BaseException] = []

        def work() -> None:
            try:
                if digest not in _FROM_SCRATCH:
                    # the binary: it runs beside the incremental apply, in this process
                    fresh = Project(folder, end_to_end=True)
                    applied = fresh.apply(*self._variables())
                    assert applied.code == 0, f"from-scratch apply failed:\n{applied.both}"
                    plan = json.loads(fresh.run("plan", "--json", *self._variables()).out)
                    _FROM_SCRATCH[digest] = _outputs(plan)
                results.update(_FROM_SCRATCH[digest])
            except BaseException as failure:  # re-raised in the test's thread by wait()
                failures.append(failure)

        thread = threading.Thread(target=work)
        thread.start()

        def wait() -> dict[str, tuple[str, bytes]]:
            thread.join()
            if failures:
                raise failures[0]
            return results

        return wait


TestProjectModel = pytest.mark.slow(ProjectMachine.TestCase)
