"""The first schema: state lineage and serial, runs, step executions, artifacts, lineage edges.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "zenctl_state",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("lineage", sa.String(36), nullable=False),
        sa.Column("serial", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("workspace", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float),
        sa.Column("git_sha", sa.String(40)),
        sa.Column("git_dirty", sa.Boolean),
        sa.Column("zenctl_version", sa.String(32), nullable=False),
        sa.Column("username", sa.String(128)),
        sa.Column("host", sa.String(255)),
        sa.Column("summary", sa.Text),
    )
    op.create_table(
        "step_executions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("run_id", sa.String(36), sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("workspace", sa.String(64), nullable=False),
        sa.Column("address", sa.String(255), nullable=False),
        sa.Column("serial", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("fingerprint", sa.String(64)),
        sa.Column("components", sa.Text),
        sa.Column("outputs", sa.Text),
        sa.Column("started_at", sa.Float),
        sa.Column("finished_at", sa.Float),
        sa.Column("duration", sa.Float),
        sa.Column("log_uri", sa.Text),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_exec_address", "step_executions", ["workspace", "address", "serial"])
    op.create_index("ix_exec_fingerprint", "step_executions", ["fingerprint"])
    op.create_index("ix_exec_run", "step_executions", ["run_id"])
    op.create_table(
        "artifacts",
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column("materializer", sa.String(32), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("uri", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("produced_by", sa.String(36)),
    )
    op.create_table(
        "lineage_edges",
        sa.Column(
            "execution_id", sa.String(36), sa.ForeignKey("step_executions.id"), nullable=False
        ),
        sa.Column("direction", sa.String(3), nullable=False),  # "in" or "out"
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("ref", sa.String(255), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("execution_id", "direction", "name"),
    )
    op.create_index("ix_lineage_hash", "lineage_edges", ["hash"])


def downgrade() -> None:
    for table in ("lineage_edges", "artifacts", "step_executions", "runs", "zenctl_state"):
        op.drop_table(table)
