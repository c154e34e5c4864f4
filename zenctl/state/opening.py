"""Opening the stack's metadata store: a connection of the right kind (SQLite, a SQL server,
or a provider's store such as a bucket), its schema created or checked, and the state row
(lineage, serial, secrets key) made on first use.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from zenctl.config.model import Component, is_core
from zenctl.config.variables import reveal
from zenctl.diagnostics import DiagnosticsError, UserError
from zenctl.paths import ensure_private_dir, resolve_in_project
from zenctl.state.db import Conflict, Database, ServerDatabase, SQLiteDatabase
from zenctl.state.keys import new_secret_key
from zenctl.state.schema import SCHEMA_HEAD, check_schema, schema_version, upgrade
from zenctl.state.store import StateStore


def open_database(root: Path, component: Component, settings: Mapping[str, Any]) -> Database:
    """A connection to the stack's metadata store; `settings` has its variables evaluated.

    SQLite and the SQL servers are opened here; any other type (a bucket's) comes from the
    provider that offers it, as a `Database` of its own.
    """
    if component.type == "sqlite":
        path = resolve_in_project(root, str(settings.get("path", ".zenctl/metadata.db")))
        if not path.exists():
            ensure_private_dir(path.parent)
            path.touch(mode=0o600)
        return SQLiteDatabase(path)
    try:
        if is_core("metadata_store", component.type):  # a SQL server
            from zenctl.state.urls import server_url

            return ServerDatabase(server_url(component.type, settings), component.type)
        return _provided(root, component, settings)
    except UserError as exc:  # a settings problem: point at the block
        raise DiagnosticsError([replace(exc.diagnostic, range=component.range)]) from None


def _provided(root: Path, component: Component, settings: Mapping[str, Any]) -> Database:
    from zenctl.providers.registry import build_component, component_type, validated

    try:
        component_type("metadata_store", component.type)
    except UserError:
        raise UserError(
            f'Unsupported metadata store "{component.type}"',
            'Choose one of: metadata_store "sqlite" { path = ".zenctl/metadata.db" }, '
            'metadata_store "postgresql" { url = "postgresql://user@host/db" }, '
            'metadata_store "mysql" { url = "mysql://user@host/db" }, or a provider\'s, such '
            'as metadata_store "gcs" { bucket = "my-bucket" } (pip install ./providers/gcp).',
        ) from None
    checked = validated("metadata_store", component.type, reveal(dict(settings)))
    db: Database = build_component("metadata_store", component.type, checked, root)
    return db


def sqlite_missing(root: Path, component: Component, settings: Mapping[str, Any]) -> bool:
    """True for an SQLite store whose file does not exist: plan reads nothing, creates nothing."""
    path = resolve_in_project(root, str(settings.get("path", ".zenctl/metadata.db")))
    return component.type == "sqlite" and not path.exists()


def open_store(
    root: Path, component: Component, settings: Mapping[str, Any], create: bool
) -> StateStore | None:
    """The stack's metadata store; None when it holds no state yet and `create` is false."""
    if not create and sqlite_missing(root, component, settings):
        return None
    db = open_database(root, component, settings)
    if schema_version(db) is None:
        if not create:
            db.close()
            return None
        _create_schema(db)
    check_schema(db)
    if create:
        _initialize(db)
    return StateStore(db)


def _create_schema(db: Database) -> None:
    try:
        upgrade(db)
    except Exception:
        # Another zenctl created it at the same moment: theirs is as good as ours.
        if schema_version(db) != SCHEMA_HEAD:
            raise


def _initialize(db: Database) -> None:
    """The state row: this store's lineage, serial, and the random key of secrets' hashes."""
    if db.query("SELECT 1 AS one FROM zenctl_state WHERE id = 1"):
        return
    try:
        with db.transaction() as execute:
            execute(
                "INSERT INTO zenctl_state (id, lineage, serial, secret_key) "
                "VALUES (1, :lineage, 0, :key)",
                {"lineage": str(uuid.uuid4()), "key": new_secret_key()},
            )
    except Conflict:
        pass  # another zenctl initialized it first
