"""Typed provider settings: a component's HCL block checked against its pydantic model."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from zenctl.diagnostics import UserError

Settings = TypeVar("Settings", bound=BaseModel)


def parse_settings(model: type[Settings], settings: dict[str, Any], block: str) -> Settings:
    """`settings` as `model`; every problem in one error naming the block (`orchestrator "x"`)."""
    try:
        return model.model_validate(settings)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'block'}: {error['msg']}"
            for error in exc.errors()
        )
        raise UserError(f"Invalid settings in {block}", problems) from None
