"""drop two single-column indexes a composite one leading with the same column makes redundant

ix_invitation_status beside ix_invitation_status_send_at (status, send_at), and
ix_interaction_customer_id beside ix_interaction_customer_reason_occurred (customer_id,
contact_reason, occurred_at). A B-tree serves a condition on its leading column alone as well
as an index of that column only would: every query filtering invitations by status (dispatch's
due and expiry claims, reminders, pauses, health, the SMS reply and survey look-ups, erasure)
and interactions by customer (privacy export and retention, contact log, the foreign key checks
of a customer's removal) keeps an index. Each imported row paid for one more index entry on
each table (twelve per invitation, seven per interaction), for nothing (issue #11).

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-02 04:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0027"
down_revision: str | Sequence[str] | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_index("ix_invitation_status")
    with op.batch_alter_table("interaction", schema=None) as batch_op:
        batch_op.drop_index("ix_interaction_customer_id")


def downgrade() -> None:
    with op.batch_alter_table("interaction", schema=None) as batch_op:
        batch_op.create_index("ix_interaction_customer_id", ["customer_id"], unique=False)
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.create_index("ix_invitation_status", ["status"], unique=False)
