"""The provider SDK: everything a provider may import from zenctl, and nothing else.

A provider (providers/*, examples/provider-hello, a third party's) imports `zenctl.sdk` and
its own package only; tests/test_sdk.py fails the build when one reaches further. The core
may then move its modules around freely: what is named here is the contract.

- the contract: `Provider`, `ComponentType`, and the protocols a component implements
  (`ArtifactStore`, `StepExecutor`/`Orchestrator`, `Resource`), with the data they exchange
  (`StepTask`, `StepResult`, `StoredItem`, ...);
- settings: `Settings`, the base of every component's schema, and `parse_settings`;
  `UserError`, the one shape of an error the user can act on;
- the step runtime: `execute_step` runs a task wherever the executor sends it;
  `WorkerPoolExecutor` runs tasks in forked workers on this machine;
- building blocks: a content-addressed folder, the core's hashes and value encodings,
  project paths, and the database seam a `metadata_store` type implements.

Names are imported on first use: a provider's `__init__` is loaded by every command, and must
not make a warm plan pay for pydantic or the step runtime.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zenctl.apply.lifeline import die_with_parent
    from zenctl.apply.step_values import load_inputs
    from zenctl.apply.task import (
        call_function,
        execute_step,
        step_function,
        step_log,
    )
    from zenctl.apply.workers import WorkerPoolExecutor, cause_of_death
    from zenctl.artifacts.folder import FolderArtifactStore
    from zenctl.artifacts.materializers import Materializer
    from zenctl.artifacts.materializers import dump as dump_value
    from zenctl.artifacts.materializers import load as load_value
    from zenctl.diagnostics import UserError
    from zenctl.durations import parse_duration
    from zenctl.fingerprint.files import hash_bytes, hash_path
    from zenctl.paths import ensure_private_dir, project_dir, resolve_in_project, write_atomic
    from zenctl.processes import pid_alive
    from zenctl.providers.hashing import HashingWriter, write_hashed
    from zenctl.providers.protocol import (
        ArtifactStore,
        Attributes,
        ComponentType,
        Integrity,
        Orchestrator,
        Provider,
        Resource,
        ResourceContext,
        StepBody,
        StepExecutor,
        StepInput,
        StepLost,
        StepResult,
        StepTask,
        StoredItem,
        StoredObject,
    )
    from zenctl.providers.settings import Settings, parse_settings
    from zenctl.state.db import Conflict, Database, LockTable, Row, SQLiteDatabase, retrying

# name -> (module, attribute): where the core keeps each name today
_EXPORTS: dict[str, tuple[str, str]] = {
    **{
        name: ("zenctl.providers.protocol", name)
        for name in (
            "Provider",
            "ComponentType",
            "ArtifactStore",
            "Integrity",
            "StoredItem",
            "StoredObject",
            "StepExecutor",
            "Orchestrator",
            "StepTask",
            "StepInput",
            "StepResult",
            "StepLost",
            "StepBody",
            "Resource",
            "ResourceContext",
            "Attributes",
        )
    },
    "HashingWriter": ("zenctl.providers.hashing", "HashingWriter"),
    "write_hashed": ("zenctl.providers.hashing", "write_hashed"),
    "Settings": ("zenctl.providers.settings", "Settings"),
    "parse_settings": ("zenctl.providers.settings", "parse_settings"),
    "UserError": ("zenctl.diagnostics", "UserError"),
    **{
        name: ("zenctl.apply.task", name)
        for name in (
            "execute_step",
            "call_function",
            "step_function",
            "step_log",
        )
    },
    "load_inputs": ("zenctl.apply.step_values", "load_inputs"),
    "WorkerPoolExecutor": ("zenctl.apply.workers", "WorkerPoolExecutor"),
    "cause_of_death": ("zenctl.apply.workers", "cause_of_death"),
    "die_with_parent": ("zenctl.apply.lifeline", "die_with_parent"),
    "FolderArtifactStore": ("zenctl.artifacts.folder", "FolderArtifactStore"),
    "hash_bytes": ("zenctl.fingerprint.files", "hash_bytes"),
    "hash_path": ("zenctl.fingerprint.files", "hash_path"),
    "Materializer": ("zenctl.artifacts.materializers", "Materializer"),
    "dump_value": ("zenctl.artifacts.materializers", "dump"),
    "load_value": ("zenctl.artifacts.materializers", "load"),
    "resolve_in_project": ("zenctl.paths", "resolve_in_project"),
    "ensure_private_dir": ("zenctl.paths", "ensure_private_dir"),
    "project_dir": ("zenctl.paths", "project_dir"),
    "write_atomic": ("zenctl.paths", "write_atomic"),
    "pid_alive": ("zenctl.processes", "pid_alive"),
    "parse_duration": ("zenctl.durations", "parse_duration"),
    **{
        name: ("zenctl.state.db", name)
        for name in ("Database", "LockTable", "Conflict", "Row", "SQLiteDatabase", "retrying")
    },
}

__all__ = [
    "ArtifactStore",
    "Attributes",
    "ComponentType",
    "Conflict",
    "Database",
    "FolderArtifactStore",
    "HashingWriter",
    "Integrity",
    "LockTable",
    "Materializer",
    "Orchestrator",
    "Provider",
    "Resource",
    "ResourceContext",
    "Row",
    "SQLiteDatabase",
    "Settings",
    "StepBody",
    "StepExecutor",
    "StepInput",
    "StepLost",
    "StepResult",
    "StepTask",
    "StoredItem",
    "StoredObject",
    "UserError",
    "WorkerPoolExecutor",
    "call_function",
    "cause_of_death",
    "die_with_parent",
    "dump_value",
    "ensure_private_dir",
    "execute_step",
    "hash_bytes",
    "hash_path",
    "load_inputs",
    "load_value",
    "parse_duration",
    "parse_settings",
    "pid_alive",
    "project_dir",
    "resolve_in_project",
    "retrying",
    "step_function",
    "step_log",
    "write_atomic",
    "write_hashed",
]


def __getattr__(name: str) -> Any:
    """Import `name` from its home on first use, then keep it here (PEP 562)."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _EXPORTS[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
