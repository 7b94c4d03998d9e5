"""Dispatch health: is anything going out while invitations are waiting?

A stalled dispatcher (a dead worker, a provider outage, a bad credential) is silent by nature —
the invitations just sit there. This check raises an alert (log at ERROR + an optional webhook
POST) when invitations have been due for longer than `stall_after` and nothing was sent in
that time. It alerts once per stall, not on every run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from surveys.models import Invitation, InvitationStatus

log = logging.getLogger(__name__)
_I = Invitation.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Health:
    due: int  # invitations due for longer than the stall window
    last_sent_at: datetime | None
    stalled: bool

    def as_dict(self) -> dict[str, Any]:
        return {"due": self.due, "stalled": self.stalled,
                "last_sent_at": self.last_sent_at.isoformat() if self.last_sent_at else None}


def check(engine: Engine, now: datetime, stall_after: timedelta) -> Health:
    cutoff = now - stall_after
    with engine.connect() as conn:
        due = conn.execute(sa.select(sa.func.count()).select_from(_I).where(
            _I.c.status.in_([InvitationStatus.SCHEDULED, InvitationStatus.SENDING]),
            _I.c.send_at <= cutoff, _I.c.expires_at > now)).scalar_one()
        last = conn.execute(sa.select(sa.func.max(_I.c.sent_at))).scalar()
    if last is not None and last.tzinfo is None:  # SQLite's max() bypasses the column type
        last = datetime.fromisoformat(str(last)).replace(tzinfo=now.tzinfo)
    stalled = due > 0 and (last is None or last < cutoff)
    return Health(due=due, last_sent_at=last, stalled=stalled)


def alert(health: Health, *, webhook_url: str | None, client: httpx.Client | None = None,
          timeout: float = 10.0) -> bool:
    """Log the stall and POST it to the webhook if one is configured. True if the POST worked."""
    log.error("dispatch stalled: %d invitations due and nothing sent since %s",
              health.due, health.last_sent_at or "ever")
    if not webhook_url:
        return False
    payload = {"event": "dispatch.stalled", **health.as_dict()}
    try:
        response = (client or httpx).post(webhook_url, json=payload, timeout=timeout)  # type: ignore[attr-defined]
        response.raise_for_status()
    except httpx.HTTPError as exc:
        log.error("dispatch stall alert to %s failed: %s", webhook_url, exc)
        return False
    return True
