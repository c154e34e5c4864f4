"""zenctl-hello: a stack component `greeting "file"` that writes a greeting to a file.

Small on purpose: the shape of every resource provider is here. The schema says what the HCL
block may contain; `read` reports what is really on disk (so zenctl sees drift), `create`,
`update` and `destroy` change it and return the state zenctl records.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from zenctl.sdk import (
    Attributes,
    ComponentType,
    Provider,
    Resource,
    ResourceContext,
    resolve_in_project,
)

__version__ = "0.2.0"


class Greeting(Resource):
    replace_on = frozenset({"path"})  # a new path is a new file: the old one is removed

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.text = text

    @classmethod
    def from_settings(cls, settings: dict[str, Any], root: Path) -> Greeting:
        return cls(resolve_in_project(root, settings["path"]), settings["text"])

    def read(self, state: Attributes, context: ResourceContext) -> Attributes | None:
        path = Path(state["file"])
        if not path.is_file():
            return None
        return {"file": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}

    def create(self, desired: Attributes, context: ResourceContext) -> Attributes:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(self.text + "\n")
        return self.read({"file": str(self.path)}, context) or {}

    def update(
        self, state: Attributes, desired: Attributes, context: ResourceContext
    ) -> Attributes:
        return self.create(desired, context)  # rewriting the file is an in-place update

    def destroy(self, state: Attributes, context: ResourceContext) -> None:
        Path(state["file"]).unlink(missing_ok=True)


PROVIDER = Provider(
    name="hello",
    version=__version__,
    components=(
        ComponentType(
            "greeting",
            "file",
            Greeting.from_settings,
            "Writes a greeting to a file (a minimal example resource).",
            "zenctl_hello.settings:GreetingSettings",  # imported only to check settings
        ),
    ),
)
