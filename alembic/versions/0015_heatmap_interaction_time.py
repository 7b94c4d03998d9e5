"""the heatmap counts by the interaction's weekday and hour, no longer the answer's: the hourly
rollup is rebuilt (data only, no schema change)

Until the worker's next rollup run, readers take every figure from the live rows (a rollup
state whose time zone does not match is not trusted), so no page shows a half-old heatmap.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 18:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM report_hourly")
    # A time zone no report uses: the next run starts over (feedback/reports/rollups.py).
    op.execute("UPDATE report_rollup_state SET time_zone = '', rolled_through = NULL")


def downgrade() -> None:
    op.execute("DELETE FROM report_hourly")
    op.execute("UPDATE report_rollup_state SET time_zone = '', rolled_through = NULL")
