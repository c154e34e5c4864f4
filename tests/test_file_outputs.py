"""Steps that return a file or a directory (docs/artifacts.md), through the CLI."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest
from conftest import Project

STEPS = """
import os
import tempfile
from pathlib import Path

HERE = Path(__file__).parent


def build(n):
    out = Path(tempfile.mkdtemp())
    (out / "sub").mkdir()
    (out / "a.txt").write_text("same")
    (out / "sub" / "b.txt").write_text("same")
    (out / "n.txt").write_text(str(n))
    (out / "run.sh").write_text("#!/bin/sh")
    os.chmod(out / "run.sh", 0o755)
    return out


def model(k):
    out = Path(tempfile.mkdtemp()) / "model.bin"
    out.write_bytes(b"weights" * k)
    return out


def read(folder, weights, tag):
    (folder / "a.txt").write_text("scribbled by the reader")  # its own copy: harmless
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    return {
        "files": files,
        "n": (folder / "n.txt").read_text(),
        "executable": os.access(folder / "run.sh", os.X_OK),
        "weights": len(weights.read_bytes()),
        "is_path": isinstance(folder, Path) and weights.name == "weights",
    }


def stale(folder):
    return folder.joinpath("a.txt").read_text()
"""

MAIN = """
pipeline "p" {
  step "build" {
    run    = "steps.files:build"
    params = { n = 1 }
  }
  step "model" {
    run    = "steps.files:model"
    params = { k = 2 }
  }
  step "read" {
    run    = "steps.files:read"
    inputs = { folder = step.build.outputs.output, weights = step.model.outputs.output }
    params = { tag = "a" }
  }
}
"""


def make(project: Project) -> Project:
    project.write("steps/__init__.py", "")
    project.write("steps/files.py", STEPS)
    project.write("main.zc.hcl", MAIN)
    return project


def outputs(project: Project, step: str) -> dict[str, dict[str, object]]:
    """The step's current outputs, as the metadata store records them."""
    ((recorded,),) = project.sql(
        "SELECT e.outputs FROM current_steps c JOIN step_executions e ON e.id = c.execution_id "
        "WHERE c.address = :address",
        address=f"pipeline.p.step.{step}",
    )
    result: dict[str, dict[str, object]] = json.loads(recorded)
    return result


def read_result(project: Project) -> dict[str, object]:
    from zenctl.artifacts.folder import FolderArtifactStore

    digest = str(outputs(project, "read")["output"]["hash"])
    store = FolderArtifactStore(project.root / ".zenctl/artifacts")
    value: dict[str, object] = json.loads(store.get(digest))
    return value


def test_a_directory_and_a_file_reach_the_next_step_as_paths(project: Project) -> None:
    make(project)
    applied = project.apply()
    assert applied.code == 0, applied.both
    assert read_result(project) == {
        "files": ["a.txt", "n.txt", "run.sh", "sub/b.txt"],
        "n": "1",
        "executable": True,
        "weights": 14,
        "is_path": True,
    }
    built = outputs(project, "build")["output"]
    assert built["materializer"] == "directory"
    assert outputs(project, "model")["output"]["materializer"] == "file"
    # the two identical files are one object; the reader's scribbles never reached the store
    objects = [p for p in (project.root / ".zenctl/artifacts/objects").rglob("*") if p.is_file()]
    contents = sorted(p.read_bytes() for p in objects)
    assert contents.count(b"same") == 1
    assert b"scribbled by the reader" not in contents

    assert "No changes. 3 steps cached." in project.run("plan").out
    assert "No changes. 3 steps cached." in project.apply().out


def test_a_changed_file_in_the_directory_changes_its_hash(project: Project) -> None:
    make(project)
    project.apply()
    before = outputs(project, "build")["output"]["hash"]
    project.write("main.zc.hcl", MAIN.replace("n = 1", "n = 2"))
    applied = project.apply()
    assert "2 ran, 1 cached" in applied.out, applied.both
    assert outputs(project, "build")["output"]["hash"] != before
    assert read_result(project)["n"] == "2"
    # back to n = 1: the earlier execution, whose directory is stored, is reused
    project.write("main.zc.hcl", MAIN)
    project.apply()
    assert outputs(project, "build")["output"]["hash"] == before


