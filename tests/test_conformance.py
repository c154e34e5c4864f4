"""HCL expression conformance: each case in tests/conformance/expressions.yaml, written from
HashiCorp's HCL native syntax specification and go-cty's semantics, must evaluate to its
`value` or fail with its `error`.

Values are compared strictly, because a step receives them as Python objects: `True` is not
`1` and `6` is not `6.0`, however Python's `==` sees them.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from zenctl.config.expressions import evaluate_text
from zenctl.config.tree import ExpressionError

CASES_FILE = Path(__file__).parent / "conformance" / "expressions.yaml"
MINIMUM_CASES = 350
KEYS = {"section", "expr", "vars", "locals", "value", "error", "note"}
HEREDOC = re.compile(r"<<-?[A-Za-z_]")
# what leaks when an exception's text reaches the user instead of a message written for them
PYTHON_INTERNALS = (
    "Traceback",
    "Decimal(",
    "Ref(",
    "object at 0x",
    "NoneType",
    "KeyError",
    "IndexError",
    "TypeError",
    "ValueError",
    "AttributeError",
    "ZeroDivisionError",
    "RecursionError",
    "InvalidOperation",
    "DivisionByZero",
    "<class ",
)


def _load_cases() -> list[dict[str, Any]]:
    with CASES_FILE.open(encoding="utf-8") as file:
        cases = yaml.safe_load(file)
    assert isinstance(cases, list), f"{CASES_FILE} must hold a list of cases"
    return cases


CASES = _load_cases()


def _case_ids(cases: list[dict[str, Any]]) -> list[str]:
    """`section-N`, N counting within the section, so an id says where to look."""
    seen: Counter[str] = Counter()
    ids = []
    for case in cases:
        section = str(case.get("section", "unsectioned") if isinstance(case, dict) else "bad")
        seen[section] += 1
        ids.append(f"{section}-{seen[section]}")
    return ids


def _mismatch(actual: Any, expected: Any, path: str = "value") -> str | None:
    """Where `actual` differs from `expected`, by type as well as by value; None if nowhere."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{path}: expected a dict, got {type(actual).__name__} {actual!r}"
        if set(actual) != set(expected):
            return f"{path}: expected keys {sorted(expected)}, got {sorted(map(str, actual))}"
        for key in expected:
            found = _mismatch(actual[key], expected[key], f"{path}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(expected, list):
        if type(actual) is not list:
            return f"{path}: expected a list, got {type(actual).__name__} {actual!r}"
        if len(actual) != len(expected):
            return f"{path}: expected {len(expected)} elements, got {len(actual)}: {actual!r}"
        for index, (got, want) in enumerate(zip(actual, expected, strict=True)):
            found = _mismatch(got, want, f"{path}[{index}]")
            if found:
                return found
        return None
    # bool before int and int before float: Python's == would equate True, 1 and 1.0
    if type(actual) is not type(expected) or actual != expected:
        return (
            f"{path}: expected {type(expected).__name__} {expected!r}, "
            f"got {type(actual).__name__} {actual!r}"
        )
    return None


def test_case_file_is_well_formed() -> None:
    assert len(CASES) >= MINIMUM_CASES, f"{len(CASES)} cases; the suite promises {MINIMUM_CASES}"
    problems = []
    for case_id, case in zip(_case_ids(CASES), CASES, strict=True):
        if not isinstance(case, dict):
            problems.append(f"{case_id}: not a mapping")
            continue
        if unknown := set(case) - KEYS:
            problems.append(f"{case_id}: unknown keys {sorted(unknown)}")
        if ("value" in case) == ("error" in case):
            problems.append(f"{case_id}: needs exactly one of `value` and `error`")
        if not isinstance(case.get("section"), str) or not case["section"]:
            problems.append(f"{case_id}: needs a `section`")
        expr = case.get("expr")
        if not isinstance(expr, str) or not expr.strip():
            problems.append(f"{case_id}: needs an `expr` string")
        elif HEREDOC.search(expr) and not expr.endswith("\n"):
            problems.append(f"{case_id}: a heredoc must end with a newline after its marker")
        error = case.get("error", "")
        if not isinstance(error, str) or error != error.lower() or ("error" in case and not error):
            problems.append(f"{case_id}: `error` must be a non-empty lowercase substring")
        if not isinstance(case.get("vars", {}), dict):
            problems.append(f"{case_id}: `vars` must be a mapping")
        local_sources = case.get("locals", {})
        if not isinstance(local_sources, dict) or not all(
            isinstance(source, str) for source in local_sources.values()
        ):
            problems.append(f"{case_id}: `locals` must map names to expression source text")
    assert not problems, "\n".join(problems)


def test_strict_comparison_tells_types_apart() -> None:
    """The comparison itself must fail where Python's == would pass."""
    assert _mismatch(True, 1) is not None
    assert _mismatch(1, True) is not None
    assert _mismatch(6, 6.0) is not None
    assert _mismatch(6.0, 6) is not None
    assert _mismatch([1, [True]], [1, [1]]) is not None
    assert _mismatch({"a": 0}, {"a": False}) is not None
    assert _mismatch((1, 2), [1, 2]) is not None
    assert _mismatch({"a": 1, "b": 2}, {"a": 1}) is not None
    assert _mismatch(None, "") is not None
    assert _mismatch({"a": [1, 2.5, None]}, {"a": [1, 2.5, None]}) is None


@pytest.mark.parametrize("case", CASES, ids=_case_ids(CASES))
def test_expression(case: dict[str, Any]) -> None:
    context = f"expr: {case['expr']!r}" + (f"\nnote: {case['note']}" if "note" in case else "")
    try:
        result = evaluate_text(case["expr"], variables=case.get("vars"), locals=case.get("locals"))
    except ExpressionError as error:
        message = str(error)
        if "value" in case:
            pytest.fail(f"expected {case['value']!r}, got the error {message!r}\n{context}")
        assert case["error"] in message.lower(), (
            f"the error {message!r} does not mention {case['error']!r}\n{context}"
        )
        leaked = [text for text in PYTHON_INTERNALS if text in message]
        assert not leaked, f"the error {message!r} shows Python internals {leaked}\n{context}"
        return
    if "error" in case:
        pytest.fail(f"expected an error about {case['error']!r}, got {result!r}\n{context}")
    mismatch = _mismatch(result, case["value"])
    assert mismatch is None, f"{mismatch}\n{context}"
