"""The local provider's config schemas: what each component block may say in HCL."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from zenctl.sdk import Settings, UserError, parse_duration


def _duration(text: str) -> str:
    """A duration as zenctl reads every other one (`30s`, `1m30s`, `250ms`)."""
    try:
        parse_duration(text, "duration")
    except UserError as exc:
        raise ValueError(f"{text!r} is not a duration: write one such as 30s, 5m or 1m30s") from exc
    return text


Duration = Annotated[str, AfterValidator(_duration)]


class OrchestratorSettings(Settings):
    pass


class ArtifactStoreSettings(Settings):
    path: str = Field(".zenctl/artifacts", description="The folder, relative to the project.")


class TrainingSettings(Settings):
    env: dict[str, str] = Field(
        default_factory=dict, description="Environment variables the training process gets."
    )
    timeout: Duration | None = Field(
        None, description='Stop a step that runs longer, e.g. "30m", "1h30m", "90s".'
    )
    gpus: int = Field(0, ge=0, description="GPUs to use (CUDA_VISIBLE_DEVICES); 0: CPU only.")


class ServingSettings(Settings):
    port: int = Field(
        0, ge=0, le=65535, description="Port on 127.0.0.1; 0 picks a free one at create."
    )
    max_body_mb: int = Field(
        16, ge=1, description="Largest request body in MiB; a bigger one is answered 413."
    )
    read_timeout: Duration = Field(
        "10s", description='A client silent this long mid-request is dropped, e.g. "10s".'
    )
