"""What an `orchestrator "dask"` block may say. Its own module, named by import path in the
provider: `zenctl validate` imports it without importing Dask."""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator

from zenctl.sdk import Settings


class DaskSettings(Settings):
    scheduler: str | None = Field(
        None,
        description='The scheduler\'s address, e.g. "tcp://10.0.0.5:8786"; '
        "left out: a local cluster per apply.",
    )
    workers: int | None = Field(
        None,
        ge=1,
        description="Worker processes of the local cluster; by default --parallelism.",
    )
    connect_timeout: float = Field(
        5.0, gt=0, description="Seconds to wait for the scheduler to answer."
    )

    @field_validator("workers")
    @classmethod
    def _workers_need_a_local_cluster(cls, workers: int | None, info: ValidationInfo) -> int | None:
        if workers is not None and info.data.get("scheduler") is not None:
            raise ValueError(
                "`workers` sizes the local cluster started when `scheduler` is left out; "
                "a scheduler's workers are started with `dask worker`"
            )
        return workers
