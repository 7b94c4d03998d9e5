"""Tables of the privacy domain: the audit trail of erasures.

The suppression of an erased customer's addresses is not a table of its own: it is an
`opt_out` row (the one opt-out record every sender reads) whose address is an HMAC digest
(`outreach.optouts.suppression_digest`), so the plain address is gone but a new interaction for
it is still recognised and not surveyed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from surveys.types import UTCDateTime


class Erasure(SQLModel, table=True):
    """One erasure request carried out. Unique per customer: erasing twice keeps the first
    record (the call is idempotent). `reason` is the request's reference (ticket, article 17);
    it must not repeat the customer's personal data."""

    __tablename__ = "privacy_erasure"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", unique=True)
    actor: str = Field(max_length=200)
    reason: str = Field(max_length=500)
    counts: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    erased_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False, index=True))
