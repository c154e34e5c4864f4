"""Sources large enough to be hashed with blake3's threads and mmap (1 MiB and more)."""

from __future__ import annotations

import os
import re
import time

from conftest import Project

# Hashing sources; the metadata store's database plays no part.


def test_apply_snapshots_a_large_source_the_plan_already_hashed(project: Project) -> None:
    # The plan hashes the file in the parent process with blake3's thread pool; the step's
    # worker is forked afterwards and hashes it again to snapshot it. A forked child cannot
    # use the parent's pool: this apply used to hang until killed.
    project.write("data/raw.txt", "7\n" * (1 << 19))  # 1 MiB: hashed with threads and mmap
    result = project.apply()
    assert result.code == 0, result.both
    assert "Apply complete! 5 ran" in result.out

    again = project.run("plan")
    assert again.code == 0, again.both
    assert "No changes. 5 steps cached." in again.out


def test_an_unchanged_source_is_not_read_again(project: Project) -> None:
    """The stat cache: a plan re-hashes a source only when its size, mtime or inode moved."""
    raw = project.root / "data/raw.txt"
    raw.write_text("7\n" * (1 << 20))  # 2 MiB
    assert project.apply().code == 0
    # Past the racy window: a hash recorded within 1 s of the file's mtime is not trusted.
    stamp = time.time() - 5
    for path in [raw, *(project.root / ".zenctl/artifacts").rglob("*")]:
        os.utime(path, (stamp, stamp))

    def hashed() -> int:
        result = project.run("plan", env={"ZENCTL_TRACE": "1"})
        assert result.code == 0, result.both
        found = re.search(r"hashed-bytes: (\d+)", result.err)
        assert found, result.both
        return int(found.group(1))

    source = raw.stat().st_size
    assert hashed() >= source  # the mtimes moved: the source and the outputs are read again
    assert hashed() == 0  # unchanged: a stat, no read
    with raw.open("a") as handle:
        handle.write("7\n")
    os.utime(raw, (stamp, stamp))  # the same mtime, another size
    assert hashed() == source + 2  # the source alone: the outputs' checks are still trusted
    assert hashed() == 0
    (project.root / ".zenctl/cache/stat.json").unlink()
    assert hashed() == source + 2
