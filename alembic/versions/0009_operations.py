"""operations: optional contact-centre facts on interaction, the customer's "resolved?" answer

Every column is nullable: interactions sent before this revision (and systems that never send
handling times) simply have no operational figures.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SECONDS = ("wait_seconds", "talk_seconds", "hold_seconds", "wrap_seconds", "transfers",
           "first_response_seconds")


def upgrade() -> None:
    with op.batch_alter_table("interaction") as batch:
        batch.add_column(sa.Column("offered_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True))
        for name in SECONDS:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=True))
        batch.add_column(sa.Column("abandoned", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("resolved", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("contact_reason", sa.String(length=200), nullable=True))
    op.create_index("ix_interaction_customer_reason_occurred", "interaction",
                    ["customer_id", "contact_reason", "occurred_at"])
    with op.batch_alter_table("response") as batch:
        batch.add_column(sa.Column("resolved", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("response") as batch:
        batch.drop_column("resolved")
    op.drop_index("ix_interaction_customer_reason_occurred", table_name="interaction")
    with op.batch_alter_table("interaction") as batch:
        for name in ("contact_reason", "resolved", "abandoned", *reversed(SECONDS),
                     "answered_at", "offered_at"):
            batch.drop_column(name)
