"""themes: "discover themes" becomes a run the worker does (theme_discovery_run); runs say
which stage they are at (stage)

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-02 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | Sequence[str] | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "theme_discovery_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("requested_by", sa.String(length=320), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("k", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("worker", sa.String(length=100), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stage", sa.String(length=20), nullable=True),
        sa.Column("n_comments", sa.Integer(), nullable=False),
        sa.Column("features", sa.String(length=20), nullable=True),
        sa.Column("created", sa.JSON(), nullable=False),
        sa.Column("sizes", sa.JSON(), nullable=False),
        sa.Column("error", sa.String(length=1000), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_theme_discovery_run_status_lease", "theme_discovery_run",
                    ["status", "lease_until"])
    op.add_column("theme_training_run", sa.Column("stage", sa.String(length=20), nullable=True))
    # At most one run of each kind waiting and one under way (two leads asking at once).
    pending = sa.text("status IN ('queued', 'running')")
    for table in ("theme_training_run", "theme_discovery_run"):
        op.create_index(f"uq_{table}_pending", table, ["status"], unique=True,
                        sqlite_where=pending, postgresql_where=pending)


def downgrade() -> None:
    for table in ("theme_training_run", "theme_discovery_run"):
        op.drop_index(f"uq_{table}_pending", table_name=table)
    with op.batch_alter_table("theme_training_run") as batch:
        batch.drop_column("stage")
    op.drop_index("ix_theme_discovery_run_status_lease", table_name="theme_discovery_run")
    op.drop_table("theme_discovery_run")
