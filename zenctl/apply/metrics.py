"""A metrics output's value checked where the step ran: a flat mapping of JSON scalars.

Checked at apply, in the step's process, so that a bad value fails the step itself (its error
names the step, the output and what is wrong) before anything is recorded: the metadata store
then never holds a metric that `zenctl metrics` could not show or compare. numpy's scalars
(what scikit-learn's scores are) count as the numbers they hold.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

from zenctl.state.records import MetricValue


class MetricsInvalid(ValueError):
    """A metrics output that is not a flat, JSON-able mapping."""


def metric_values(address: str, output: str, value: Any) -> dict[str, MetricValue]:
    """The mapping `value` as plain JSON scalars; MetricsInvalid says what is wrong."""
    where = f'metrics output "{output}" of {address}'
    if not isinstance(value, Mapping):
        raise MetricsInvalid(
            f"{where} must be a mapping of names to numbers (a dict), not {_kind(value)}"
        )
    checked: dict[str, MetricValue] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise MetricsInvalid(f"{where} has the key {key!r} ({_kind(key)}): keys must be text")
        checked[key] = _scalar(where, key, item)
    return checked


def _scalar(where: str, key: str, item: Any) -> MetricValue:
    if item is None or isinstance(item, bool | str):
        return item
    if isinstance(item, numbers.Integral):
        return int(item)
    if isinstance(item, numbers.Real):
        number = float(item)
        if not math.isfinite(number):
            raise MetricsInvalid(f'{where}: "{key}" is {number}, which JSON cannot hold')
        return number
    if isinstance(item, Mapping | list | tuple):
        raise MetricsInvalid(
            f'{where}: "{key}" is {_kind(item)}; metrics are flat: a number, text, a boolean '
            f'or null per name (flatten it: "{key}.x" = ...)'
        )
    raise MetricsInvalid(f'{where}: "{key}" is {_kind(item)}, which is not JSON-able')


def _kind(value: Any) -> str:
    return f"a {type(value).__name__}"
