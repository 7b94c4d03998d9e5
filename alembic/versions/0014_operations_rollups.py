"""operations rollups: daily sufficient statistics of the operations report

Three grains (see feedback/operations/rollup_models.py), the state of the rollup job and the
dirty marks of changes that ids do not reveal. The tables start empty: the worker's
`operations.rollups` job fills them; until then the report reads live rows.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the model's names: a migration must not change when the model does.
QUEUE = ("contacts", "offered", "handled", "abandoned", "short_abandons", "wait_n", "wait_sum",
         "wait_sumsq", "handle_n", "handle_sum", "handle_sumsq", "transfers_n", "transfers_sum",
         "transferred", "resolved_n", "resolved_yes", "frt_n", "frt_sum", "frt_sumsq")
FCR = ("agent_n", "agent_yes", "customer_n", "customer_yes", "inferred_n", "inferred_yes",
       "agent_yes_customer_no", "agent_no_customer_yes", "agent_customer_n",
       "agent_yes_inferred_no", "agent_no_inferred_yes", "agent_inferred_n")
SAT = ("n", "positive", "negative", "score_sum", "score_sumsq")
WIDTHS = {"team": 200, "agent": 200, "channel": 20, "queue": 200, "contact_reason": 200,
          "kind": 10, "dimension": 20, "value": 200}
TABLES = {
    "ops_daily": (("team", "channel", "queue", "contact_reason"), QUEUE + FCR),
    "ops_agent_daily": (("team", "agent"), QUEUE + FCR),
    "ops_satisfaction_daily": (("kind", "team", "dimension", "value"), SAT),
}


def upgrade() -> None:
    for name, (dims, measures) in TABLES.items():
        op.create_table(
            name,
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("day", sa.Date(), nullable=False),
            *(sa.Column(d, sa.String(length=WIDTHS[d]), nullable=True) for d in dims),
            *(sa.Column(m, sa.BigInteger(), server_default="0", nullable=False)
              for m in measures),
            sa.PrimaryKeyConstraint("id"),
        )
        op.create_index(f"ix_{name}_day", name, ["day"])
    op.create_table(
        "ops_rollup_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("rolled_through", sa.Date(), nullable=True),
        *(sa.Column(c, sa.BigInteger(), server_default="0", nullable=False) for c in (
            "interaction_id", "response_id", "safe_interaction_id", "safe_response_id",
            "pending_interaction_id", "pending_response_id")),
        sa.Column("pending_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "ops_rollup_dirty",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ops_rollup_dirty_at", "ops_rollup_dirty", ["at"])


def downgrade() -> None:
    op.drop_index("ix_ops_rollup_dirty_at", table_name="ops_rollup_dirty")
    op.drop_table("ops_rollup_dirty")
    op.drop_table("ops_rollup_state")
    for name in reversed(list(TABLES)):
        op.drop_index(f"ix_{name}_day", table_name=name)
        op.drop_table(name)
