"""A step's code hash covers what its function reaches: each rule of the reach, each fallback to
a whole module with its reason, and the same through the CLI (zenctl/fingerprint/code.py)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from conftest import Project
from test_plan_apply import step_lines

from zenctl.fingerprint.code import CodeIndex, Reach
from zenctl.fingerprint.files import StatCache


def _reach(root: Path, files: dict[str, str], run: str = "steps:train") -> Reach:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return CodeIndex(root, StatCache(root / "none.json")).reach(run)


def _same(
    root: Path, before: dict[str, str], after: dict[str, str], run: str = "steps:train"
) -> bool:
    """Whether the edit from `before` to `after` (the files it rewrites) keeps `run`'s code hash."""
    first = _reach(root, before, run).files
    return _reach(root, after, run).files == first


STEPS = """
import helpers

SCALE = 3
OTHER = 4


def _double(x):
    return x * 2


def unrelated(x):
    return x - 1


def train(x):
    return _double(x) * SCALE + helpers.clean(x)
"""

HELPERS = """
def clean(x):
    return x


def noise(x):
    return x + 1
"""

BASE = {"steps.py": STEPS, "helpers.py": HELPERS}


@pytest.mark.parametrize(
    "edit",
    [
        ("steps.py", "return x - 1", "return x - 2"),  # an unrelated function
        ("steps.py", "OTHER = 4", "OTHER = 5"),  # an unrelated constant
        ("helpers.py", "return x + 1", "return x + 2"),  # an unrelated helper elsewhere
        ("steps.py", "def train(x):", "# why\ndef train( x ):"),  # comments and layout
        ("steps.py", "def unrelated(x):", "@staticmethod\ndef unrelated(x):"),
    ],
)
def test_an_edit_outside_the_reach_keeps_the_hash(
    tmp_path: Path, edit: tuple[str, str, str]
) -> None:
    file, old, new = edit
    assert _same(tmp_path, BASE, {file: BASE[file].replace(old, new)})


@pytest.mark.parametrize(
    "edit",
    [
        ("steps.py", "return x * 2", "return x * 3"),  # a helper it calls
        ("steps.py", "SCALE = 3", "SCALE = 5"),  # a constant it reads
        ("helpers.py", "def clean(x):\n    return x", "def clean(x):\n    return -x"),
        ("steps.py", "def train(x):", "@staticmethod\ndef train(x):"),  # a decorator added
        ("steps.py", "import helpers", "import helpers as helpers"),  # an import it uses
    ],
)
def test_an_edit_inside_the_reach_changes_the_hash(
    tmp_path: Path, edit: tuple[str, str, str]
) -> None:
    file, old, new = edit
    assert not _same(tmp_path, BASE, {file: BASE[file].replace(old, new)})


def test_renaming_a_reached_helper_changes_the_hash(tmp_path: Path) -> None:
    renamed = STEPS.replace("_double", "_twice")
    assert not _same(tmp_path, BASE, {"steps.py": renamed})


def test_explain_names_the_reached_definitions_per_file(tmp_path: Path) -> None:
    assert _reach(tmp_path, BASE).explain() == [
        "helpers.py: clean",
        "steps.py: helpers, SCALE, _double, train",
    ]


def test_defaults_and_decorators_are_part_of_a_definition(tmp_path: Path) -> None:
    steps = """
    import functools

    LIMIT = 2
    SIZE = 8


    @functools.lru_cache(maxsize=SIZE)
    def train(x, limit=LIMIT):
        return min(x, limit)
    """
    base = {"steps.py": steps}
    assert not _same(
        tmp_path, base, {"steps.py": textwrap.dedent(steps).replace("LIMIT = 2", "LIMIT = 3")}
    )
    assert not _same(
        tmp_path, base, {"steps.py": textwrap.dedent(steps).replace("SIZE = 8", "SIZE = 9")}
    )


def test_a_reached_class_is_its_whole_body_and_its_bases(tmp_path: Path) -> None:
    steps = """
    class Base:
        def scale(self):
            return 2


    class Model(Base):
        def unused(self):
            return 0

        def fit(self, x):
            return x * self.scale()


    def train(x):
        return Model().fit(x)
    """
    base = {"steps.py": steps}
    text = textwrap.dedent(steps)
    assert not _same(tmp_path, base, {"steps.py": text.replace("return 0", "return 1")})
    assert not _same(tmp_path, base, {"steps.py": text.replace("return 2", "return 3")})


