"""`parse_fast` against python-hcl2, node for node.

For every text: either python-hcl2 rejects it and the fast parser gives None (so the caller's
own parse reports python-hcl2's error), or the fast parser gives None (it leaves the text to
python-hcl2), or both build trees equal in every node's class, children (None placeholders
included), token values and every field of every node's lark `Meta`. The texts: every HCL
file in the repository, the HCL the other tests write (string constants of tests/*.py, the
conformance expressions), the benchmark's pipelines, and generated HCL, well formed and
mutated.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hcl2.api import parses
from hypothesis import given, settings
from hypothesis import strategies as st

from zenctl.config.fastparse import parse_fast

ROOT = Path(__file__).resolve().parent.parent


def nodes(tree: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every node of `tree` in order, as what must be equal: its class, its token value, its
    `Meta`'s fields; a None child as None."""
    if tree is None:
        yield path, None
        return
    meta = getattr(tree, "_meta", None)
    fields = None if meta is None else sorted(vars(meta).items())
    value = None if hasattr(tree, "_children") else (tree.value,)
    yield path, (type(tree).__module__, type(tree).__qualname__, tree.lark_name(), value, fields)
    for index, child in enumerate(getattr(tree, "_children", ())):
        yield from nodes(child, f"{path}/{index}")


def same(text: str) -> bool:
    """Assert the contract on `text`; whether the fast parser answered."""
    try:
        expected = parses(text)
    except Exception:  # lark and python-hcl2 raise many kinds
        assert parse_fast(text) is None, f"a tree for text python-hcl2 rejects: {text!r}"
        return False
    got = parse_fast(text)
    if got is None:
        return False
    want = list(nodes(expected))
    have = list(nodes(got))
    for left, right in zip(want, have, strict=False):  # the first difference, then the count
        assert left == right, f"in {text!r}"
    assert len(want) == len(have), f"in {text!r}"
    return True


def hcl_files() -> list[Path]:
    return sorted(
        path
        for path in ROOT.rglob("*.hcl")
        if not any(
            part.startswith(".") or part in ("build", "node_modules")
            for part in path.relative_to(ROOT).parts
        )
    )


@pytest.mark.parametrize("path", hcl_files(), ids=lambda path: str(path.relative_to(ROOT)))
def test_every_hcl_file_in_the_repository(path: Path) -> None:
    text = path.read_text()
    same(text)


def test_the_repository_has_hcl_files_and_the_fast_parser_reads_most() -> None:
    answered = [same(path.read_text()) for path in hcl_files()]
    assert len(answered) >= 5
    assert sum(answered) * 2 > len(answered)


def docs_hcl_blocks() -> list[str]:
    blocks = []
    pages = [*sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "specs").glob("*.md"))]
    for page in [*pages, ROOT / "README.md"]:
        blocks.extend(re.findall(r"```hcl\n(.*?)```", page.read_text(), re.S))
    return blocks


def test_hcl_in_the_docs() -> None:
    blocks = docs_hcl_blocks()
    assert blocks
    for block in blocks:
        same(block)


def test_strings_the_other_tests_write() -> None:
    """Every string constant in the test modules that looks like HCL: what they parse."""
    texts = set()
    for module in sorted((ROOT / "tests").glob("test_*.py")):
        for node in ast.walk(ast.parse(module.read_text())):
            value = node.value if isinstance(node, ast.Constant) else None
            if isinstance(value, str) and ("=" in value or "{" in value):
                texts.add(value)
    assert len(texts) > 500
    answered = sum(same(text) for text in sorted(texts))
    assert answered > 300


def test_conformance_expressions() -> None:
    cases = yaml.safe_load((ROOT / "tests" / "conformance" / "expressions.yaml").read_text())
    answered = 0
    for case in cases:
        expression = case["expr"]
        answered += same(f"x = {expression}\n")
        answered += same(f'locals {{\n  x = {expression}\n  y = "${{{expression}}}"\n}}\n')
    assert answered > len(cases)


@pytest.fixture(scope="module")
def bench_renderer() -> Any:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import tools
        import workloads
    finally:
        sys.path.remove(str(ROOT / "bench"))
    return tools.render_hcl, workloads


