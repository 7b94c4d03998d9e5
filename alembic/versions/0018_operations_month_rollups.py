"""operations rollups: month rows beside day rows (`span` "d" or "m")

A year of the operations report then reads 12 rows per key instead of 365. Existing rows are
day rows; the rollup state is cleared, so the worker rebuilds them with their month rows.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 19:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("ops_daily", "ops_agent_daily", "ops_satisfaction_daily")


def upgrade() -> None:
    for name in TABLES:
        with op.batch_alter_table(name) as batch:
            batch.add_column(sa.Column("span", sa.String(length=1), server_default="d",
                                       nullable=False))
        op.create_index(f"ix_{name}_span_day", name, ["span", "day"])
    # Rolled-up months get their month rows on the next run that recomputes them: start the
    # rollups over so that every whole month has one.
    op.execute("DELETE FROM ops_rollup_state")


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_index(f"ix_{name}_span_day", table_name=name)
        with op.batch_alter_table(name) as batch:
            batch.drop_column("span")
