"""Caches that must never make a plan say "cached" wrongly: the stat caches, the parsed-config
cache, the code hash's normal form, numbers as written, and artifacts' bytes."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import Project
from test_plan_apply import step_lines

from zenctl.fingerprint.code import CodeIndex
from zenctl.fingerprint.files import StatCache
from zenctl.fingerprint.step import FINGERPRINT_VERSION, fingerprint
from zenctl.fingerprint.tokens import normal_form


def _age(root: Path) -> None:
    """Date every file a minute back, so the stat caches trust what they record at once."""
    then = time.time_ns() - 60_000_000_000
    for path in root.rglob("*"):
        if path.is_file() and ".zenctl" not in path.parts:
            os.utime(path, ns=(then, then))


def test_a_file_both_source_and_code_keeps_its_imports(project: Project) -> None:
    for name in ("steps/pipeline.py", "steps/helpers.py", "data/raw.txt"):
        (project.root / name).unlink()
    project.write("steps/util.py", "def twice(x):\n    return 2 * x\n")
    project.write(
        "steps/helper.py", "from steps.util import twice\n\ndef double(x):\n    return twice(x)\n"
    )
    project.write(
        "steps/step.py",
        "from pathlib import Path\n\nfrom steps.helper import double\n\n\n"
        "def run(script: Path) -> int:\n    return double(len(script.read_text()))\n",
    )
    project.write(
        "main.zc.hcl",
        """
        pipeline "demo" {
          source "script" {
            path = "steps/helper.py"
          }
          step "use" {
            run    = "steps.step:run"
            inputs = { script = source.script }
          }
        }
        """,
    )
    _age(project.root)
    assert project.apply().code == 0
    assert "No changes. 1 steps cached." in project.run("plan").out

    project.write("steps/util.py", "def twice(x):\n    return 3 * x\n")
    plan = project.run("plan")
    assert step_lines(plan.out)["use"].startswith("~ run: changed"), plan.out
    assert "~ code: steps/util.py" in plan.out


def _fake_provider(site: Path, version: str | None) -> None:
    """What pip install (a version) or pip uninstall (None) leaves on sys.path."""
    for info in site.glob("fakeprov-*.dist-info"):
        for file in info.iterdir():
            file.unlink()
        info.rmdir()
    if version is None:
        return
    (site / "fakeprov.py").write_text(
        "from zenctl.providers.protocol import Provider\n"
        f'PROVIDER = Provider("fake", "{version}", ())\n'
    )
    info = site / f"fakeprov-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: fakeprov\nVersion: {version}\n")
    (info / "entry_points.txt").write_text("[zenctl.providers]\nfake = fakeprov:PROVIDER\n")


def test_the_config_cache_sees_providers_installed_removed_or_upgraded(
    project: Project, tmp_path_factory: pytest.TempPathFactory
) -> None:
    site = tmp_path_factory.mktemp("site")
    paths = [str(site), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {
        "PYTHONPATH": os.pathsep.join(paths),
        "XDG_CACHE_HOME": str(tmp_path_factory.mktemp("home-cache")),
    }
    project.write("versions.zc.hcl", 'zenctl {\n  required_providers { fake = "< 10" }\n}\n')
    project.end_to_end = True  # each run a new interpreter: providers come and go

    def validate(cold: bool = False) -> str:
        if cold:
            shutil.rmtree(project.root / ".zenctl" / "cache", ignore_errors=True)
        result = project.run("validate", env=env)
        assert "Traceback" not in result.both
        return result.both

    _fake_provider(site, "9.9")
    assert "Success" in validate() and "Success" in validate()  # cold, then from the cache

    _fake_provider(site, None)
    removed = validate()
    assert 'Required provider "fake" is not installed' in removed
    assert removed == validate(cold=True)

    _fake_provider(site, "9.9")
    assert "Success" in validate()
    _fake_provider(site, "10.0")
    upgraded = validate()
    assert 'Provider "fake" 10.0 does not satisfy "< 10"' in upgraded
    assert upgraded == validate(cold=True)


def _code_hash(tmp_path: Path, text: str) -> str:
    """The hash of the whole file, as a module that cannot be analysed is hashed."""
    (tmp_path / "m.py").write_text(text)
    return CodeIndex(tmp_path, StatCache(tmp_path / "none.json")).definitions(tmp_path / "m.py")[
        "hash"
    ]


BASE = """
import os


def f(x, y):
    total = os.sep.join([x,
                         y])
    return total + 'a' + str(0x10)


class A:
    def g(self):
        return 1