def test_every_statement_that_binds_a_reached_name_is_reached(tmp_path: Path) -> None:
    steps = """
    try:
        import numpy as np
    except ImportError:
        np = None

    WIDTH = 1
    if True:
        WIDTH = 2
    for EXTRA in range(3):
        pass


    def train(x):
        return (np, WIDTH, EXTRA, x)
    """
    base = {"steps.py": steps}
    text = textwrap.dedent(steps)
    assert not _same(tmp_path, base, {"steps.py": text.replace("np = None", "np = 0")})
    assert not _same(tmp_path, base, {"steps.py": text.replace("WIDTH = 1", "WIDTH = 0")})
    assert not _same(tmp_path, base, {"steps.py": text.replace("if True:", "if False:")})
    assert not _same(tmp_path, base, {"steps.py": text.replace("range(3)", "range(4)")})


def test_a_function_that_declares_a_reached_name_global_is_reached(tmp_path: Path) -> None:
    steps = """
    COUNT = 0


    def bump():
        global COUNT
        COUNT += 1


    def train(x):
        bump()
        return COUNT + x
    """
    text = textwrap.dedent(steps)
    assert not _same(tmp_path, {"steps.py": steps}, {"steps.py": text.replace("+= 1", "+= 2")})


def test_nested_functions_lambdas_and_comprehensions_are_part_of_the_body(tmp_path: Path) -> None:
    steps = """
    def a(x):
        return x


    def b(x):
        return x


    def c(x):
        return x


    def train(xs):
        def inner(x):
            return a(x)

        key = lambda x: b(x)
        return sorted((inner(x) for x in xs), key=key) + [c(x) for x in xs]
    """
    text = textwrap.dedent(steps)
    for name in "abc":
        edited = text.replace(f"def {name}(x):\n    return x", f"def {name}(x):\n    return -x")
        assert not _same(tmp_path, {"steps.py": steps}, {"steps.py": edited}), name


def test_from_imports_are_followed_to_the_definition_transitively(tmp_path: Path) -> None:
    files = {
        "steps.py": "from pkg import clean\n\ndef train(x):\n    return clean(x)\n",
        "pkg/__init__.py": "from pkg.impl import clean\n",
        "pkg/impl.py": "from pkg.core import clean\n\ndef other():\n    return 1\n",
        "pkg/core.py": "def clean(x):\n    return x\n\ndef spare():\n    return 2\n",
    }
    reach = _reach(tmp_path, files)
    assert reach.labels == {
        "pkg/__init__.py": ["clean"],
        "pkg/core.py": ["clean"],
        "pkg/impl.py": ["clean"],
        "steps.py": ["clean", "train"],
    }
    assert _same(tmp_path, files, {"pkg/core.py": files["pkg/core.py"].replace("2", "3")})
    assert not _same(tmp_path, files, {"pkg/core.py": files["pkg/core.py"].replace("x\n", "-x\n")})


def test_dotted_module_uses_reach_only_the_attribute(tmp_path: Path) -> None:
    files = {
        "steps.py": "import pkg.sub\n\ndef train(x):\n    return pkg.sub.clean(x)\n",
        "pkg/__init__.py": "",
        "pkg/sub.py": "def clean(x):\n    return x\n\ndef spare():\n    return 2\n",
    }
    assert _reach(tmp_path, files).labels["pkg/sub.py"] == ["clean"]
    assert _same(tmp_path, files, {"pkg/sub.py": files["pkg/sub.py"].replace("2", "3")})


def test_a_module_imported_but_not_used_counts_as_present(tmp_path: Path) -> None:
    """Deleting it fails the import: the step's code changed."""
    files = {"steps.py": "import spare\n\ndef train(x):\n    return x\n", "spare.py": "X = 1\n"}
    reach = _reach(tmp_path, files)
    assert reach.labels["spare.py"] == [] and "spare.py: imported, nothing used" in reach.explain()
    assert _same(tmp_path, files, {"spare.py": "X = 2\n"})
    (tmp_path / "spare.py").unlink()
    assert "spare.py" not in _reach(tmp_path, {}).files


