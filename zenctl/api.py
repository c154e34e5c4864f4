"""The Python API, for notebooks and scripts (docs/python-api.md): what zenctl recorded and
what it would do, read through the same application layer as the command line. It changes
nothing: no apply, no lock taken, nothing written to the metadata store (the caches under
.zenctl/ are written, as `zenctl plan` writes them).

Imported on first use of `zenctl.load` and the others (zenctl/__init__.py), never by the
command line: the two are the front doors over zenctl/application/, and neither imports the
other. Errors the command line prints as diagnostics are raised as `ZenctlError`, with the
same words.
"""

from __future__ import annotations

import contextlib
import dataclasses
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import ConfigDict, Field, validate_call

from zenctl.application.outputs import output_value, resolve_output
from zenctl.application.project import Project
from zenctl.application.revisions import recorded_metrics, resolve
from zenctl.config.variables import VariableInputs
from zenctl.diagnostics import Diagnostic, DiagnosticsError, UserError
from zenctl.paths import project_folder
from zenctl.plan.model import Plan
from zenctl.render.diagnostics import display_path
from zenctl.render.history_json import RUN_COLUMNS, run_row
from zenctl.state.runs_table import RunRow, runs_table
from zenctl.workspaces import check_name

if TYPE_CHECKING:
    from pandas import DataFrame

    from zenctl.state.store import StateStore
else:  # what `_checked` reads of the return annotations: pandas is imported only to make one
    DataFrame = Any

__all__ = ["ZenctlError", "load", "metrics", "plan", "runs"]
METRIC_COLUMNS = ("address", "output", "name", "value")  # zenctl.state.records.MetricRecord


class ZenctlError(Exception):
    """What the command line would print as an error (a missing output, a bad address, an
    invalid configuration), with its words; each is in `diagnostics`. A file is named as the
    command line names it: relative to the current folder, else to the project's (`root`)."""

    def __init__(self, diagnostics: Sequence[Diagnostic], root: Path | None = None) -> None:
        self.diagnostics = tuple(diagnostics)
        super().__init__("\n\n".join(_words(each, root) for each in self.diagnostics))


# Arguments of the wrong type or out of range fail at the call, naming the argument
# (pydantic's ValidationError, a ValueError), not deep inside with an AttributeError.
_checked = validate_call(config=ConfigDict(strict=True, arbitrary_types_allowed=True))


def _words(diagnostic: Diagnostic, root: Path | None) -> str:
    where = diagnostic.range
    located = ""
    if where is not None and where.filename != "(built-in)":
        context = f", {diagnostic.context}" if diagnostic.context else ""
        located = f" (on {display_path(where.filename, root)} line {where.start.line}{context})"
    return diagnostic.summary + located + (f"\n{diagnostic.detail}" if diagnostic.detail else "")


@contextlib.contextmanager
def _reading(
    path: str | Path, workspace: str | None, inputs: VariableInputs | None = None
) -> Iterator[tuple[Project, StateStore | None]]:
    """The project at `path` in `workspace` (None: the selected one, as the command line's),
    and its metadata store opened to read (None: nothing recorded yet), closed afterwards.
    `inputs` None: variables are not evaluated (as `zenctl runs` and `zenctl show`)."""
    root: Path | None = None  # a diagnostic names files relative to it, once found
    try:
        root = project_folder(Path(path), "path=")
        project = Project.load(root, inputs)
        if workspace is not None:
            checked = check_name(workspace, "The workspace= argument")
            project = dataclasses.replace(project, workspace=checked)
        store = project.open_state(create=False)
        try:
            yield project, store
        finally:
            if store is not None:
                store.close()
    except UserError as exc:
        raise ZenctlError([exc.diagnostic], root) from None
    except DiagnosticsError as exc:
        raise ZenctlError(exc.diagnostics, root) from None


