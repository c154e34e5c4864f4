"""The little language of `zenctl runs --where` and `--sort`: `params.lr=0.1`,
`metrics.accuracy>=0.9`, `result=failed`; `--sort metrics.accuracy` ascending and
`--sort -metrics.accuracy` descending. Pure: it sees a run only as its mapping of keys to
values (zenctl/state/runs_table.py builds them), so the grammar is tested without a store.

Two values that both read as numbers compare as numbers (`0.1` matches 0.10 and 1e-1);
anything else compares as text (a boolean as `true`/`false`, a list or map as its JSON).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from zenctl.diagnostics import UserError

# Longest first: `<=` must not read as `<` followed by a value `=0.9`.
_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "<=": lambda a, b: bool(a <= b),
    ">=": lambda a, b: bool(a >= b),
    "!=": lambda a, b: bool(a != b),
    "==": lambda a, b: bool(a == b),  # as Python spells it; `=` as `dvc exp show` does
    "=": lambda a, b: bool(a == b),
    "<": lambda a, b: bool(a < b),
    ">": lambda a, b: bool(a > b),
}
_CONDITION = re.compile(
    r"\s*([A-Za-z_][\w.-]*)\s*(" + "|".join(map(re.escape, _OPERATORS)) + r")\s*(.*?)\s*"
)
_EXAMPLE = "e.g. --where 'params.lr=0.1', --where 'metrics.accuracy>=0.9', --where result=failed"

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Condition:
    """One `--where KEY OP VALUE`; several are AND-ed."""

    key: str
    op: str
    value: str

    def holds(self, values: Mapping[str, Any]) -> bool:
        """Whether a run with these values passes; a run without the key does not."""
        if values.get(self.key) is None:
            return False
        left, right = _comparable(values[self.key]), _comparable(self.value)
        if isinstance(left, float) != isinstance(right, float):  # a number against text
            left, right = _text(values[self.key]), self.value
        return _OPERATORS[self.op](left, right)


@dataclass(frozen=True, slots=True)
class Sort:
    key: str
    descending: bool


def parse_where(text: str) -> Condition:
    found = _CONDITION.fullmatch(text)
    if found is None or not found.group(3):
        raise UserError(
            f"Invalid --where {text!r}",
            f"Write KEY OP VALUE, OP one of = (or ==) != < <= > >=: {_EXAMPLE}.",
        )
    return Condition(found.group(1), found.group(2), found.group(3))


def parse_sort(text: str) -> Sort:
    key = text.removeprefix("-")
    if not re.fullmatch(r"[A-Za-z_][\w.-]*", key):
        raise UserError(
            f"Invalid --sort {text!r}",
            "Name one key: --sort metrics.accuracy (ascending) or --sort=-metrics.accuracy "
            "(descending).",
        )
    return Sort(key, text.startswith("-"))


def check_keys(named: Sequence[str], known: Collection[str]) -> None:
    """Each key that --where and --sort name must be one some run has: a typo would
    otherwise list nothing, silently. A step-qualified key's short form is ambiguous."""
    for key in named:
        if key in known:
            continue
        kind, _, name = key.partition(".")
        qualified = sorted(k for k in known if k.startswith(f"{kind}.") and k.endswith(f".{name}"))
        if name and qualified:
            raise UserError(
                f"{key} is ambiguous",
                f"Several steps have {name}; name one: {', '.join(qualified)}.",
            )
        shown = ", ".join(sorted(known)[:40])
        raise UserError(f"Unknown key {key!r}", f"No listed run has it. Keys: {shown}.")


def sort_rows(rows: Sequence[T], sort: Sort, values: Callable[[T], Mapping[str, Any]]) -> list[T]:
    """`rows` by the sort key; rows without it last, whichever the direction, and rows
    with equal keys in their given order (newest first)."""
    present = [row for row in rows if values(row).get(sort.key) is not None]
    missing = [row for row in rows if values(row).get(sort.key) is None]
    present.sort(key=lambda row: _sort_key(values(row)[sort.key]), reverse=sort.descending)
    return present + missing


def _sort_key(value: Any) -> tuple[int, float, str]:
    """Numbers before text, each in its own order."""
    comparable = _comparable(value)
    if isinstance(comparable, float):
        return (0, comparable, "")
    return (1, 0.0, comparable)


def _comparable(value: Any) -> float | str:
    """A number when the value reads as one, else its text."""
    if isinstance(value, bool):
        return _text(value)
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value) if isinstance(value, str) else _text(value)
    except ValueError:
        return str(value)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
