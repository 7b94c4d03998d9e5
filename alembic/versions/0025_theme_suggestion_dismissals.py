"""themes: merge/split suggestions a lead dismissed (theme_suggestion_dismissal)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-02 00:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | Sequence[str] | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "theme_suggestion_dismissal",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("dismissed_by", sa.String(length=320), nullable=False),
        sa.Column("dismissed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("theme_suggestion_dismissal")
