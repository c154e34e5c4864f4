"""Resources: what zenctl created outside the metadata store (model servers, provider kinds).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "resources",
        sa.Column("workspace", sa.String(64), nullable=False),
        sa.Column("address", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("attributes", sa.Text, nullable=False),  # as configured: secrets as hashes
        sa.Column("state", sa.Text, nullable=False),  # as the provider reported it
        sa.Column("serial", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("workspace", "address"),
    )


def downgrade() -> None:
    op.drop_table("resources")
