"""What an `orchestrator "dask"` block may say. Its own module, named by import path in the
provider: `zenctl validate` imports it without importing Dask."""

from __future__ import annotations

from typing import Any

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
    worker_resources: dict[str, float] | None = Field(
        None,
        description="What each worker of the local cluster declares, e.g. { GPU = 1, memory = "
        "8589934592 }: steps with a resources block run only where it is declared.",
    )
    connect_timeout: float = Field(
        5.0, gt=0, description="Seconds to wait for the scheduler to answer."
    )

    @field_validator("workers", "worker_resources")
    @classmethod
    def _local_cluster_only(cls, value: Any, info: ValidationInfo) -> Any:
        if value is not None and info.data.get("scheduler") is not None:
            raise ValueError(
                f"`{info.field_name}` shapes the local cluster started when `scheduler` is "
                "left out; a scheduler's workers are started with `dask worker` (and its "
                "--resources)"
            )
        return value
