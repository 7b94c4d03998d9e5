"""Configuration edited in the product: one versioned document per kind ("rules", "policies").

Every change inserts a whole new revision (`kind`, `version` = previous + 1): history is never
rewritten, and who changed what is the row itself. Two admins saving at once both try the same
next version; the primary key lets one in and the other gets a 409 ("changed meanwhile").

`config_version` is a single counter row bumped in the same transaction as any change. Readers
in every web and worker process compare its `stamp` with the one their cache was filled at (a
primary-key read), so a change takes effect everywhere without a restart. The stamp is random,
not the counter: a database emptied and refilled (tests, a restore) never looks unchanged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from surveys.types import UTCDateTime


class ConfigRevision(SQLModel, table=True):
    __tablename__ = "config_revision"

    kind: str = Field(max_length=40, primary_key=True)
    version: int = Field(primary_key=True)
    body: Any = Field(default=None, sa_column=sa.Column(sa.JSON, nullable=False))
    changed_by: str = Field(max_length=200)
    changed_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    summary: str = Field(default="", max_length=1000)


class ConfigVersion(SQLModel, table=True):
    __tablename__ = "config_version"

    id: int = Field(default=1, primary_key=True)
    version: int = 0
    stamp: str = Field(max_length=40)
