"""What the gcp provider's blocks may say: `artifact_store "gcs"`, `metadata_store "gcs"` and
`processing "dataflow"`. Their own module, named by import path in the provider: `zenctl
validate` imports it without importing the Google Cloud libraries."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator

from zenctl.sdk import Settings

_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")


def bucket_name(value: str) -> str:
    """A bucket setting's check: the name alone, as Cloud Storage spells them."""
    if value.startswith("gs://"):
        raise ValueError(f'give the bucket name without "gs://" (bucket = "{value[5:]}")')
    if not _BUCKET_NAME.match(value):
        raise ValueError(f"{value!r} is not a bucket name (lowercase letters, digits, -_.)")
    return value


Bucket = Annotated[str, Field(description="The bucket's name, without gs://.")]
Prefix = Annotated[str, Field(description="The folder in the bucket that zenctl uses.")]
BillingProject = Annotated[
    str | None,
    Field(description="The project billed; by default Application Default Credentials'."),
]


class GcsStoreSettings(Settings):
    """A bucket and the folder in it: what `metadata_store "gcs"` takes."""

    bucket: Bucket
    prefix: Prefix = "zenctl"
    project: BillingProject = None

    check_bucket = field_validator("bucket")(bucket_name)


class GcsSettings(GcsStoreSettings):
    """`artifact_store "gcs"`: the bucket, and where steps read and write locally."""

    cache: str = Field(
        ".zenctl/gcs-cache",
        description="The local folder of source snapshots and step logs, relative to the project.",
    )
    retry_timeout: float = Field(
        60.0, gt=0, description="Seconds of retrying throttling and server errors."
    )
    chunk_size: int = Field(
        16 << 20,
        ge=256 << 10,
        multiple_of=256 << 10,
        description="Bytes per request of an upload over 8 MiB (a resumable upload): what a "
        "dropped connection sends again. A multiple of 256 KiB.",
    )


def template_parameter(value: Any) -> str:
    """Flex Template parameters are strings; numbers and booleans are written as HCL would."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise ValueError(
        "Dataflow template parameters must be strings, numbers or booleans, not a "
        f"{type(value).__name__} ({value!r}): encode it as a string (e.g. JSON)"
    )


class DataflowSettings(Settings):
    project: str = Field(description="The Google Cloud project the jobs run in.")
    region: str = Field(description="The Dataflow region, e.g. europe-west1.")
    template: str = Field(
        description="The gs:// path of the Flex Template spec file that `gcloud dataflow "
        "flex-template build` wrote."
    )
    parameters: dict[str, Annotated[str, BeforeValidator(template_parameter)]] = Field(
        default_factory=dict,
        description="Template parameters of every job; a step's function adds its own.",
    )
    environment: dict[str, Any] = Field(
        default_factory=dict,
        description="FlexTemplateRuntimeEnvironment fields, e.g. { max_workers = 4 }.",
    )
    api_endpoint: str = Field(
        "",
        description='The Dataflow API endpoint: "" for Google\'s, http://127.0.0.1:PORT for a '
        "local fake (no credentials sent).",
    )
    poll_seconds: float = Field(
        5.0, gt=0, description="The first wait between polls of a job; it grows to 60 s."
    )

    @field_validator("template")
    @classmethod
    def _a_gs_path(cls, template: str) -> str:
        if not template.startswith("gs://"):
            raise ValueError(
                "give the Cloud Storage path of the Flex Template spec file that `gcloud "
                "dataflow flex-template build` wrote, e.g. gs://bucket/templates/x.json"
            )
        return template

    def console_url(self, job_id: str) -> str:
        return (
            f"https://console.cloud.google.com/dataflow/jobs/{self.region}/{job_id}"
            f"?project={self.project}"
        )
