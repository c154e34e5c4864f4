"""Unit tests where the logic is subtle: values, code identity, caches, materializers."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy
import pandas
import pytest

from zenctl.artifacts import materializers
from zenctl.config.lowering import parse_expression
from zenctl.config.model import Expression, Ref
from zenctl.config.tree import ExpressionError
from zenctl.config.types import TypeMismatch, convert_value, normalize_type
from zenctl.config.values import Values
from zenctl.config.variables import evaluate
from zenctl.fingerprint.code import CodeIndex
from zenctl.fingerprint.files import StatCache, hash_path
from zenctl.fingerprint.step import fingerprint
from zenctl.state.schema import MIGRATIONS, SCHEMA_HEAD


def _value(source: str) -> object:
    return Values(".").value(parse_expression(source), lambda where: source)


def test_values_convert_literals_references_and_templates() -> None:
    assert _value('"a\\"b"') == 'a"b'
    assert _value("var.lr") == Ref(("var", "lr"))
    assert _value('"${var.lr}"') == Ref(("var", "lr"))  # keeps the variable's type
    template = _value('"run-${var.name}-x"')
    assert isinstance(template, Expression) and template.refs == (Ref(("var", "name")),)
    assert evaluate(template, {"name": "n"}) == "run-n-x"
    assert _value('"%{ if true }a%{ endif }${1e3}"') == "a1000"  # reads nothing: evaluated
    assert _value('{"k" = [1, "${1e3}", upper("x")]}') == {"k": [1, 1000.0, "X"]}
    with pytest.raises(ExpressionError, match="no variable named"):
        _value("bare")


def test_every_expression_parse_hides_strip_markers_from_python_hcl2() -> None:
    # a heredoc's sequences are parsed one by one, by the loader's own parsing: a quoted
    # string inside one takes strip markers as one in a file does
    assert _value('<<EOT\n${ "a  ${~ "b"}" }\nEOT\n') == "ab\n"
    assert _value('"a  ${~ "b" ~}  c"') == "abc"
    with pytest.raises(ExpressionError, match="is not one expression"):
        parse_expression("1\nother = 2")


def test_types_check_nested_values() -> None:
    assert normalize_type("list( map(number) )") == "list(map(number))"
    assert normalize_type("lst(number)") is None
    with pytest.raises(
        TypeMismatch, match=r'element \[1\]\["b"\]: a number is required, got string'
    ):
        convert_value([{"a": 1}, {"b": "x"}], "list(map(number))")
    with pytest.raises(TypeMismatch, match="a number is required, got bool"):
        convert_value(True, "number")
    assert convert_value("3", "number") == 3 and convert_value("0.5", "number") == 0.5
    assert convert_value(3, "string") == "3" and convert_value("true", "bool") is True


def _write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_code_closure_follows_local_imports_transitively(tmp_path: Path) -> None:
    _write(tmp_path, "pkg/__init__.py", "")
    _write(
        tmp_path,
        "pkg/step.py",
        "import json\nfrom . import helper\n\ndef run():\n    from pkg.deep import util\n",
    )
    _write(tmp_path, "pkg/helper.py", "from .deep.util import x\n")
    _write(tmp_path, "pkg/deep/__init__.py", "")
    _write(tmp_path, "pkg/deep/util.py", "x = 1\n")
    _write(tmp_path, "pkg/unrelated.py", "y = 2\n")
    index = CodeIndex(tmp_path, StatCache(tmp_path / "cache.json"))
    assert list(index.closure("pkg.step:run")) == [
        "pkg/__init__.py",
        "pkg/deep/__init__.py",
        "pkg/deep/util.py",
        "pkg/helper.py",
        "pkg/step.py",
    ]


def test_code_hash_ignores_comments_formatting_and_docstrings(tmp_path: Path) -> None:
    def code_hash(text: str) -> str:
        _write(tmp_path, "m.py", text)
        return CodeIndex(tmp_path, StatCache(tmp_path / "none.json")).closure("m:f")["m.py"]

    base = code_hash("def f(x):\n    return x + 1\n")
    assert (
        code_hash('"""Doc."""\n# comment\ndef f( x ):\n    """Why."""\n    return x+1  # note\n')
        == base
    )
    assert code_hash("def f(x):\n    return x + 2\n") != base


def test_stat_cache_trusts_unchanged_files_and_distrusts_racy_ones(tmp_path: Path) -> None:
    data = tmp_path / "data.bin"
    data.write_bytes(b"a" * 100)
    old = time.time_ns() - 10_000_000_000
    os.utime(data, ns=(old, old))
    cache = StatCache(tmp_path / "stat.json")
    first = hash_path(data, cache)
    cache.save()
    reloaded = StatCache(tmp_path / "stat.json")
    assert reloaded.get(data, data.stat()) == first
    # same size, same mtime, different bytes: a stale cache would return the old hash
    data.write_bytes(b"b" * 100)
    os.utime(data, ns=(old, old))
    assert reloaded.get(data, data.stat()) == first  # stat identical: trusted by design
    fresh = tmp_path / "fresh.bin"
    fresh.write_bytes(b"x")
    racy = StatCache(tmp_path / "racy.json")
    hash_path(fresh, racy)
    assert racy.get(fresh, fresh.stat()) is None  # modified within the racy window


def test_folder_hash_depends_on_names_and_bytes(tmp_path: Path) -> None:
    _write(tmp_path, "d/a.txt", "1")
    _write(tmp_path, "d/b.txt", "2")
    before = hash_path(tmp_path / "d")
    (tmp_path / "d/b.txt").rename(tmp_path / "d/c.txt")
    assert hash_path(tmp_path / "d") != before


def test_fingerprint_is_canonical_and_sensitive_to_every_component() -> None:
    components = {
        "run": "m:f",
        "code": {"m.py": "h"},
        "params": {"a": 1, "b": [1, 2]},
        "inputs": {},
        "outputs": ["output"],
    }
    reordered = {
        "outputs": ["output"],
        "inputs": {},
        "params": {"b": [1, 2], "a": 1},
        "code": {"m.py": "h"},
        "run": "m:f",
    }
    assert fingerprint(components) == fingerprint(reordered)
    assert fingerprint({**components, "params": {"a": 1, "b": [2, 1]}}) != fingerprint(components)
    # "ab" + "c" and "a" + "bc" must not collide
    assert fingerprint({**components, "run": "ab", "code": {"c": ""}}) != fingerprint(
        {**components, "run": "a", "code": {"bc": ""}}
    )


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ({"a": [1, 2.5, None, True]}, "json"),
        ("text", "text"),
        (b"\x00\x01", "bytes"),
        (numpy.arange(6).reshape(2, 3), "numpy"),
        (pandas.DataFrame({"x": [1, 2], "y": ["a", "b"]}), "pandas"),
        ((1, 2), "joblib"),
        ({"nan": float("nan")}, "joblib"),
    ],
)
def test_materializers_round_trip_deterministically(value: object, kind: str) -> None:
    name, data = materializers.dump(value)
    assert name == kind
    assert materializers.dump(value)[1] == data  # same value, same bytes, same hash
    loaded = materializers.load(name, data)
    if isinstance(value, pandas.DataFrame):
        pandas.testing.assert_frame_equal(loaded, value)
    elif isinstance(value, numpy.ndarray):
        numpy.testing.assert_array_equal(loaded, value)
    elif kind == "joblib" and isinstance(value, dict):
        assert numpy.isnan(loaded["nan"])
    else:
        assert loaded == value


def test_schema_head_matches_the_newest_migration() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_HEAD


def test_atomic_writes_replace_whole_files_privately_and_leave_nothing_behind(
    tmp_path: Path,
) -> None:
    from zenctl.paths import write_atomic

    target = tmp_path / "state.json"
    write_atomic(target, "first")
    write_atomic(target, b"second")
    assert target.read_text() == "second"
    assert target.stat().st_mode & 0o777 == 0o600
    shared = tmp_path / "plan.json"
    umask = os.umask(0o022)
    try:
        write_atomic(shared, "plan", mode=0o666)
    finally:
        os.umask(umask)
    assert shared.stat().st_mode & 0o777 == 0o644
    (tmp_path / "folder").mkdir()
    with pytest.raises(OSError):  # a rename over a folder fails: the temporary goes too
        write_atomic(tmp_path / "folder", "x")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["folder", "plan.json", "state.json"]


def test_a_zombie_or_exited_process_is_not_alive() -> None:
    import subprocess
    import sys

    from zenctl.processes import pid_alive

    assert pid_alive(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 30
    while pid_alive(child.pid) and time.monotonic() < deadline:  # exited, not reaped yet
        time.sleep(0.01)
    assert not pid_alive(child.pid)
    child.wait()
    assert not pid_alive(child.pid)
