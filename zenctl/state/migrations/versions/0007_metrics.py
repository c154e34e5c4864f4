"""Metrics: the values a step's metrics outputs held, one row per key, per execution.

A step names which of its outputs are metrics (`metrics = ["scores"]`); each is a flat mapping
recorded here beside its artifact, so `zenctl metrics show|diff` and the runs table read them
without loading any artifact. `value` holds the number (NULL for text, booleans and null),
for sorting and comparing in SQL; `value_json` the value exactly as JSON, so a float written
1.0 reads back as 1.0.

`run_placements` records what a run put in place without running it: an execution reused
from history (a param set back) or a step moved (execution_id NULL where the old address was
left). With the executions each run made, it replays what was current after any run, so a
run's metrics are those of every step it stood on, reused ones included. Stores from before
0007 have none: their reuses are not known, and a run shows the executions newest then.

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
    op.create_table(
        "run_placements",
        sa.Column("run_id", sa.String(36), sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("workspace", sa.String(64), nullable=False),
        sa.Column("address", sa.String(255), nullable=False),
        sa.Column("execution_id", sa.String(36), sa.ForeignKey("step_executions.id")),
        sa.Column("serial", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "serial", "address"),
    )


def downgrade() -> None:
    op.drop_table("run_placements")
    op.drop_table("metrics")