"""

SAME = [  # comments, blank lines, continuation indent, docstrings, quote style, number spelling
    BASE.replace("import os\n", "# a comment\nimport os  # why\n\n\n"),
    BASE.replace("                         y])", "        y])"),
    BASE.replace("def f(x, y):\n", 'def f( x,y ):\n    """What f does."""\n'),
    '"""The module."""\n' + BASE.replace("class A:\n", 'class A:\n    "Doc" "string"\n'),
    BASE.replace("'a'", '"a"').replace("0x10", "16"),
]

DIFFERENT = [  # real edits, including ones an ill-made normal form would confuse
    BASE.replace("total + 'a'", "total + 'b'"),
    BASE.replace("str(0x10)", "str(0x11)"),
    BASE.replace("return 1", "return (1,)"),
    BASE.replace("        return 1", "        pass\n    return 1"),
    BASE.replace("def g(self):\n        return 1", 'def g(self): "doc"\n    x = 1'),
    BASE.replace("os.sep", "f'{os.sep}'"),
]


def test_code_hash_ignores_layout_comments_and_docstrings_not_edits(tmp_path: Path) -> None:
    base = _code_hash(tmp_path, BASE)
    assert [_code_hash(tmp_path, text) for text in SAME] == [base] * len(SAME)
    hashes = {_code_hash(tmp_path, text) for text in DIFFERENT}
    assert len(hashes) == len(DIFFERENT) and base not in hashes


def test_code_normal_form_is_tokens_not_an_ast_dump(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ast.dump differs between Python versions; the tokens of a file do not."""
    assert normal_form(b'"""Doc."""\ndef f(x):  # c\n    return f"{x}" + 0x1\n') == [
        "NAME def", "NAME f", "OP (", "NAME x", "OP )", "OP :", "NEWLINE", "INDENT",
        "NAME return", 'STRING f"{x}"', "OP +", "NUMBER 1", "NEWLINE", "DEDENT",
    ]  # fmt: skip

    def refuse(*args: object, **kwargs: object) -> str:
        raise AssertionError("ast.dump is not version-stable")

    expected = _code_hash(tmp_path, BASE)
    monkeypatch.setattr(ast, "dump", refuse)
    assert _code_hash(tmp_path, BASE) == expected


def _other_pythons() -> list[str]:
    """Interpreters of the other supported minor versions on this machine (PATH or pyenv)."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = []
    for minor in (11, 12, 13):
        if minor == sys.version_info.minor:
            continue
        candidates = [str(p) for p in sorted(pyenv.glob(f"3.{minor}.*/bin/python"))]
        candidates.append(shutil.which(f"python3.{minor}") or "")
        found += [c for c in candidates if c and "/shims/" not in c][:1]  # pyenv's may not run
    return found


def test_code_normal_form_is_the_same_on_other_python_versions(tmp_path: Path) -> None:
    """Every zenctl source file (f-strings, docstrings, nesting of all kinds) and the samples
    above give the same normal form under each other Python installed."""
    pythons = _other_pythons()
    if not pythons:
        pytest.skip("no other Python 3.11-3.13 on this machine")
    root = Path(__file__).resolve().parent.parent
    files = sorted(str(path) for path in (root / "zenctl").rglob("*.py"))
    for index, text in enumerate([BASE, *SAME, *DIFFERENT]):
        (tmp_path / f"sample{index}.py").write_text(text)
        files.append(str(tmp_path / f"sample{index}.py"))
    script = (
        "import json, sys\nsys.path.insert(0, sys.argv[1])\n"
        "from zenctl.fingerprint.tokens import normal_form\n"
        "print(json.dumps([normal_form(open(f, 'rb').read()) for f in sys.argv[2:]]))\n"
    )
    here = [normal_form(Path(file).read_bytes()) for file in files]
    for python in pythons:
        done = subprocess.run(
            [python, "-I", "-c", script, str(root), *files],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == here, python


def test_an_upgrade_of_the_fingerprint_format_says_so(project: Project) -> None:
    """Executions recorded by a zenctl whose fingerprints were made another way run once, and
    the plan says why instead of listing every code file as changed."""
    assert project.apply().code == 0
    for id_, text in project.sql("SELECT id, components FROM step_executions"):
        recorded = json.loads(text)
        recorded["code"] = {path: "0" * 64 for path in recorded["code"]}  # the old scheme's
        project.sql(
            "UPDATE step_executions SET components = :c, fingerprint = :f WHERE id = :id",
            c=json.dumps(recorded, sort_keys=True),
            f=fingerprint(recorded, 1),
            id=id_,
        )
    plan = project.run("plan")
    note = f"(zenctl's fingerprint format changed: 1 -> {FINGERPRINT_VERSION})"
    assert step_lines(plan.out)["prep"].startswith(f"~ run: changed {note}"), plan.out
    assert "code:" not in plan.out
    assert project.apply().code == 0
    assert "No changes. 5 steps cached." in project.run("plan").out


NUMBERS = """
variable "n" {
  type    = number
  default = 50
}

