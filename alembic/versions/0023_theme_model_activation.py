"""themes: a model version is in use from when a lead (or a retraining that did not do worse)
activates it; earlier versions stay for a one-click rollback

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-01 21:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("theme_model_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_theme_model_version_activated_at", ["activated_at"])
    # Until now the newest version was the one in use: it stays so.
    op.execute("UPDATE theme_model_version SET activated_at = created_at "
               "WHERE id = (SELECT max(id) FROM theme_model_version)")


def downgrade() -> None:
    with op.batch_alter_table("theme_model_version", schema=None) as batch_op:
        batch_op.drop_index("ix_theme_model_version_activated_at")
        batch_op.drop_column("activated_at")
