"""recovery: a covering partial index over open tasks for the queue's counts and filters

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-25 09:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
# After the recovery migration, which creates the table (with "0001" the branches may run in
# either order, and `depends_on` would leave the database's heads unequal to the scripts').
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("next_due_at IS NOT NULL")


def upgrade() -> None:
    op.create_index("ix_recovery_task_open", "recovery_task",
                    ["next_due_at", "owner_id", "team", "priority"], unique=False,
                    postgresql_where=OPEN, sqlite_where=OPEN)


def downgrade() -> None:
    op.drop_index("ix_recovery_task_open", table_name="recovery_task")
