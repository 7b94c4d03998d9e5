"""recovery: recovery tasks, their responses, history, contact attempts, round-robin state;
the notification outbox

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-23 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("target", sa.String(length=1000), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("dedupe_key", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("delivered_via", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_next_attempt_at"), ["next_attempt_at"], unique=False
        )

    op.create_table(
        "recovery_assignee",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assigned_total", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["staff_user.id"],
        ),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "recovery_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("open_customer_id", sa.Integer(), nullable=True),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("classification", sa.String(length=20), nullable=False),
        sa.Column("team", sa.String(length=200), nullable=True),
        sa.Column("agent", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("triggers", sa.JSON(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_contact_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolution_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_contact_warn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolution_warn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sla_next_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_contact_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_contact_warned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_warned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_contact_breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("root_cause", sa.String(length=100), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("followup_invitation_id", sa.Integer(), nullable=True),
        sa.Column("followup_response_id", sa.Integer(), nullable=True),
        sa.Column("followup_score", sa.Integer(), nullable=True),
        sa.Column("followup_classification", sa.String(length=20), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
        ),
        sa.ForeignKeyConstraint(
            ["followup_invitation_id"],
            ["invitation.id"],
        ),
        sa.ForeignKeyConstraint(
            ["followup_response_id"],
            ["response.id"],
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interaction.id"],
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["staff_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["response.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("open_customer_id"),
    )
    with op.batch_alter_table("recovery_task", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recovery_task_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_recovery_task_next_due_at"), ["next_due_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_recovery_task_opened_at"), ["opened_at"], unique=False)
        batch_op.create_index(
            "ix_recovery_task_owner_due", ["owner_id", "next_due_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_recovery_task_resolved_at"), ["resolved_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_recovery_task_sla_next_at"), ["sla_next_at"], unique=False
        )
        batch_op.create_index(
            "ix_recovery_task_status_due", ["status", "next_due_at"], unique=False
        )
        batch_op.create_index("ix_recovery_task_team_due", ["team", "next_due_at"], unique=False)

    op.create_table(
        "recovery_contact_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("result", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("address", sa.String(length=320), nullable=True),
        sa.Column("notification_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notification.id"],
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["recovery_task.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["staff_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("recovery_contact_attempt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recovery_contact_attempt_task_id"), ["task_id"], unique=False
        )

    op.create_table(
        "recovery_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("from_value", sa.String(length=200), nullable=True),
        sa.Column("to_value", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["staff_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["recovery_task.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("recovery_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recovery_event_task_id"), ["task_id"], unique=False)

    op.create_table(
        "recovery_task_response",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("triggers", sa.JSON(), nullable=True),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["response.id"],
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["recovery_task.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("response_id"),
    )
    with op.batch_alter_table("recovery_task_response", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recovery_task_response_task_id"), ["task_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("recovery_task_response", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recovery_task_response_task_id"))

    op.drop_table("recovery_task_response")
    with op.batch_alter_table("recovery_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recovery_event_task_id"))

    op.drop_table("recovery_event")
    with op.batch_alter_table("recovery_contact_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recovery_contact_attempt_task_id"))

    op.drop_table("recovery_contact_attempt")
    with op.batch_alter_table("recovery_task", schema=None) as batch_op:
        batch_op.drop_index("ix_recovery_task_team_due")
        batch_op.drop_index("ix_recovery_task_status_due")
        batch_op.drop_index(batch_op.f("ix_recovery_task_sla_next_at"))
        batch_op.drop_index(batch_op.f("ix_recovery_task_resolved_at"))
        batch_op.drop_index("ix_recovery_task_owner_due")
        batch_op.drop_index(batch_op.f("ix_recovery_task_opened_at"))
        batch_op.drop_index(batch_op.f("ix_recovery_task_next_due_at"))
        batch_op.drop_index(batch_op.f("ix_recovery_task_customer_id"))

    op.drop_table("recovery_task")
    op.drop_table("recovery_assignee")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_next_attempt_at"))

    op.drop_table("notification")
