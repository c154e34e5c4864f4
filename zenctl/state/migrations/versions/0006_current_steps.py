"""Each step's current state: the execution the last apply left in place for its address.

Until 0006 a step's state was read as its latest settled execution, which is wrong once an
apply reuses an earlier one from history (a param set back) or a step is moved: the plan
diffed against, and `show` printed, a superseded execution. An existing store starts from
exactly what was read before, so nothing changes until the next apply.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from zenctl.state.writing import DERIVE_CURRENT

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "current_steps",
        sa.Column("workspace", sa.String(64), nullable=False),
        sa.Column("address", sa.String(255), nullable=False),  # may differ from the execution's
        sa.Column(
            "execution_id", sa.String(36), sa.ForeignKey("step_executions.id"), nullable=False
        ),
        sa.Column("serial", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("workspace", "address"),
    )
    op.get_bind().execute(sa.text(DERIVE_CURRENT))


def downgrade() -> None:
    op.drop_table("current_steps")
