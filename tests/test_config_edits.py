"""An edit inside one step block is decoded alone (zenctl/config/edits.py): the configuration it
gives must be the one a full parse gives, ranges included, and every edit it cannot be sure of
must take the full parse, which reports errors as it always has."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import Project
from hypothesis import given
from hypothesis import strategies as st

from zenctl.config.hcl import ConfigParser
from zenctl.config.loader import load_config
from zenctl.config.model import Config
from zenctl.diagnostics import DiagnosticsError
from zenctl.providers.registry import InstalledCatalog

BASE = """\
variable "lr" {
  default = 0.1
}

locals {
  base  = 10
  names = ["a", "b"]
}

pipeline "p" {
  source "raw" {
    path = "data.csv"
  }

  step "a" {
    run    = "steps:a"
    inputs = { data = source.raw }
    params = { x = 1, lr = var.lr, n = local.base * 2, w = local.later.w }
  }

  step "b" {
    run     = "steps:b"
    inputs  = { prev = step.a.outputs.output }
    params  = { label = "b-${var.lr}", items = local.names, y = 3 }
    outputs = ["model", "scores"]
    metrics = ["scores"]
    resources {
      cpus = 1
    }
  }

  step "c" {
    run    = "steps:c"
    inputs = { m = step.b.outputs.model }
    params = {
      text = <<EOT
a } brace ${var.lr}
EOT
      z    = 5
    }
  }
}

# read at plan time, below the steps: an edit above it moves its range
locals {
  later = yamldecode(file("later.yaml"))
}
"""


_FULL_PARSE = ConfigParser.parse  # the oracle's, never counted


class Parses:
    """Counts the full parses `load_config` makes: zero means the edit was decoded alone."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0

        def counted(parser: ConfigParser, contents: object) -> Config:
            self.count += 1
            return _FULL_PARSE(parser, contents)  # type: ignore[arg-type]

        monkeypatch.setattr(ConfigParser, "parse", counted)


def _load(root: Path) -> Config | list[object]:
    """The loaded config, or the diagnostics it was refused with."""
    try:
        return load_config(root, InstalledCatalog())
    except DiagnosticsError as exc:
        return list(exc.diagnostics)


def _full_parse(root: Path) -> Config | list[object]:
    """The oracle: a parse of the file from scratch, no cache of any kind."""
    path = root / "main.zc.hcl"
    try:
        return _FULL_PARSE(
            ConfigParser(root.resolve(), InstalledCatalog()), [(path, path.read_text())]
        )
    except DiagnosticsError as exc:
        return list(exc.diagnostics)


def _same(loaded: Config | list[object], expected: Config | list[object]) -> None:
    # repr shows every field, the source ranges that equality leaves out included
    assert repr(loaded) == repr(expected)


@contextmanager
def _project(text: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "main.zc.hcl").write_text(text)
        yield root


def _edit(root: Path, old: str, new: str) -> None:
    path = root / "main.zc.hcl"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("x = 1,", "x = 2,"),
        ("y = 3 }", "y = 30 }"),
        ('label = "b-${var.lr}"', 'label = "bee-${var.lr * 2}"'),
        ("z    = 5", "z    = local.base"),
        ("a } brace", "a }} brace }"),
        ("cpus = 1", "cpus = 2"),
        ('outputs = ["model", "scores"]', 'outputs = ["model", "scores", "extra"]'),
        # lines added or removed: everything below moves, ranges included
        ("x = 1,", "x = 1,\n"),
        ('    metrics = ["scores"]\n', ""),
        ("      z    = 5\n", "      z    = 5\n      w    = 6\n\n"),
    ],
)
def test_a_value_edited_in_one_step_is_decoded_alone(
    monkeypatch: pytest.MonkeyPatch, old: str, new: str
) -> None:
    with _project(BASE) as root:
        parses = Parses(monkeypatch)
        assert isinstance(_load(root), Config)
        _edit(root, old, new)
        edited = _load(root)
        assert parses.count == 1, "the edit was parsed in full"
        _same(edited, _full_parse(root))
        (root / "main.zc.hcl").write_text(BASE)  # and back: the first config again
        _same(_load(root), _full_parse(root))
        assert parses.count == 1