@_checked
def load(
    address: str,
    *,
    rev: str | None = None,
    path: str | Path = ".",
    workspace: str | None = None,
) -> Any:
    """The value of a step's output as the last apply left it: what the next step that
    consumes it would get, through its materializer (a DataFrame, a NumPy array, a fitted
    model...; a file or directory output as the Path of a fresh copy), its bytes checked
    against their hash.

    `address`: `pipeline.iris.step.train.outputs.output`, or `train.output`, or `train` for a
    step with one output (docs/python-api.md). `rev`: the value as it was at a git revision,
    a run ID or a workspace, spelled as `zenctl metrics show` takes them. Raises ZenctlError
    when the configuration has no such output or no value of it was recorded there.
    """
    with _reading(path, workspace) as (project, store):
        output = resolve_output(project.config, address)
        return output_value(project, store, output, rev, _warn)


@_checked
def runs(
    *,
    path: str | Path = ".",
    workspace: str | None = None,
    limit: Annotated[int, Field(ge=1)] | None = None,
    where: Sequence[str] = (),
    sort: str | None = None,
) -> DataFrame | list[dict[str, Any]]:
    """The workspace's runs (applies and `state rm`s), newest first unless sorted, `limit` of
    them (None: all): `zenctl runs`'s experiments table as a pandas DataFrame with a row per
    run, or a list of dicts when pandas cannot be imported. The columns are RUN_COLUMNS
    (zenctl/render/history_json.py: times in UTC, counts as recorded, None where a run
    recorded none), then a `params.NAME` and a `metrics.NAME` column for each param and metric
    the runs have. `where` and `sort` are spelled as `zenctl runs --where/--sort` takes them
    (docs/runs.md)."""
    with _reading(path, workspace) as (project, store):
        rows = _run_rows(store, project.workspace, limit, where, sort) if store else []
    records = [{**run_row(row.run), **row.params, **row.metrics} for row in rows]
    params = sorted({key for row in rows for key in row.params})
    metrics = sorted({key for row in rows for key in row.metrics})
    columns = [*RUN_COLUMNS, *params, *metrics]
    return _table(records, columns, times=("started_at", "finished_at"))


def _run_rows(
    store: StateStore, workspace: str, limit: int | None, where: Sequence[str], sort: str | None
) -> list[RunRow]:
    if limit is None:  # every run: the table's query takes a number
        limit = sum(store.workspaces().values())
    return runs_table(store, workspace, where, sort, limit).rows if limit > 0 else []


def _table(
    records: list[dict[str, Any]], columns: Sequence[str], times: Sequence[str] = ()
) -> DataFrame | list[dict[str, Any]]:
    """A DataFrame of `records` (`times`: ISO 8601 text made times), or the records as they
    are when pandas cannot be imported."""
    try:
        import pandas
    except ImportError:
        return records
    frame = pandas.DataFrame.from_records(records, columns=list(columns))
    for column in times:
        frame[column] = pandas.to_datetime(frame[column], utc=True, format="ISO8601")
    return frame


def _warn(text: str) -> None:
    """A `rev` that names two things (a workspace and a branch): which one was read."""
    warnings.warn(text, stacklevel=2)


@_checked
def metrics(
    *, rev: str | None = None, path: str | Path = ".", workspace: str | None = None
) -> DataFrame | list[dict[str, Any]]:
    """The metrics the steps recorded (their `metrics` outputs), as `zenctl metrics show`
    lists them: of the last apply of the workspace, or of `rev` (a git revision, a run ID or
    a workspace). A pandas DataFrame with a row per metric, columns `address`, `output`,
    `name` and `value`, by step, output and name; a list of dicts where pandas cannot be
    imported."""
    with _reading(path, workspace) as (project, store):
        resolved = resolve(project, store, rev, warn=_warn)
        records = [dataclasses.asdict(record) for record in recorded_metrics(store, resolved)]
    return _table(records, METRIC_COLUMNS)


@_checked
def plan(
    *,
    path: str | Path = ".",
    vars: Mapping[str, Any] | None = None,
    workspace: str | None = None,
) -> Plan:
    """What `zenctl apply` would do now, as data (zenctl/plan/model.py): `plan.to_run`,
    `plan.cached`, each step's reasons, the resources' changes. `vars` sets variables by
    name, above every other source (`--var`, files, the environment), as values of their type:
    `vars={"C": 0.5}`. Reads only, as `zenctl plan` does."""
    with _reading(path, workspace, VariableInputs(values=dict(vars or {}))) as (project, store):
        return project.plan(store)
