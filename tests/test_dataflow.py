"""processing "dataflow": Flex Template jobs launched, polled, failed, cancelled, against a fake."""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Project

pytest.importorskip("zenctl_gcp")

from dataflow_fake import FakeDataflow  # after the skip: it needs the Dataflow client

STEPS = '''
def export(table: str) -> dict:
    """The template parameters this step adds: computed from its params (and inputs)."""
    return {"table": table, "output": "gs://demo-bucket/exports/" + table}


def report(job: dict) -> str:
    return f"{job['state']} {job['parameters']['output']}"
'''

MAIN = """
stack "gcp" {{
  orchestrator   "local"  {{}}
  artifact_store "local"  {{}}
  metadata_store "sqlite" {{}}
  processing "dataflow" {{
    project      = "demo-project"
    region       = "europe-west1"
    template     = "gs://demo-bucket/templates/export.json"
    parameters   = {{ format = "parquet", shards = 4 }}
    environment  = {{ max_workers = 2 }}
    api_endpoint = "{endpoint}"
    poll_seconds = 0.05
  }}
}}

pipeline "p" {{
  step "export" {{
    run    = "steps:export"
    params = {{ table = "events" }}
    on     = "processing"
  }}
  step "report" {{
    run    = "steps:report"
    inputs = {{ job = step.export.outputs.output }}
  }}
}}
"""


@pytest.fixture
def fake() -> Iterator[FakeDataflow]:
    server = FakeDataflow().start()
    yield server
    server.stop()


@pytest.fixture
def dataflow_project(tmp_path: Path, fake: FakeDataflow) -> Project:
    # end to end: the Dataflow executor imports the step's code in zenctl's own process
    project = Project(tmp_path, end_to_end=True)
    project.write("steps.py", STEPS)
    project.write("main.zc.hcl", MAIN.format(endpoint=fake.endpoint))
    return project


def _output(show: str) -> dict[str, object]:
    found = re.search(r"^    output\s+\S+\s+json\s+\d+ bytes\s+file://(\S+)", show, re.M)
    assert found, show
    return dict(json.loads(Path(found.group(1)).read_text()))


def test_a_job_that_succeeds_after_polls_records_its_id_url_and_record(
    dataflow_project: Project, fake: FakeDataflow
) -> None:
    fake.script = ["JOB_STATE_PENDING", "JOB_STATE_RUNNING", "JOB_STATE_RUNNING", "JOB_STATE_DONE"]
    fake.unavailable = 1  # a transient error while polling is retried, not a failure
    applied = dataflow_project.apply()
    assert applied.code == 0, applied.both
    assert "Apply complete! 2 ran" in applied.out

    [launch] = fake.launches
    assert launch["containerSpecGcsPath"] == "gs://demo-bucket/templates/export.json"
    assert launch["parameters"] == {
        "format": "parquet",
        "shards": "4",
        "table": "events",
        "output": "gs://demo-bucket/exports/events",
    }
    assert launch["environment"]["maxWorkers"] == 2
    assert re.fullmatch(r"zenctl-p-step-export-\d{8}-\d{6}", launch["jobName"])
    [job] = fake.jobs.values()
    assert job.polls >= 4 and fake.unavailable == 0 and fake.cancels == []

    show = dataflow_project.run("show", "pipeline.p.step.export").out
    console = f"https://console.cloud.google.com/dataflow/jobs/europe-west1/{job.id}"
    assert f"dataflow job {job.id}" in show
    assert f"console      {console}?project=demo-project" in show
    record = _output(show)
    assert record["job_id"] == job.id and record["state"] == "JOB_STATE_DONE"
    report = dataflow_project.run("show", "pipeline.p.step.report").out
    assert "text" in report  # the downstream step read the record
    assert "No changes. 2 steps cached." in dataflow_project.run("plan").out


@pytest.mark.parametrize(
    ("final", "messages"),
    [
        ("JOB_STATE_FAILED", ["Workflow failed. Causes: S04:Read+Parse failed.", "No such table"]),
        ("JOB_STATE_CANCELLED", []),
    ],
)
def test_a_failed_or_cancelled_job_fails_the_step_with_its_messages(
    dataflow_project: Project, fake: FakeDataflow, final: str, messages: list[str]
) -> None:
    fake.script = ["JOB_STATE_RUNNING", final]
    fake.error_messages = messages
    applied = dataflow_project.apply()
    assert applied.code == 1, applied.both
    [job] = fake.jobs.values()
    error = f"JobFailed: Dataflow job {job.id} ended {final}"
    assert error in applied.both
    for message in messages:
        assert message in applied.both
    assert "pipeline.p.step.report" in applied.both and "skipped" in applied.both.lower()
    show = dataflow_project.run("show", "pipeline.p.step.export").out
    assert f"status       failed: {error}" in show
    assert f"dataflow job {job.id}" in show  # the failed job stays findable
    assert fake.cancels == []


def test_job_messages_that_quote_a_secret_param_are_masked(
    dataflow_project: Project, fake: FakeDataflow
) -> None:
    """The step runs in a thread of zenctl, which writes its log itself: masked too."""
    secret = "tbl-SECRET-5e1c"
    main = dataflow_project.root / "main.zc.hcl"
    config = main.read_text().replace('{ table = "events" }', "{ table = var.table }")
    main.write_text('variable "table" {\n  type      = string\n  sensitive = true\n}\n' + config)
    fake.script = ["JOB_STATE_RUNNING", "JOB_STATE_FAILED"]
    fake.error_messages = [f"No such table {secret}", f"Output gs://demo-bucket/exports/{secret}"]
    applied = dataflow_project.apply(env={"ZENCTL_VAR_table": secret})
    assert applied.code == 1, applied.both
    assert "No such table ***; Output gs://demo-bucket/exports/***" in applied.err, applied.err
    (log,) = dataflow_project.root.rglob("pipeline.p.step.export.log")
    assert "No such table ***\nOutput gs://demo-bucket/exports/***\n" in log.read_text()
    show = dataflow_project.run("show", "pipeline.p.step.export")
    written = [p.read_bytes() for p in dataflow_project.root.rglob("*") if p.is_file()]
    assert secret not in applied.both + show.both
    assert not [data for data in written if secret.encode() in data]


def test_ctrl_c_while_polling_cancels_the_job(
    dataflow_project: Project, fake: FakeDataflow
) -> None:
    fake.script = ["JOB_STATE_RUNNING"]  # runs until cancelled
    process = dataflow_project.start_apply()
    assert fake.polled.wait(60), "the job was never polled"
    os.kill(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, out + err
    assert "Traceback" not in out + err
    [job] = fake.jobs.values()
    assert fake.cancels == [job.id]
    show = dataflow_project.run("show", "pipeline.p.step.export").out
    assert "status       interrupted" in show
    assert f"dataflow job {job.id}" in show


def test_a_component_without_a_template_is_a_clear_error(
    dataflow_project: Project, fake: FakeDataflow
) -> None:
    main = dataflow_project.root / "main.zc.hcl"
    main.write_text(re.sub(r"\n\s*template\s*=.*", "", main.read_text()))
    applied = dataflow_project.apply()
    assert applied.code == 1
    assert "Error: Missing required argument" in applied.err
    assert 'The argument "template" is required' in applied.err
    assert fake.launches == []