def test_the_step_folder_is_searched_after_the_root(tmp_path: Path) -> None:
    """DVC's layout: `src/train.py` runs with `src/` on sys.path."""
    files = {
        "src/train.py": "from utils import clean\n\ndef fit(x):\n    return clean(x)\n",
        "src/utils.py": "def clean(x):\n    return x\n",
    }
    reach = _reach(tmp_path, files, "src.train:fit")
    assert reach.labels["src/utils.py"] == ["clean"]
    edited = {"src/utils.py": "def clean(x):\n    return -x\n"}
    assert not _same(tmp_path, files, edited, "src.train:fit")


@pytest.mark.parametrize(
    ("steps", "why"),
    [
        ("def train(x):\n    return globals()['helper'](x)\n", "globals() in train"),
        ("def train(x):\n    return eval('x')\n", "eval() in train"),
        ("def train(x):\n    exec('y = x')\n", "exec() in train"),
        (
            "import importlib\n\ndef train(x):\n    return importlib.import_module('m')\n",
            "importlib.import_module in train",
        ),
        (
            "import sys\n\ndef train(x):\n    return sys.modules[__name__]\n",
            "sys.modules in train",
        ),
        (
            "import random\nrandom.seed(0)\n\ndef train(x):\n    return x\n",
            "module-level code `random.seed(0)` (line 2)",
        ),
        (
            "import sys\nsys.path.insert(0, 'lib')\n\ndef train(x):\n    return x\n",
            "module-level code `sys.path.insert(0, 'lib')` (line 2)",
        ),
        (
            "import math\nmath.pi = 3\n\ndef train(x):\n    return x\n",
            "module-level assignment to `math.pi` (line 2)",
        ),
        (
            "TABLE = {}\nTABLE['a'] = 1\n\ndef train(x):\n    return x\n",
            "module-level assignment to `TABLE['a']` (line 2)",
        ),
        (
            "from helpers import *\n\ndef train(x):\n    return x\n",
            "`from helpers import *` (line 1)",
        ),
        ("helper = 1\n", "`train` is not defined there statically (used in train)"),
        (
            "_ = exec('def train(x): return x')\n",
            "exec() at module level (line 1)",
        ),
        ("def train(x):\n    return (x\n", "does not parse"),
    ],
)
def test_what_cannot_be_followed_hashes_the_whole_module_and_says_why(
    tmp_path: Path, steps: str, why: str
) -> None:
    files = {"steps.py": steps + "\n\ndef unrelated():\n    return 1\n", "helpers.py": HELPERS}
    reach = _reach(tmp_path, files)
    assert reach.whole["steps.py"] == why
    assert f"steps.py hashed whole: {why}" in reach.explain()
    edited = {"steps.py": files["steps.py"].replace("return 1", "return 2")}
    assert not _same(tmp_path, files, edited)


def test_a_star_import_hashes_the_module_it_reads_whole(tmp_path: Path) -> None:
    files = {
        "steps.py": "from helpers import *\n\ndef train(x):\n    return clean(x)\n",
        "helpers.py": HELPERS,
    }
    assert _reach(tmp_path, files).whole["helpers.py"] == "`from helpers import *` in steps.py"
    assert not _same(tmp_path, files, {"helpers.py": HELPERS.replace("x + 1", "x + 2")})


def test_a_module_used_as_a_value_is_hashed_whole(tmp_path: Path) -> None:
    files = {
        "steps.py": "import helpers\n\ndef train(x, name):\n    return getattr(helpers, name)(x)\n",
        "helpers.py": HELPERS,
    }
    assert _reach(tmp_path, files).whole == {"helpers.py": "the module is used as a value in train"}
    assert not _same(tmp_path, files, {"helpers.py": HELPERS.replace("x + 1", "x + 2")})


def test_a_module_imported_by_a_constant_name_is_hashed_whole(tmp_path: Path) -> None:
    files = {
        "steps.py": "import importlib\n\ndef train(x):\n"
        "    return importlib.import_module('helpers').clean(x)\n",
        "helpers.py": HELPERS,
    }
    assert _reach(tmp_path, files).whole == {
        "helpers.py": "imported by name in train",
        "steps.py": "importlib.import_module in train",
    }
    assert not _same(tmp_path, files, {"helpers.py": HELPERS.replace("x + 1", "x + 2")})


