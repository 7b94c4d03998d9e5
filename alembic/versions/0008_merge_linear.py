"""one linear history from here on: join the five branches of version 1

Version 1 grew five branches from 0001 (one per feature), so `alembic upgrade head` failed and
autogenerate tripped over them. This revision joins them; every later revision has exactly one
parent, and `alembic heads` prints one line. Databases already at the five old heads upgrade
through here without any schema change.

Revision ID: 0008
Revises: 0002, 0004, 0005, 0006, 0007
Create Date: 2026-12-01 15:00:00
"""

from collections.abc import Sequence

revision: str = "0008"
down_revision: str | Sequence[str] | None = ("0002", "0004", "0005", "0006", "0007")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
