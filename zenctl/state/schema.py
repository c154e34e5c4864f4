"""Schema versions, managed by Alembic migrations from the first version on."""

from __future__ import annotations

from pathlib import Path

from zenctl.diagnostics import UserError
from zenctl.state.db import Database

SCHEMA_HEAD = "0003"  # kept equal to the newest migration by tests/test_state.py
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
        raise UserError(
            "Metadata store is newer than this zenctl",
            f"The store {db.url} has schema {version}; this zenctl knows up to {SCHEMA_HEAD}. "
            "Upgrade zenctl; it will not write to a schema it does not know.",
        )
    raise UserError(
        "Metadata store needs an upgrade",
        f"The store {db.url} has schema {version or 'none'}, this zenctl needs {SCHEMA_HEAD}. "
        "Run `zenctl state upgrade` (back the store up first).",
    )


def upgrade(url: str) -> None:
    """Migrate the store at `url` to the newest schema (creates it when empty)."""
    import sqlalchemy
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()
