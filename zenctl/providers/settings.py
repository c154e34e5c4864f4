"""The base of provider config schemas: what a component's HCL block may say.

Imported by providers only (and the cold config load): pydantic costs ~0.3 s to import, and
a warm plan never pays it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Settings(BaseModel):
    """Subclass it per component type; unknown attributes are errors with a did-you-mean."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
