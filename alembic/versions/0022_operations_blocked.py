"""operations: `interaction.blocked` (turned away before the queue: busy signal, queue full)
and its count in the daily rollups

Existing rollup rows count 0 blocked, which is right: no interaction had the field before.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-01 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLLUPS = ("ops_daily", "ops_agent_daily")


def upgrade() -> None:
    with op.batch_alter_table("interaction") as batch:
        batch.add_column(sa.Column("blocked", sa.Boolean(), nullable=True))
    for name in ROLLUPS:
        with op.batch_alter_table(name) as batch:
            batch.add_column(sa.Column("blocked", sa.BigInteger(), server_default="0",
                                       nullable=False))


def downgrade() -> None:
    for name in reversed(ROLLUPS):
        with op.batch_alter_table(name) as batch:
            batch.drop_column("blocked")
    with op.batch_alter_table("interaction") as batch:
        batch.drop_column("blocked")
