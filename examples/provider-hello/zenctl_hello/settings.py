"""What a `greeting "file"` block may say. Its own module, named by import path in the
provider: zenctl imports it (and pydantic) only when settings need checking."""

from __future__ import annotations

from pydantic import Field

from zenctl.sdk import Settings


class GreetingSettings(Settings):
    path: str = Field(description="The file to write, relative to the project.")
    text: str = Field("Hello from zenctl", description="What the file says.")
