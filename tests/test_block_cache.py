"""The parsed-block cache (zenctl/config/chunks.py): a plan after an edit parses only the
blocks whose text changed, and must never serve a block's old meaning or a wrong line."""

from __future__ import annotations

import pytest
from conftest import Project
from test_plan_apply import step_lines

from zenctl.config.chunks import BlockCache, parse_blocks

BROKEN = """
pipeline "demo" {
  step "a" {
    run    = "steps.pipeline:report"
    params = { x = var.nope }
  }
}
"""


def _main(project: Project) -> str:
    return (project.root / "main.zc.hcl").read_text()


def test_an_edit_inside_a_cached_block_changes_the_plan(project: Project) -> None:
    assert project.apply().code == 0
    text = _main(project)
    assert "bias = 0.5" in text
    (project.root / "main.zc.hcl").write_text(text.replace("bias = 0.5", "bias = 0.75"))
    changed = step_lines(project.run("plan").out)
    assert any(line.startswith("~") for line in changed.values()), changed
    (project.root / "main.zc.hcl").write_text(text)  # back to the applied bytes: all cached
    assert "No changes" in project.run("plan").out


@pytest.mark.parametrize("before", ["", "# a comment\n\n", "/* two\nlines */\n"])
def test_lines_above_a_cached_block_move_its_diagnostics(project: Project, before: str) -> None:
    project.write("main.zc.hcl", BROKEN)
    first = project.run("plan")
    assert first.code == 1 and "on main.zc.hcl line 4" in first.both, first.both
    project.write(
        "main.zc.hcl", before + BROKEN.lstrip()
    )  # the step's bytes are cached, its line is not
    moved = project.run("plan")
    line = 4 + before.count("\n")
    assert moved.code == 1 and f"on main.zc.hcl line {line}" in moved.both, moved.both


def test_a_syntax_error_in_one_block_is_located_in_the_file(project: Project) -> None:
    assert project.run("plan").code == 0  # every block of the file is cached
    text = _main(project)
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if "bias = 0.5" in line)
    lines[at] = lines[at].replace("bias = 0.5", "bias = = 0.5")
    (project.root / "main.zc.hcl").write_text("\n".join(lines) + "\n")
    result = project.run("plan")
    assert result.code == 1 and "Invalid HCL syntax" in result.both, result.both
    assert f"main.zc.hcl line {at + 1}" in result.both, result.both


@pytest.mark.parametrize(
    "text",
    [
        'pipeline "p" {\n  step "a" { run = "m:f" }\n  step "b" {\n    run = "m:f"\n  }\n}\n',
        'pipeline "p" {\n  step "a" {\n    x = <<EOT\nstep "fake" {\n}\nEOT\n  }\n}\n',
        'pipeline "p" {\n  step "a" {\n  } # trailing\n  step "b" { }\n}',
        'variable "v" {\n  default = { a = "{" }\n}\nlocals { x = 1 }\n',
        'pipeline "p" {\r\n  step "a" {\r\n    run = "m:f"\r\n  }\r\n}\r\n',
    ],
)
@pytest.mark.parametrize(
    "head",
    ["", "locals {\n  f = 2 -1\n}\n"],
    ids=["read-whole", "left-to-python-hcl2"],
)
def test_blocks_parsed_alone_build_the_whole_files_tree(text: str, head: str) -> None:
    """A file the fast parser reads is read whole; one it leaves to python-hcl2 (here for
    `2 -1`: lark may lex `-1` as a number there) is parsed block by block, each block by the
    fast parser where it can."""
    from hcl2.api import parses

    text = head + text
    cache = BlockCache(None, "test")
    for _ in range(2):  # parsed, then served from the cache
        assert _outline(parse_blocks(text, cache)) == _outline(parses(text))
    assert bool(cache.used) == bool(head)


def _outline(node: object) -> list[object]:
    """Every node but the newlines between blocks, with its position and token value."""
    out: list[object] = []
    stack = [node]
    while stack:
        current = stack.pop()
        name = type(current).__name__
        if name == "NewLineOrCommentRule":
            continue
        meta = getattr(current, "_meta", None)
        where = None
        if meta is not None and not meta.empty and name not in ("StartRule", "BodyRule"):
            where = (meta.line, meta.column, meta.end_line, meta.end_column, meta.start_pos)
        out.append((name, where, getattr(current, "_value", None)))
        stack.extend(reversed([c for c in getattr(current, "_children", ()) or () if c]))
    return out
