"""`zenctl logs`: which step's log to print (of which run), and following one that is still
being written until its execution is recorded as ended.

Logs are masked as they are written (zenctl/apply/masking.py): what is read here holds no
secret, so it is printed as it is.
"""

from __future__ import annotations

import codecs
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from zenctl.diagnostics import UserError
from zenctl.paths import local_file
from zenctl.providers.protocol import ArtifactStore
from zenctl.state.records import Execution, Run
from zenctl.state.store import StateStore

POLL_S = 0.2  # how often -f looks for new lines and for the step's end


def chosen_run(store: StateStore, workspace: str, run_id: str | None) -> Run:
    """The run `--run` names (an ID or its first characters), else the workspace's last."""
    if run_id is not None:
        run = store.run(run_id) if len(run_id) >= 4 else None
        if run is None:
            raise UserError(
                f"No run {run_id!r}",
                "Give a run ID from `zenctl runs`, or its first characters (at least 4).",
            )
        return run
    latest = store.runs(workspace, 1)
    if not latest:
        raise UserError("No runs yet", "Run `zenctl apply` first; then its steps' logs show.")
    return latest[0]


def chosen_step(run: Run, executions: Sequence[Execution], step: str | None) -> Execution:
    """The execution whose log to print: the step named (its address, `NAME` or
    `PIPELINE.NAME`), else the run's one failed step, else its one running step, else its
    one step with a log."""
    logged = [execution for execution in executions if execution.log_uri]
    if step is not None:
        found = [e for e in logged if step in (e.address, *_short_names(e.address))]
    else:
        found = next(
            (
                group
                for group in (
                    [e for e in logged if e.status == "failed"],
                    [e for e in logged if e.status == "running"],
                    logged,
                )
                if group
            ),
            [],
        )
    if len(found) == 1:
        return found[0]
    listed = "\n".join(f"  {e.address}  {e.status}" for e in logged) or "  (none ran)"
    if step is None:
        what = f"Several steps of run {run.id[:8]} have a log"
    elif found:
        what = f"{step!r} names several steps of run {run.id[:8]}"
    else:
        what = f"No step {step!r} with a log in run {run.id[:8]}"
    raise UserError(
        what,
        f"Steps of the run with a log:\n{listed}\nName one: `zenctl logs STEP --run {run.id[:8]}`.",
    )


def step_to_follow(
    store: StateStore, run: Run, step: str | None, poll: float = POLL_S
) -> Execution:
    """As `chosen_step`; a step named that the running run has yet to start is waited for
    (`zenctl logs train -f --run ID` just after the apply printed its ID)."""
    while True:
        try:
            return chosen_step(run, store.executions_of_run(run.id), step)
        except UserError:
            store.db.refresh()
            now = store.run(run.id)
            planned = (now.planned or {}) if now is not None else {}
            waiting = [address for address in planned if step in (address, *_short_names(address))]
            if now is None or now.status != "running" or len(waiting) != 1:
                raise
        time.sleep(poll)


def _short_names(address: str) -> tuple[str, ...]:
    parts = address.split(".")  # pipeline.NAME.step.NAME
    return (parts[-1], f"{parts[1]}.{parts[-1]}") if len(parts) == 4 else ()


def log_file(execution: Execution, stores: Sequence[ArtifactStore] = ()) -> Path:
    """Where the step's log is read from: its file, or, for a bucket's log, the copy this
    machine streamed it through when the step ran here (the store whose `log_path` it is)."""
    uri = execution.log_uri or ""
    path = local_file(uri)
    for store in stores if path is None else ():
        nearby, where = store.log_path(execution.run_id, execution.address)
        if where == uri and nearby.exists():
            return nearby
    if path is None:
        raise UserError(
            f"The log of {execution.address} is not on this machine",
            f"It is kept at {uri}; read it there (for a bucket: `gcloud storage cat {uri}`).",
        )
    return path


def print_log(
    store: StateStore,
    execution: Execution,
    write: Callable[[str], None],
    follow: bool,
    poll: float = POLL_S,
    artifact_stores: Sequence[ArtifactStore] = (),
) -> None:
    """Write the step's log; with `follow`, keep writing what it adds until its execution is
    recorded as ended (its last lines included)."""
    path = log_file(execution, artifact_stores)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    offset = 0
    while True:
        # the status first: once it says ended, the log was complete before it was recorded
        ended = not follow or _ended(store, execution.id)
        offset = _drain(path, offset, decoder, write)
        if ended:
            write(decoder.decode(b"", final=True))
            if offset == 0 and not path.exists():
                raise UserError(
                    f"No log for {execution.address}",
                    f"{path} is missing: the artifact folder was cleaned, or the step never "
                    "started.",
                )
            return
        time.sleep(poll)


def _ended(store: StateStore, execution_id: str) -> bool:
    store.db.refresh()
    current = store.execution(execution_id)
    return current is None or current.status != "running"


def _drain(
    path: Path, offset: int, decoder: codecs.IncrementalDecoder, write: Callable[[str], None]
) -> int:
    """Write what the file holds past `offset`; the new offset."""
    try:
        with open(path, "rb") as log:
            log.seek(offset)
            data = log.read()
    except FileNotFoundError:  # not created yet: the step is starting
        return offset
    if data:
        write(decoder.decode(data))
    return offset + len(data)
