"""The `processing "dataflow"` component: each step launches a Dataflow Flex Template job.

The step function is called like any other (params and inputs) and returns the template
parameters it adds to the component's `parameters` (or None). The executor launches the job,
polls it with backoff until it ends, and cancels it on Ctrl-C. The step's output is a JSON
record of the job (ID, console URL, final state, template, parameters): the data itself lives
where the template wrote it, which the parameters say.

Jobs are remote, so steps wait in threads of this process; the client libraries are imported
only when an apply starts a Dataflow step.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TextIO

from zenctl.sdk import (
    ArtifactStore,
    StepExecutor,
    StepResult,
    StepTask,
    call_function,
    execute_step,
    parse_settings,
    step_log,
)
from zenctl_gcp.settings import DataflowSettings, template_parameter

SUCCEEDED = ("JOB_STATE_DONE", "JOB_STATE_DRAINED")
ENDED = (*SUCCEEDED, "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_UPDATED")
MAX_POLL_SECONDS = 60.0
BLOCK = 'processing "dataflow"'


class JobFailed(RuntimeError):
    """The job ended in a state other than done: its error messages say why."""


class DataflowExecutor(StepExecutor):
    def __init__(self, settings: DataflowSettings) -> None:
        self.settings = settings
        self._pool: ThreadPoolExecutor | None = None
        self._cancel = threading.Event()

    @classmethod
    def from_settings(cls, settings: dict[str, Any], root: Path) -> DataflowExecutor:
        return cls(parse_settings(DataflowSettings, settings, BLOCK))

    def start(self, parallelism: int) -> None:
        self._cancel.clear()
        self._pool = ThreadPoolExecutor(max(1, parallelism), thread_name_prefix="dataflow")

    def submit(self, task: StepTask) -> Future[StepResult]:
        if self._pool is None:
            raise RuntimeError("dataflow executor not started")
        # capture=False: several steps share this process, each writes its own log
        return self._pool.submit(execute_step, task, self.run_job, False)

    def shutdown(self, cancel: bool) -> None:
        if self._pool is None:
            return
        if cancel:
            self._cancel.set()  # each poller cancels its job, then returns
        self._pool.shutdown(wait=True, cancel_futures=cancel)
        self._pool = None

    def run_job(self, task: StepTask, store: ArtifactStore, details: dict[str, str]) -> Any:
        """A `StepBody`: launch, wait, and return the job's record."""
        # In this process, its output not captured: the function only computes parameters.
        extra = call_function(task, store, details)
        if not isinstance(extra, dict | None):
            raise TypeError(
                f"{task.run} runs on a Dataflow processing component and must return a dict "
                f"of template parameters, or None; it returned {type(extra).__name__}"
            )
        parameters = {
            **self.settings.parameters,
            **{str(k): template_parameter(v) for k, v in (extra or {}).items()},
        }
        api = DataflowApi(self.settings)
        with step_log(task) as log:  # the service's messages may quote a secret parameter
            job_id = api.launch(_job_name(task.address), parameters)
            details["dataflow job"] = job_id
            details["console"] = self.settings.console_url(job_id)
            print(f"launched Dataflow job {job_id}: {details['console']}", file=log)
            state = self._wait(api, job_id, log)
            if state not in SUCCEEDED:
                messages = api.error_messages(job_id)
                for message in messages:
                    print(message, file=log)
                raise JobFailed(
                    f"Dataflow job {job_id} ended {state}"
                    + (f": {'; '.join(messages)}" if messages else "")
                )
        return {
            "job_id": job_id,
            "console_url": details["console"],
            "state": state,
            "project": self.settings.project,
            "region": self.settings.region,
            "template": self.settings.template,
            "parameters": parameters,
        }

    def _wait(self, api: DataflowApi, job_id: str, log: TextIO) -> str:
        """Poll until the job ends; on Ctrl-C, cancel it and fail the step."""
        delay, last = self.settings.poll_seconds, ""
        while True:
            state = api.state(job_id)
            if state != last:
                print(f"{time.strftime('%H:%M:%S')} {state}", file=log)
                last = state
            if state in ENDED:
                return state
            if self._cancel.wait(delay):
                api.cancel(job_id)
                print(f"cancel requested for job {job_id} (apply interrupted)", file=log)
                raise JobFailed(f"Dataflow job {job_id} cancelled: the apply was interrupted")
            delay = min(delay * 1.5, MAX_POLL_SECONDS)