def test_the_benchmark_pipelines(bench_renderer: Any) -> None:
    render, workloads = bench_renderer
    for workload in (
        workloads.chain(1),
        workloads.chain(200),
        workloads.fan(30),
        workloads.big_source(1),
    ):
        assert same(render(workload)), "the benchmark's pipeline fell back to python-hcl2"


def test_parsing_leaves_lark_s_grammar_unloaded() -> None:
    """The point of the fast parser: no grammar load (~90 ms) and no LALR parse. (Importing
    any of python-hcl2's modules still imports lark and python-hcl2's api: its package does.)"""
    code = (
        "from zenctl.config.fastparse import parse_fast\n"
        "from hcl2.parser import parser\n"
        "assert parse_fast('a = 1') is not None\n"
        "print(parser.cache_info().currsize)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "0"


# -- generated HCL ------------------------------------------------------------------------------

names = st.sampled_from(
    ["a", "b_1", "x-y", "in", "for", "if", "true", "null", "else", "foo", "var", "e"]
)
blank = st.sampled_from(["", " ", "  ", "\t", " \r"])
breaks = st.sampled_from(
    ["\n", "\n  ", " # c\n", " // c\n", " /* c */ ", "/* a\nb */", "\n\n", "\r\n"]
)
gap = st.one_of(blank, blank, breaks)  # where a newline may or may not be allowed

numbers = st.sampled_from(
    [
        "0",
        "1",
        "12",
        "-1",
        "-12",
        "1.5",
        "-1.5",
        "1e3",
        "1E+3",
        "2.5e-2",
        "-1-2",
        "007",
        "1.",
        "0.1",
    ]
)
string_bodies = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "a",
                " b ",
                "\\n",
                '\\"',
                "\\\\",
                "$",
                "%",
                "$$",
                "%%",
                "$${x}",
                "%%{y}",
                "\\u00e9",
                "é",
            ]
        ),
        st.sampled_from(
            ["${a}", "${ a.b }", "${1 + 2}", '${"in"}', "${f(x)}", "%{ if a }y%{ endif }"]
        ),
        st.sampled_from(
            ["%{for x in xs}${x}%{endfor}", "%{~ if a ~}b%{ else }c%{ endif ~}", "${", "}"]
        ),
    ),
    max_size=4,
).map("".join)
strings = string_bodies.map(lambda body: f'"{body}"')
heredocs = st.tuples(
    st.sampled_from(["<<", "<<-"]), st.sampled_from(["EOT", "E", "END_1"]), string_bodies
).map(lambda h: f"{h[0]}{h[1]}\n  {h[2]}\n  {h[1]}\n")
binary_operators = st.sampled_from(
    ["+", "-", "*", "/", "%", "==", "!=", "<", ">", "<=", ">=", "&&", "||"]
)


def expressions() -> st.SearchStrategy[str]:
    leaves = st.one_of(
        names, numbers, strings, heredocs, st.sampled_from(["[]", "{}", "()", '\\"a\\"'])
    )

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        items = st.lists(st.tuples(gap, inner, gap), max_size=3)
        return st.one_of(
            st.tuples(inner, gap, binary_operators, gap, inner).map("".join),
            st.tuples(st.sampled_from(["-", "!"]), blank, inner).map("".join),
            st.tuples(inner, gap, st.just("?"), gap, inner, gap, st.just(":"), gap, inner).map(
                "".join
            ),
            st.tuples(gap, inner, gap).map(lambda t: f"({''.join(t)})"),
            st.tuples(items, st.sampled_from(["", ",", " ,", "\n"])).map(
                lambda t: "[" + ",".join("".join(i) for i in t[0]) + t[1] + "]"
            ),
            st.tuples(
                st.lists(
                    st.tuples(gap, inner, st.sampled_from([" = ", ":", " : ", "="]), inner),
                    max_size=3,
                ),
                st.sampled_from([",", "\n", ", ", " "]),
                gap,
            ).map(lambda t: "{" + t[1].join("".join(e) for e in t[0]) + t[2] + "}"),
            st.tuples(names, items, st.sampled_from(["", ",", "...", " ...", "\n"])).map(
                lambda t: f"{t[0]}(" + ",".join("".join(i) for i in t[1]) + t[2] + ")"
            ),
            st.tuples(
                inner,
                st.sampled_from(
                    [".a", ".0", ".true", ".in", "[0]", "[ b ]", ".*", "[*]", ".*.c", "[*][0]"]
                ),
            ).map("".join),
            st.tuples(names, names, inner, inner).map(lambda t: f"[for {t[0]} in {t[2]} : {t[3]}]"),
            st.tuples(names, inner, inner, st.sampled_from(["", "...", " if x"])).map(
                lambda t: f"{{for {t[0]}, v in {t[1]} : {t[0]} => {t[2]}{t[3]}}}"
            ),
            st.tuples(names, st.just("::"), names, st.just("::"), names, st.just("()")).map(
                "".join
            ),
            st.tuples(st.just('"${'), inner, st.just('}"')).map("".join),
        )

    return st.recursive(leaves, extend, max_leaves=8)


