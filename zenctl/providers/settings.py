"""Typed provider settings: a component's HCL block checked against its pydantic model.

Imported by providers (through zenctl.sdk) and the registry only when settings need checking:
pydantic costs ~0.3 s to import, and a warm plan never pays it.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from zenctl.diagnostics import UserError, validation_words


class Settings(BaseModel):
    """Subclass it per component type; unknown attributes are errors with a did-you-mean."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


M = TypeVar("M", bound=BaseModel)


def parse_settings(model: type[M], settings: dict[str, Any], block: str) -> M:
    """`settings` as `model`; every problem in one error naming the block (`orchestrator "x"`).

    A validator's ValueError is quoted in its own words, without pydantic's prefix.
    """
    try:
        return model.model_validate(settings)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'block'}: {validation_words(error)}"
            for error in exc.errors()
        )
        raise UserError(f"Invalid settings in {block}", problems) from None