pipeline "demo" {
  step "fit" {
    run    = "steps.fit:fit"
    params = { n = var.n, literal = LITERAL }
  }
}
"""


def test_a_number_reaches_the_step_as_written_and_is_hashed_so(project: Project) -> None:
    """`50` and `50.0` are different Python values (an estimator rejects max_iter=50.0), so
    the step receives the number as written and the fingerprint hashes exactly that."""
    project.write(
        "steps/fit.py",
        "def fit(n, literal) -> str:\n"
        "    return f'{type(n).__name__} {n!r} {type(literal).__name__} {literal!r}'\n",
    )
    project.write("main.zc.hcl", NUMBERS.replace("LITERAL", "50"))

    def received(*args: str, env: dict[str, str] | None = None) -> str:
        # --replace: a value seen before would be reused, and `show` prints the latest run
        assert project.apply(*args, "--replace", "pipeline.demo.step.fit", env=env).code == 0
        shown = project.run("show", "pipeline.demo.step.fit").out
        uri = next(word for word in shown.split() if word.startswith("file://"))
        return Path(uri.removeprefix("file://")).read_text()

    assert received() == "int 50 int 50"
    plan = project.run("plan", "--var", "n=50.0")
    assert "~ params.n: 50 -> 50.0" in plan.out
    assert step_lines(plan.out)["fit"].startswith("~ run: changed")
    assert received("--var", "n=50.0") == "float 50.0 int 50"
    assert received("--var", "n=50") == "int 50 int 50"
    assert received(env={"ZENCTL_VAR_n": "5e1"}) == "float 50.0 int 50"
    project.write("my.auto.zcvars", "n = 50.0\n")
    assert received() == "float 50.0 int 50"
    (project.root / "my.auto.zcvars").unlink()

    project.write("main.zc.hcl", NUMBERS.replace("LITERAL", "50.0"))
    assert "~ params.literal: 50 -> 50.0" in project.run("plan").out
    assert received() == "int 50 float 50.0"
    project.write("main.zc.hcl", NUMBERS.replace("LITERAL", "[1e3, 12345678901234567891]"))
    assert received() == "int 50 list [1000.0, 12345678901234567891]"


DUMP_EVERY_MATERIALIZER = """
import sys

import numpy
import pandas

from zenctl.artifacts import materializers
from zenctl.fingerprint.files import hash_bytes

words = {f"word{i}" for i in range(40)}
values = [
    {"b": [1, 2.5, None, True], "a": "x"},
    "text",
    b"bytes",
    numpy.arange(6).reshape(2, 3),
    pandas.DataFrame({"a": [1, 2], "b": ["x", "y"]}),
    words,
    frozenset(words),
    {"tags": words, "nested": [{"deep": frozenset(words)}]},
    (1, "a", words),
    {1, "a", (2, "b"), frozenset({"p", "q"}), None, 2.5},
    numpy.array([words, "x"], dtype=object),
    (pandas.DataFrame({"tags": [frozenset(words), "x"]}), 1),
]
for value in values:
    name, data = materializers.dump(value)
    print(name, hash_bytes(data))
"""


def test_every_materializer_writes_the_same_bytes_whatever_the_hash_seed(tmp_path: Path) -> None:
    def dumped(seed: str) -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", DUMP_EVERY_MATERIALIZER],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.splitlines()

    first = dumped("1")
    assert {line.split()[0] for line in first} == {
        "json", "text", "bytes", "numpy", "pandas", "joblib",
    }  # fmt: skip
    assert dumped("2") == first and dumped("3") == first


def test_a_set_output_reproduced_under_another_hash_seed_keeps_downstream_cached(
    project: Project,
) -> None:
    project.write(
        "steps/pipeline.py",
        "def words() -> set:\n    return {f'word{i}' for i in range(40)}\n\n\n"
        "def count(words: set) -> int:\n    return len(words)\n",
    )
    project.write(
        "main.zc.hcl",
        """
        pipeline "demo" {
          step "words" {
            run = "steps.pipeline:words"
          }
          step "count" {
            run    = "steps.pipeline:count"
            inputs = { words = step.words.outputs.output }
          }
        }
        """,
    )
    project.end_to_end = True  # the hash seed is read when Python starts
    assert project.apply(env={"PYTHONHASHSEED": "1"}).code == 0
    rerun = project.apply("--replace", "pipeline.demo.step.words", env={"PYTHONHASHSEED": "2"})
    assert "1 ran, 1 cached" in rerun.out, rerun.out