class DataflowApi:
    """The Dataflow v1beta3 calls a step makes, over REST, with transient errors retried."""

    def __init__(self, settings: DataflowSettings) -> None:
        from google.cloud import dataflow_v1beta3 as dataflow

        self.settings = settings
        self.dataflow = dataflow
        options: dict[str, Any] = {"transport": "rest"}
        if settings.api_endpoint:
            options["client_options"] = {"api_endpoint": settings.api_endpoint}
        if settings.api_endpoint.startswith("http://"):
            # plain HTTP is a local fake or emulator: no Google credentials to send
            from google.auth.credentials import AnonymousCredentials

            options["credentials"] = AnonymousCredentials()  # type: ignore[no-untyped-call]
        self.templates = dataflow.FlexTemplatesServiceClient(**options)
        self.jobs = dataflow.JobsV1Beta3Client(**options)
        self.messages = dataflow.MessagesV1Beta3Client(**options)
        self.where = {"project_id": settings.project, "location": settings.region}

    def launch(self, job_name: str, parameters: dict[str, str]) -> str:
        # Not retried: a launch whose answer was lost may have started a job.
        response = self.templates.launch_flex_template(
            request=self.dataflow.LaunchFlexTemplateRequest(
                **self.where,
                launch_parameter=self.dataflow.LaunchFlexTemplateParameter(
                    job_name=job_name,
                    container_spec_gcs_path=self.settings.template,
                    parameters=parameters,
                    environment=self.dataflow.FlexTemplateRuntimeEnvironment(
                        **self.settings.environment
                    ),
                ),
            )
        )
        return str(response.job.id)

    def state(self, job_id: str) -> str:
        job = _retried(
            lambda: self.jobs.get_job(
                request=self.dataflow.GetJobRequest(**self.where, job_id=job_id)
            )
        )
        return str(job.current_state.name)

    def cancel(self, job_id: str) -> None:
        _retried(
            lambda: self.jobs.update_job(
                request=self.dataflow.UpdateJobRequest(
                    **self.where,
                    job_id=job_id,
                    job=self.dataflow.Job(
                        requested_state=self.dataflow.JobState.JOB_STATE_CANCELLED
                    ),
                )
            )
        )

    def error_messages(self, job_id: str, limit: int = 5) -> list[str]:
        pages = _retried(
            lambda: self.messages.list_job_messages(
                request=self.dataflow.ListJobMessagesRequest(
                    **self.where,
                    job_id=job_id,
                    minimum_importance=self.dataflow.JobMessageImportance.JOB_MESSAGE_ERROR,
                )
            )
        )
        return [message.message_text for message in pages.job_messages][:limit]


def _retried(call: Callable[[], Any]) -> Any:
    """Retry throttling, server errors and dropped connections: bounded, backoff with jitter."""
    import requests
    import tenacity
    from google.api_core import exceptions

    transient = (
        exceptions.TooManyRequests,
        exceptions.InternalServerError,
        exceptions.BadGateway,
        exceptions.ServiceUnavailable,
        exceptions.GatewayTimeout,
        requests.ConnectionError,
    )
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(transient),
        wait=tenacity.wait_exponential_jitter(initial=1, max=30),
        stop=tenacity.stop_after_attempt(5),
        reraise=True,
    )
    return retrying(call)


def _job_name(address: str) -> str:
    """A valid, readable Dataflow job name: lowercase letters, digits and dashes."""
    step = re.sub(r"[^a-z0-9]+", "-", address.removeprefix("pipeline.").lower()).strip("-")
    return f"zenctl-{step[:40].strip('-')}-{time.strftime('%Y%m%d-%H%M%S')}"
