"""Caches that must never make a plan say "cached" wrongly: the stat caches, the parsed-config
cache, the code hash's normal form, numbers as written, and artifacts' bytes."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from conftest import Project
from test_plan_apply import step_lines


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


@pytest.mark.stateless  # validate only: no store is opened
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
