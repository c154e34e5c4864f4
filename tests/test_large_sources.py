"""Sources large enough to be hashed with blake3's threads and mmap (1 MiB and more)."""

from __future__ import annotations

from conftest import Project


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
