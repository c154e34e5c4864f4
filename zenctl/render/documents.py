"""The conventions every read command's JSON document follows, and the documents of
`workspace list`, `providers` and `version` (those of `show`, `state show` and `state list`
are in history_json.py).

Every document opens with `format_version` ("MAJOR.MINOR": a minor bump adds fields, a major
one changes or drops them) and `zenctl_version`; times are ISO 8601 in UTC, durations seconds,
hashes and IDs whole, steps named by their full address. Secrets never appear in clear: a
sensitive param is its keyed hash, `{"sensitive": HASH}`, as in state and the plan document.
The schemas are in specs/ (specs/README.md states the conventions for people).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from zenctl import __version__
from zenctl.providers.protocol import Provider

FORMAT_VERSION = "1.0"


def document(**fields: Any) -> dict[str, Any]:
    """A read command's document: the shared header, then its own fields."""
    return {"format_version": FORMAT_VERSION, "zenctl_version": __version__, **fields}


def iso_time(timestamp: float | None) -> str | None:
    """Seconds since the epoch as ISO 8601 in UTC, to the millisecond:
    `2026-12-05T13:55:30.123Z`."""
    if timestamp is None:
        return None
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def workspaces_document(
    current: str, runs: Mapping[str, int], names: Iterable[str]
) -> dict[str, Any]:
    """`zenctl workspace list --json`: each workspace, whether selected, and its run count."""
    return document(
        current=current,
        workspaces=[
            {"name": name, "current": name == current, "runs": runs.get(name, 0)}
            for name in sorted(names)
        ],
    )


def providers_document(
    providers: Sequence[Provider], materializers: list[dict[str, Any]]
) -> dict[str, Any]:
    """`zenctl providers --json`: each installed provider and its component types (their
    settings' schemas: `zenctl providers schema --json`), and the materializers."""
    return document(
        providers=[
            {
                "name": provider.name,
                "version": provider.version,
                "components": [
                    {"kind": c.kind, "type": c.type, "description": c.description}
                    for c in provider.components
                ],
            }
            for provider in providers
        ],
        materializers=materializers,
    )


def version_document(providers: Sequence[Provider]) -> dict[str, Any]:
    """`zenctl version --json`: zenctl's version and each installed provider's."""
    return document(providers=[{"name": p.name, "version": p.version} for p in providers])
