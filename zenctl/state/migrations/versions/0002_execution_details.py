"""Step executions record details from the executor that ran them (a remote job's ID and URL).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.add_column("step_executions", sa.Column("details", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("step_executions") as batch:
        batch.drop_column("details")