def test_a_corrupt_file_of_a_stored_directory_is_caught_on_read(project: Project) -> None:
    make(project)
    project.apply()
    (member,) = [
        p
        for p in (project.root / ".zenctl/artifacts/objects").rglob("*")
        if p.is_file() and p.read_bytes() == b"1"
    ]
    member.chmod(stat.S_IWUSR | stat.S_IRUSR)
    member.write_bytes(b"9")  # same size, other bytes
    project.write("main.zc.hcl", MAIN.replace('tag = "a"', 'tag = "b"'))
    applied = project.apply()
    assert applied.code != 0
    assert "corrupt" in applied.both and "n.txt" in applied.both, applied.both
    # the reader ran on its copy while the file was hashed: what it made from "9" is not kept
    assert read_result(project)["n"] == "1"
    # the directory is set aside: the next plan runs the step that made it again
    plan = project.run("plan")
    assert "pipeline.p.step.build" in plan.out and "artifact corrupt" in plan.out, plan.out
    assert project.apply().code == 0
    assert read_result(project)["n"] == "1"


def test_a_symbolic_link_in_a_returned_directory_is_refused(project: Project) -> None:
    make(project)
    project.write(
        "steps/files.py",
        STEPS.replace(
            '(out / "n.txt").write_text(str(n))', 'os.symlink("/etc/passwd", out / "n.txt")'
        ),
    )
    applied = project.apply()
    assert applied.code != 0
    assert "n.txt is a symbolic link" in applied.both, applied.both


def test_gc_keeps_the_files_of_a_live_directory(project: Project) -> None:
    make(project)
    project.apply()
    old = os.path.getmtime(project.root / "main.zc.hcl") - 3600
    for path in (project.root / ".zenctl/artifacts/objects").rglob("*"):
        os.utime(path, (old, old))
    gc = project.run("gc", "--keep-last", "1")
    assert gc.code == 0, gc.both
    project.write("main.zc.hcl", MAIN.replace('tag = "a"', 'tag = "c"'))
    applied = project.apply()
    assert "1 ran, 2 cached" in applied.out, applied.both
    assert read_result(project)["n"] == "1"


def test_returning_a_missing_path_fails_the_step_saying_so(project: Project) -> None:
    make(project)
    project.write("steps/files.py", STEPS + "\n\ndef gone(n):\n    return Path('/nonexistent/x')\n")
    project.write("main.zc.hcl", MAIN.replace("steps.files:build", "steps.files:gone"))
    applied = project.apply()
    assert applied.code != 0
    assert "returned the path /nonexistent/x, which is not found" in applied.both


def test_a_directory_hash_ignores_times_and_sees_names_bytes_and_the_executable_bit(
    tmp_path: Path,
) -> None:
    from zenctl.artifacts.trees import path_digest

    def tree(name: str) -> Path:
        folder = tmp_path / name
        (folder / "sub").mkdir(parents=True)
        (folder / "sub" / "a.txt").write_text("a")
        (folder / "b.sh").write_text("b")
        return folder

    one, two = tree("one"), tree("two")
    os.utime(two / "sub" / "a.txt", (1, 1))
    assert path_digest(one) == path_digest(two)
    (two / "b.sh").chmod(0o755)
    assert path_digest(one) != path_digest(two)
    (two / "b.sh").chmod(0o644)
    (two / "sub" / "a.txt").rename(two / "sub" / "c.txt")
    assert path_digest(one) != path_digest(two)
    (two / "sub" / "c.txt").rename(two / "sub" / "a.txt")
    (two / "empty").mkdir()  # an empty folder holds no file: not in the manifest
    assert path_digest(one) == path_digest(two)


LEFT_WRITING = """
import json
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).parent


def write(n):
    out = Path(tempfile.mkdtemp())  # in the step's temporary folder: zenctl's once it returns
    (out / "kept.bin").write_bytes(b"k" * 1000)
    (out / "held.bin").write_bytes(b"h" * 1000)
    # a process the step leaves behind, which writes to one of its outputs after it returned
    with open(out / "held.bin", "a") as held:
        subprocess.Popen(["sh", "-c", f"sleep 1; echo late; touch {HERE}/late.done"], stdout=held)
    inodes = {path.name: path.stat().st_ino for path in out.iterdir()}
    (HERE / "inodes.json").write_text(json.dumps(inodes))
    return out
"""


def test_a_returned_temporary_folder_is_moved_into_the_store_unless_still_written_to(
    project: Project,
) -> None:
    from zenctl.artifacts import trees
    from zenctl.artifacts.folder import FolderArtifactStore
    from zenctl.fingerprint.files import hash_file

    _one_step(project, "files", LEFT_WRITING, "write")
    applied = project.apply()
    assert applied.code == 0, applied.both
    late = project.root / "steps/late.done"
    for _ in range(100):  # the leftover process has written, or it never will
        if late.exists():
            break
        time.sleep(0.1)
    assert late.exists()
    store = FolderArtifactStore(project.root / ".zenctl/artifacts")
    manifest = store.get(str(outputs(project, "write")["output"]["hash"]))
    objects = {entry["path"]: store.local_path(entry["hash"]) for entry in trees.members(manifest)}
    inodes = json.loads((project.root / "steps/inodes.json").read_text())
    # written once: the file nothing held any more is the stored object itself
    assert objects["kept.bin"].stat().st_ino == inodes["kept.bin"]
    # one still open for writing was copied, and its late write did not reach the store
    assert objects["held.bin"].stat().st_ino != inodes["held.bin"]
    assert objects["held.bin"].read_bytes() == b"h" * 1000
    for entry in trees.members(manifest):
        assert hash_file(objects[entry["path"]]) == entry["hash"]
    assert stat.S_IMODE(objects["kept.bin"].stat().st_mode) == 0o600
    assert not list((project.root / ".zenctl/artifacts/objects").glob(".tmp-*"))