def bodies() -> st.SearchStrategy[str]:
    attribute = st.tuples(names, blank, st.sampled_from(["=", " ="]), blank, expressions()).map(
        "".join
    )

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        labels = st.lists(st.one_of(names, strings), max_size=2).map(
            lambda ls: "".join(f" {label}" for label in ls)
        )
        contents = st.one_of(inner.map(lambda body: "\n" + body), st.sampled_from(["", " ", "\n"]))
        block = st.tuples(names, labels, st.sampled_from([" ", "\n", ""]), contents).map(
            lambda t: f"{t[0]}{t[1]}{t[2]}{{{t[3]}}}"
        )
        return st.lists(st.tuples(gap, st.one_of(attribute, block), breaks), max_size=4).map(
            lambda items: "".join("".join(item) for item in items)
        )

    return st.recursive(attribute.map(lambda a: a + "\n"), extend, max_leaves=6)


@settings(max_examples=200)  # cheap examples: each is two parses of a few lines
@given(bodies())
def test_generated_hcl(text: str) -> None:
    same(text)


@settings(max_examples=200)
@given(
    bodies(),
    st.lists(
        st.tuples(
            st.integers(0, 10_000),
            st.sampled_from(["", "{", "}", "=", "\n", '"', "-", "[", ",", "#", "*", "${", " in "]),
        ),
        min_size=1,
        max_size=3,
    ),
)
def test_mutated_hcl(text: str, edits: list[tuple[int, str]]) -> None:
    """Broken text: a character cut or put somewhere; python-hcl2 rejecting it means None."""
    for at, insert in edits:
        at %= len(text) + 1
        text = text[:at] + insert + text[at + 1 :]
    same(text)


@pytest.mark.parametrize(
    "text",
    [
        "a = b -12\n",  # lark lexes `-12` as a number after `b`: a syntax error
        "a = 1 + 2\n\n* 3\n",  # a newline ended `1 + 2`; `*` cannot follow it
        "f = f(a\n,)\n",  # no newline before a last comma
        "a = [for]\n",
        "a = {\n b = 1\n 2 = 3\n}\n",
        "a = (\n\nelse\n)\n",  # after two newlines lark lexes `else` as a keyword
        'a = "%{ if a }"\n',  # unclosed: python-hcl2's transformer raises
    ],
)
def test_texts_python_hcl2_rejects_or_reads_oddly(text: str) -> None:
    same(text)


@pytest.mark.parametrize(
    "text",
    [
        "a = 1 + 2 # sum\nb = 3\n",  # the newline after `2` is the operation's own
        "a = 1 +\n 2\n",
        "a = x\n  ? 1\n  : 2\n",
        "a = b # c\n* 2\n",  # the comment is merged into `*` by the postlexer
        "in = 1\nresource in true {\n}\n",  # keyword names are made identifiers
        'a = { in = 1, "k": v, (k) = 2 }\n',
        "a = b.true.0[1].*.c[*].d\n",
        "a = f(x, y...)\n",
        "a = <<-EOT\n  hi ${x}\n  EOT\nb = 1\n",
        'a = "$${x} %%{y} ${ z + 1 }"\n',
        "a = [for k, v in m : v if k]\nb = {\n  for k in ks :\n  k => 1...\n}\n",
        'a = "%{~ for x in xs ~}${x}%{ endfor }%{ if a }y%{ else }n%{ endif }"\n',
        "a = [in, if(for)]\nb = provider::p::f(1)\n",  # where an operand starts: names
        'a {}\nb "c" { }\n',
    ],
)
def test_constructs_the_fast_parser_reads(text: str) -> None:
    assert same(text)
