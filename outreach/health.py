"""Dispatch health: is anything going out while invitations are waiting?

A stalled dispatcher (a dead worker, a provider outage, a bad credential) is silent by nature —
the invitations just sit there. This check says whether invitations have been due for longer
than `stall_after` with nothing sent in that time; `feedback.health` turns that into one alert
per incident (stored in the database, sent through the notification outbox).
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from surveys.models import Invitation, InvitationStatus

_I = Invitation.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Health:
    due: int  # invitations due for longer than the stall window
    last_sent_at: datetime | None
    stalled: bool

    def as_dict(self) -> dict[str, Any]:
        return {"due": self.due, "stalled": self.stalled,
                "last_sent_at": self.last_sent_at.isoformat() if self.last_sent_at else None}


def check(bind: Engine | Connection, now: datetime, stall_after: timedelta) -> Health:
    """Counts only; the alerting (one per incident, retried, signed) is feedback.health's."""
    cutoff = now - stall_after
    conn_cm = bind.connect() if isinstance(bind, Engine) else nullcontext(bind)
    with conn_cm as conn:
        due = conn.execute(sa.select(sa.func.count()).select_from(_I).where(
            _I.c.status.in_([InvitationStatus.SCHEDULED, InvitationStatus.SENDING]),
            _I.c.send_at <= cutoff, _I.c.expires_at > now)).scalar_one()
        last = conn.execute(sa.select(sa.func.max(_I.c.sent_at))).scalar()
    if last is not None and last.tzinfo is None:  # SQLite's max() bypasses the column type
        last = datetime.fromisoformat(str(last)).replace(tzinfo=now.tzinfo)
    stalled = due > 0 and (last is None or last < cutoff)
    return Health(due=due, last_sent_at=last, stalled=stalled)