TEMPORARY_STEP = """
import os
import tempfile
from pathlib import Path


def where(n):
    out = Path(tempfile.mkdtemp()) / "made.txt"
    out.write_text(os.environ["TMPDIR"])
    return out
"""


def test_a_tmpdir_given_to_the_apply_holds_the_steps_temporary_folder(
    project: Project, tmp_path: Path
) -> None:
    """A batch job's scratch disk (TMPDIR set for the apply) is where the step's temporary
    folder is made, and it is removed afterwards; what the step returned from it is stored."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    _one_step(project, "where", TEMPORARY_STEP, "where")
    applied = project.run("apply", "--auto-approve", env={"TMPDIR": str(scratch)})
    assert applied.code == 0, applied.both
    from zenctl.artifacts.folder import FolderArtifactStore

    store = FolderArtifactStore(project.root / ".zenctl/artifacts")
    seen = Path(store.get(str(outputs(project, "where")["output"]["hash"])).decode())
    assert seen.parent == scratch and seen.name.startswith(".tmp-step-"), seen
    assert not list(scratch.iterdir())  # removed when the step ended


def _one_step(project: Project, module: str, source: str, function: str) -> None:
    """A project of one step, `function` of `steps/<module>.py`, given `n = 1`."""
    project.write("steps/__init__.py", "")
    project.write(f"steps/{module}.py", source)
    project.write(
        "main.zc.hcl",
        f'pipeline "p" {{\n  step "{function}" {{\n    run    = "steps.{module}:{function}"\n'
        "    params = { n = 1 }\n  }\n}\n",
    )


OVERLAPPING = """
import tempfile
from pathlib import Path


def overlap(n):
    folder = Path(tempfile.mkdtemp())
    (folder / "inner").mkdir()
    (folder / "inner" / "f.txt").write_text("inner")
    (folder / "top.txt").write_text("top")
    return {"same": folder, "again": folder, "inner": folder / "inner", "file": folder / "top.txt"}
"""


def test_outputs_that_share_files_each_hold_all_of_them(project: Project) -> None:
    """The step's temporary folder is moved into the store, not copied; an output whose path
    another output's lies in (or equals) is copied, or the first would take its files."""
    _one_step(project, "overlap", OVERLAPPING, "overlap")
    main = (project.root / "main.zc.hcl").read_text()
    project.write(
        "main.zc.hcl",
        main.replace("params", 'outputs = ["same", "again", "inner", "file"]\n    params'),
    )
    applied = project.apply()
    assert applied.code == 0, applied.both
    from zenctl.artifacts.folder import FolderArtifactStore
    from zenctl.artifacts.trees import members

    store = FolderArtifactStore(project.root / ".zenctl/artifacts")
    recorded = outputs(project, "overlap")

    def files(output: str) -> list[str]:
        return sorted(m["path"] for m in members(store.get(str(recorded[output]["hash"]))))

    assert files("same") == files("again") == ["inner/f.txt", "top.txt"]
    assert files("inner") == ["f.txt"]
    assert store.get(str(recorded["file"]["hash"])) == b"top"


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("../escape.txt", "outside the project"),
        ("/tmp/abs.txt", "outside the project"),
        (".", "outside the project"),
        ("models/../../x", "outside the project"),
        (".zenctl/metadata.db", "inside .zenctl/"),
        ("./.git/config", "inside .git/"),
    ],
)
def test_a_path_outside_the_project_or_in_its_state_is_refused_at_its_line(
    project: Project, path: str, why: str
) -> None:
    _one_step(project, "files", STEPS, "build")
    main = (project.root / "main.zc.hcl").read_text()
    project.write(
        "main.zc.hcl", main.replace("params", f'paths  = {{ output = "{path}" }}\n    params')
    )
    planned = project.run("plan")
    assert planned.code == 1, planned.both
    assert "Path outside the project" in planned.err and why in planned.err, planned.err
    assert "main.zc.hcl line 4" in planned.err  # the `paths` line
    assert "Traceback" not in planned.both
