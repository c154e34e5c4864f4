"""A step's result as apply records it: what its executor returned, or the failure that ended
it outside its own code; its duration the wall time since the step was handed to the executor.

The executor measures the step's own time. The wall time also counts the process start, the
imports, the artifact uploads and the result's way back: what a run pays, so what `show`,
`runs show` and the plan's estimate from past runs should say.
"""

from __future__ import annotations

import time
from concurrent.futures import Future
from dataclasses import replace

from zenctl.providers.protocol import StepLost, StepResult


def outcome(future: Future[StepResult], address: str, submitted: float) -> StepResult:
    """The finished `future`'s result; `submitted`: when the step was handed over
    (time.perf_counter)."""
    try:
        result = future.result()
    except StepLost as exc:  # the executor says what ended it: "killed by signal 9 (SIGKILL)..."
        result = StepResult(address, False, {}, str(exc), 0.0)
    except Exception as exc:  # anything else that ended it outside its own code
        error = f"the step ended without a result: {type(exc).__name__}: {exc}"
        result = StepResult(address, False, {}, error, 0.0)
    return replace(result, duration=time.perf_counter() - submitted)
