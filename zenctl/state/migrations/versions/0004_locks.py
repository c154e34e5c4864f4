"""State locks, and full-precision times and long texts on MySQL.

The lock row (one per workspace) names its holder and is kept fresh by a heartbeat, so a
waiting apply can tell a live holder from a dead one (see zenctl/state/lock.py).
On MySQL/MariaDB, 0001's FLOAT columns were single precision (a timestamp to about two
minutes) and TEXT held 64 KiB; they become DOUBLE and MEDIUMTEXT.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0004"
down_revision = "0003"

_TIMES = {
    "runs": ("started_at", "finished_at"),
    "step_executions": ("started_at", "finished_at", "duration"),
    "artifacts": ("created_at",),
}
_TEXTS = {
    "runs": ("summary",),
    "step_executions": ("components", "outputs", "log_uri", "error"),
    "artifacts": ("uri",),
}
_NOT_NULL = {("runs", "started_at"), ("artifacts", "created_at"), ("artifacts", "uri")}


def upgrade() -> None:
    op.create_table(
        "locks",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("operation", sa.String(64), nullable=False),
        sa.Column("username", sa.String(128)),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float(53), nullable=False),
        sa.Column("heartbeat_at", sa.Float(53), nullable=False),
    )
    if op.get_bind().dialect.name != "mysql":
        return
    for table, columns in _TIMES.items():
        for column in columns:
            op.alter_column(
                table, column, type_=mysql.DOUBLE(), nullable=(table, column) not in _NOT_NULL
            )
    for table, columns in _TEXTS.items():
        for column in columns:
            op.alter_column(
                table, column, type_=mysql.MEDIUMTEXT(), nullable=(table, column) not in _NOT_NULL
            )


def downgrade() -> None:
    op.drop_table("locks")