def test_an_unknown_attribute_of_a_project_module_hashes_it_whole(tmp_path: Path) -> None:
    files = {
        "steps.py": "import helpers\n\ndef train(x):\n    return helpers.__dict__\n",
        "helpers.py": HELPERS,
    }
    assert (
        "`__dict__` is not defined there statically" in _reach(tmp_path, files).whole["helpers.py"]
    )


def test_code_that_runs_the_projects_code_on_import_is_always_reached(tmp_path: Path) -> None:
    """A decorator that fills a registry the step reads: the registered functions count."""
    steps = """
    REGISTRY = {}


    def register(function):
        REGISTRY[function.__name__] = function
        return function


    @register
    def plugin(x):
        return x


    def unrelated(x):
        return x


    def train(x):
        return REGISTRY["plugin"](x)
    """
    text = textwrap.dedent(steps)
    assert "plugin" in _reach(tmp_path, {"steps.py": steps}).labels["steps.py"]
    plugin = text.replace("def plugin(x):\n    return x", "def plugin(x):\n    return -x")
    assert not _same(tmp_path, {"steps.py": steps}, {"steps.py": plugin})
    unrelated = text.replace("def unrelated(x):\n    return x", "def unrelated(x):\n    return -x")
    assert _same(tmp_path, {"steps.py": steps}, {"steps.py": unrelated})


def test_a_subclass_of_a_project_class_is_always_reached(tmp_path: Path) -> None:
    """`__init_subclass__` (or a metaclass) runs on import: a subclass may register itself."""
    steps = """
    class Base:
        known = []

        def __init_subclass__(cls):
            Base.known.append(cls.__name__)


    class Plugin(Base):
        pass


    def train(x):
        return Base.known
    """
    assert _reach(tmp_path, {"steps.py": steps}).labels["steps.py"] == ["Base", "Plugin", "train"]


def test_the_classes_of_a_module_the_step_runs_count(tmp_path: Path) -> None:
    """An input may be an instance of one: pickled by reference, its methods run without the
    step naming its class."""
    steps = """
    class Scaler:
        def apply(self, x):
            return x * 2


    def fit():
        return Scaler()


    def unrelated(x):
        return x


    def train(scaler, x):
        return scaler.apply(x)
    """
    text = textwrap.dedent(steps)
    assert "Scaler" in _reach(tmp_path, {"steps.py": steps}).labels["steps.py"]
    assert not _same(tmp_path, {"steps.py": steps}, {"steps.py": text.replace("* 2", "* 3")})
    unrelated = text.replace("def unrelated(x):\n    return x", "def unrelated(x):\n    return -x")
    assert _same(tmp_path, {"steps.py": steps}, {"steps.py": unrelated})


def test_a_main_guard_is_no_side_effect(tmp_path: Path) -> None:
    steps = STEPS + "\n\nif __name__ == '__main__':\n    print(train(1))\n"
    assert _reach(tmp_path, {**BASE, "steps.py": steps}).whole == {}


def test_imports_that_cycle_end(tmp_path: Path) -> None:
    files = {
        "steps.py": "from a import f\n\ndef train(x):\n    return f(x)\n",
        "a.py": "from b import f\n",
        "b.py": "from a import f\n",
    }
    assert set(_reach(tmp_path, files).files) == {"a.py", "b.py", "steps.py"}


# Through the CLI: the plan a user reads


def test_an_unrelated_edit_keeps_the_step_cached_and_a_helper_edit_reruns_it(
    project: Project,
) -> None:
    assert project.apply().code == 0
    pipeline = project.root / "steps/pipeline.py"
    pipeline.write_text(pipeline.read_text().replace('"the model diverged"', '"it diverged"'))
    assert "No changes. 5 steps cached." in project.run("plan").out

    helpers = project.root / "steps/helpers.py"
    helpers.write_text(helpers.read_text().replace("n * factor", "n * factor + 0"))
    plan = project.run("plan")
    lines = step_lines(plan.out)
    assert lines["features"].startswith("~ run: changed"), plan.out
    assert "~ code: steps/helpers.py" in plan.out
    assert lines["prep"] == "= cached" and lines["report"] == "= cached"


