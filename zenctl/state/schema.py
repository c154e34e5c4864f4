"""Schema versions, managed by Alembic migrations from the first version on."""

from __future__ import annotations

from pathlib import Path

from zenctl.diagnostics import UserError
from zenctl.state.db import Database

SCHEMA_HEAD = "0007"  # kept equal to the newest migration by tests/test_state.py
MIGRATIONS = Path(__file__).parent / "migrations"


def schema_version(db: Database) -> str | None:
    try:
        rows = db.query("SELECT version_num FROM alembic_version")
    except Exception:  # no table yet: an empty database
        return None
    return str(rows[0]["version_num"]) if rows else None


def check_schema(db: Database) -> None:
    """Refuse to work on a store whose schema this zenctl does not speak."""
    version = schema_version(db)
    if version == SCHEMA_HEAD:
        return
    if version is not None and version > SCHEMA_HEAD:
        raise newer_schema(db, version)
    raise UserError(
        "Metadata store needs an upgrade",
        f"The store {db.url} has schema {version or 'none'}, this zenctl needs {SCHEMA_HEAD}. "
        "Back the store up (`zenctl state export backup.json`), then run "
        "`zenctl state upgrade`.",
    )


def newer_schema(db: Database, version: str) -> UserError:
    return UserError(
        "Metadata store is newer than this zenctl",
        f"The store {db.url} has schema {version}; this zenctl knows up to {SCHEMA_HEAD}. "
        "Upgrade zenctl; it will not write to a schema it does not know.",
    )


def upgrade(db: Database, revision: str = "head") -> None:
    """Migrate the store to `revision` (the newest by default), creating it when empty."""
    import sqlalchemy
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = sqlalchemy.create_engine(db.engine_url())
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()
    db.migrated()
