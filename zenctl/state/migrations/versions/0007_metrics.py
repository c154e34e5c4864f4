"""Metrics: the values a step's metrics outputs held, one row per key, per execution.

A step names which of its outputs are metrics (`metrics = ["scores"]`); each is a flat mapping
recorded here beside its artifact, so `zenctl metrics show|diff` and the runs table read them
without loading any artifact. `value` holds the number (NULL for text, booleans and null),
for sorting and comparing in SQL; `value_json` the value exactly as JSON, so a float written
1.0 reads back as 1.0.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_table(
        "metrics",
        sa.Column(
            "execution_id", sa.String(36), sa.ForeignKey("step_executions.id"), nullable=False
        ),
        sa.Column("output", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("value_json", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("execution_id", "output", "name"),
    )


def downgrade() -> None:
    op.drop_table("metrics")