def test_explain_names_what_each_step_covers_and_the_fallback_reason(project: Project) -> None:
    pipeline = project.root / "steps/pipeline.py"
    text = pipeline.read_text()
    pipeline.write_text(
        text.replace(
            "def report(numbers: list[int]) -> str:\n",
            "def report(numbers: list[int]) -> str:\n    globals()\n",
        )
    )
    plan = project.run("plan", "--explain")
    assert plan.code == 0, plan.both
    after = plan.out.split("What each step's code fingerprint covers:")[1]
    assert "  pipeline.demo.step.features\n" in after
    assert "      code: steps/helpers.py: scale_all\n" in after
    assert "      code: steps/pipeline.py: scale_all, features\n" in after
    assert "      code: steps/pipeline.py hashed whole: globals() in report\n" in after

    refused = project.run("plan", "-explain", "--json")
    assert refused.code == 1 and "Error: Conflicting output options" in refused.err


def test_a_method_of_an_input_instance_edited_reruns_the_step(tmp_path: Path) -> None:
    """The instance's bytes do not change with its class's code: the consumer must re-run."""
    project = Project(tmp_path)
    steps = """
    class Scaler:
        def apply(self, x):
            return x * 2


    def fit():
        return Scaler()


    def use(scaler):
        return scaler.apply(10)
    """
    project.write("steps.py", steps)
    project.write(
        "main.zc.hcl",
        'pipeline "demo" {\n  step "fit" {\n    run = "steps:fit"\n  }\n'
        '  step "use" {\n    run    = "steps:use"\n'
        "    inputs = { scaler = step.fit.outputs.output }\n  }\n}\n",
    )
    assert project.apply().code == 0
    project.write("steps.py", textwrap.dedent(steps).replace("x * 2", "x * 3"))
    applied = project.apply()
    assert "Apply complete! 2 ran" in applied.out, applied.out
    shown = project.run("show", "pipeline.demo.step.use")
    output = re.search(r"(file://\S+)", shown.out)
    assert output and Path(output[1].removeprefix("file://")).read_text() == "30", shown.out


def test_a_step_in_a_folder_imports_its_sibling_modules(tmp_path: Path) -> None:
    """DVC's layout: `src/train.py` does `from utils import ...` with `src/utils.py` beside it."""
    project = Project(tmp_path)
    project.write("src/train.py", "from utils import offset\n\ndef fit():\n    return offset(1)\n")
    project.write(
        "src/utils.py", "def offset(x):\n    return x + 1\n\ndef spare():\n    return 0\n"
    )
    project.write(
        "main.zc.hcl",
        'pipeline "demo" {\n  step "fit" {\n    run = "src.train:fit"\n  }\n}\n',
    )
    applied = project.apply()
    assert applied.code == 0 and "1 ran" in applied.out, applied.both

    project.write(
        "src/utils.py", "def offset(x):\n    return x + 1\n\ndef spare():\n    return 1\n"
    )
    cached = project.run("plan")
    assert "No changes. 1 steps cached." in cached.out, cached.both
    project.write("src/utils.py", "def offset(x):\n    return x + 2\n")
    plan = project.run("plan")
    assert "~ code: src/utils.py" in plan.out, plan.out
    assert "1 ran" in project.apply().out
    shown = project.run("show", "pipeline.demo.step.fit")
    assert "3" in shown.out, shown.out


def test_an_older_zenctls_code_cache_entry_is_read_again(tmp_path: Path) -> None:
    """Up to fingerprint version 2 `code.json` held `[file hash, imports]` per file."""
    (tmp_path / "steps.py").write_text(textwrap.dedent(STEPS).lstrip())
    (tmp_path / "helpers.py").write_text(textwrap.dedent(HELPERS).lstrip())
    cache = StatCache(tmp_path / "code.json")
    for name in ("steps.py", "helpers.py"):
        path = tmp_path / name
        stat = path.stat()
        cache.entries[str(path)] = [stat.st_ino, stat.st_size, stat.st_mtime_ns, 1 << 62, ["h", []]]
    fresh = CodeIndex(tmp_path, StatCache(tmp_path / "none.json")).closure("steps:train")
    assert CodeIndex(tmp_path, cache).closure("steps:train") == fresh
    assert isinstance(cache.entries[str(tmp_path / "steps.py")][4], dict)
