"""operations rollups: days are rolled up at their end, not after the 7-day repeat window

`ops_rollup_state.settled_through`: rolled-up days before it are settled (inferred FCR final),
later ones provisional. Every day rolled up so far was settled when it was rolled up, so an
existing state is consistent with settled_through = rolled_through: nothing is rebuilt.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ops_rollup_state") as batch:
        batch.add_column(sa.Column("settled_through", sa.Date(), nullable=True))
    op.execute("UPDATE ops_rollup_state SET settled_through = rolled_through")


def downgrade() -> None:
    # The older code only knows settled days: start its rollups over.
    op.execute("DELETE FROM ops_rollup_state")
    with op.batch_alter_table("ops_rollup_state") as batch:
        batch.drop_column("settled_through")
