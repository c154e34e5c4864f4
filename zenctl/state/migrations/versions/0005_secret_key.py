"""Each store keeps its own random key for the hashes of sensitive values.

Until 0004 the key was derived from the store's lineage, which every plan JSON prints, so
anyone holding a posted plan could test guesses of a weak secret offline. A store created
from now on gets 32 random bytes. An existing store keeps the key it had (written here as
stored bytes), so no step re-runs; `zenctl state rotate-key` replaces it with a random one.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from zenctl.state.keys import legacy_secret_key

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.add_column("zenctl_state", sa.Column("secret_key", sa.String(64)))
    bind = op.get_bind()
    for (lineage,) in bind.execute(sa.text("SELECT lineage FROM zenctl_state")).all():
        bind.execute(
            sa.text("UPDATE zenctl_state SET secret_key = :key WHERE lineage = :lineage"),
            {"key": legacy_secret_key(lineage), "lineage": lineage},
        )


def downgrade() -> None:
    with op.batch_alter_table("zenctl_state") as batch:
        batch.drop_column("secret_key")
