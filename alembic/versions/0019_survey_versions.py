"""survey editor: versioned survey wording and extra questions, the version an invitation was
sent with, and the answers to extra questions

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 18:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("survey_definition", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("name", sa.String(length=200), nullable=True))
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("survey_version", sa.Integer(), nullable=True))
    op.create_table(
        "survey_version",
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["survey_id"], ["survey_definition.id"]),
        sa.PrimaryKeyConstraint("survey_id", "version"),
    )
    op.create_table(
        "response_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("survey_version", sa.Integer(), nullable=True),
        sa.Column("question_id", sa.String(length=40), nullable=False),
        sa.Column("question_type", sa.String(length=10), nullable=False),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["response_id"], ["response.id"]),
        sa.ForeignKeyConstraint(["survey_id"], ["survey_definition.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("response_id", "question_id", name="uq_response_answer_question"),
    )
    op.create_index("ix_response_answer_survey_question", "response_answer",
                    ["survey_id", "question_id"])


def downgrade() -> None:
    op.drop_index("ix_response_answer_survey_question", table_name="response_answer")
    op.drop_table("response_answer")
    op.drop_table("survey_version")
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_column("survey_version")
    with op.batch_alter_table("survey_definition", schema=None) as batch_op:
        batch_op.drop_column("name")
        batch_op.drop_column("version")
