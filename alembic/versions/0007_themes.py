"""themes: taxonomy, response-theme links, reviews, model versions

Revision ID: 0007
Revises: 0001
Create Date: 2026-11-25 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "theme",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("examples", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "theme_model_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("training_key", sa.String(length=100), nullable=False),
        sa.Column("n_examples", sa.Integer(), nullable=False),
        sa.Column("themes", sa.JSON(), nullable=False),
        sa.Column("evaluation", sa.JSON(), nullable=False),
        sa.Column("sentiment_source", sa.String(length=10), nullable=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("training_key"),
    )
    op.create_index("ix_theme_model_version_created_at", "theme_model_version", ["created_at"])
    op.create_table(
        "response_theme",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("theme_id", sa.Integer(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("sentiment", sa.String(length=10), nullable=True),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["model_version_id"], ["theme_model_version.id"]),
        sa.ForeignKeyConstraint(["response_id"], ["response.id"]),
        sa.ForeignKeyConstraint(["theme_id"], ["theme.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("response_id", "theme_id", name="uq_response_theme"),
    )
    op.create_index("ix_response_theme_response_id", "response_theme", ["response_id"])
    op.create_index("ix_response_theme_theme_id", "response_theme", ["theme_id"])
    op.create_table(
        "theme_review",
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("reviewer", sa.String(length=320), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["response_id"], ["response.id"]),
        sa.PrimaryKeyConstraint("response_id"),
    )
    op.create_index("ix_theme_review_reviewed_at", "theme_review", ["reviewed_at"])


def downgrade() -> None:
    op.drop_index("ix_theme_review_reviewed_at", table_name="theme_review")
    op.drop_table("theme_review")
    op.drop_index("ix_response_theme_theme_id", table_name="response_theme")
    op.drop_index("ix_response_theme_response_id", table_name="response_theme")
    op.drop_table("response_theme")
    op.drop_index("ix_theme_model_version_created_at", table_name="theme_model_version")
    op.drop_table("theme_model_version")
    op.drop_table("theme")