@pytest.mark.parametrize(
    ("old", "new", "summary"),
    [
        # what the other steps read from the edited one
        ('outputs = ["model", "scores"]', 'outputs = ["weights", "scores"]', "output"),
        ("prev = step.a.outputs.output", "prev = step.c.outputs.output", "loop"),
        ("y = 3 }", "y = var.nope }", "variable"),
        ("x = 1,", "x = 1,,", ""),  # a syntax error
        ('step "b" {', 'step "a" {', "Duplicate"),
        ('    run    = "steps:c"', '    run    = "steps:c" }', ""),  # closes the block early
    ],
)
def test_an_edit_that_breaks_another_step_is_reported_by_the_full_parse(
    monkeypatch: pytest.MonkeyPatch, old: str, new: str, summary: str
) -> None:
    with _project(BASE) as root:
        assert isinstance(_load(root), Config)
        parses = Parses(monkeypatch)
        _edit(root, old, new)
        refused = _load(root)
        assert parses.count == 1
        assert isinstance(refused, list) and refused, refused
        assert summary.lower() in repr(refused).lower()
        _same(refused, _full_parse(root))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("base  = 10", "base  = 11"),  # a local: every step may read it
        ("x = 1,", "x = 2,"),  # with the one below: two steps edited at once
    ],
)
def test_edits_outside_one_step_take_the_full_parse(
    monkeypatch: pytest.MonkeyPatch, old: str, new: str
) -> None:
    with _project(BASE) as root:
        assert isinstance(_load(root), Config)
        if old == "x = 1,":
            _edit(root, "y = 3 }", "y = 4 }")
        parses = Parses(monkeypatch)
        _edit(root, old, new)
        _same(_load(root), _full_parse(root))
        assert parses.count == 1


# single characters, and the pieces that move a block's edges: an argument beside a block,
# a brace, a new block's keyword, a line
_NOISE = st.sampled_from(
    [*' {}[]()"=,.#$\\<0123456789abxyz', "${", "}\n", "\n", "x = 1\n", 'step "', "  "]
)


@given(
    edits=st.lists(
        st.tuples(
            # mostly inside the pipeline's steps, where an edit may be decoded alone
            st.integers(min_value=BASE.index('  step "a"'), max_value=len(BASE) - 1),
            st.integers(min_value=0, max_value=3),
            st.lists(_NOISE, max_size=3).map("".join),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_any_sequence_of_edits_gives_what_a_full_parse_gives(
    edits: list[tuple[int, int, str]],
) -> None:
    """Random characters deleted and inserted anywhere, edit after edit (each decoded alone,
    or parsed in full, from whatever the last good parse left): the result is always the full
    parse's, down to every range and diagnostic."""
    with _project(BASE) as root:
        _same(_load(root), _full_parse(root))
        for at, deleted, inserted in edits:
            path = root / "main.zc.hcl"
            text = path.read_text()
            at = min(at, len(text))
            path.write_text(text[:at] + inserted + text[at + deleted :])
            _same(_load(root), _full_parse(root))


def test_an_edited_param_shows_in_the_plan_and_reverting_it_shows_no_changes(
    project: Project,
) -> None:
    assert project.apply().code == 0
    text = (project.root / "main.zc.hcl").read_text()
    assert "bias = 0.5" in text
    (project.root / "main.zc.hcl").write_text(text.replace("bias = 0.5", "bias = 0.25"))
    plan = project.run("plan")
    assert plan.code == 0 and "params.bias: 0.5 -> 0.25" in plan.out, plan.out
    (project.root / "main.zc.hcl").write_text(text)
    assert "No changes" in project.run("plan").out


def test_an_edit_in_one_file_moves_only_that_files_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two files: lines added to a step of the second move the ranges below it there, and
    nothing of the first."""
    first, second = BASE.split('  step "b" {')
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "a.zc.hcl").write_text(first + "}\n")
        (root / "b.zc.hcl").write_text(
            'pipeline "q" {\n  step "b" {' + second.replace("step.a.outputs", "step.b0.outputs")
        )
        (root / "b.zc.hcl").write_text(
            (root / "b.zc.hcl")
            .read_text()
            .replace('  step "b" {', '  step "b0" {\n    run = "steps:b0"\n  }\n\n  step "b" {', 1)
        )
        parses = Parses(monkeypatch)

        def full() -> Config | list[object]:
            files = [(path, path.read_text()) for path in sorted(root.glob("*.zc.hcl"))]
            try:
                return _FULL_PARSE(ConfigParser(root.resolve(), InstalledCatalog()), files)
            except DiagnosticsError as exc:
                return list(exc.diagnostics)

        assert isinstance(_load(root), Config) and parses.count == 1
        text = (root / "b.zc.hcl").read_text()
        (root / "b.zc.hcl").write_text(text.replace('run = "steps:b0"', 'run = "steps:b0"\n\n'))
        edited = _load(root)
        assert isinstance(edited, Config) and parses.count == 1
        _same(edited, full())
        moved = edited.pipelines["q"].steps["b"].range
        assert moved.start.line == 6 + 2 and moved.filename.endswith("b.zc.hcl"), moved
        assert edited.pipelines["p"].steps["a"].range.start.line == 15
