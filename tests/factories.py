"""Small builders for test data (our own code; no external fakes needed)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from feedback.ingest.schemas import InteractionIn
from feedback.ingest.service import ingest_one
from feedback.settings import Settings
from surveys.models import Invitation


def interaction_payload(n: int = 1, **over: Any) -> dict[str, Any]:
    customer = {"external_id": f"C-{n}", "name": "Ana Lima", "email": f"ana{n}@example.com",
                "phone": "+14155550100", "locale": "en", "time_zone": "America/New_York"}
    customer.update(over.pop("customer", {}))
    body = {"external_id": f"T-{n}", "channel": "phone", "occurred_at": "2026-03-10T11:00:00Z",
            "agent": "Tom", "team": "Billing", "queue": "billing-l1", "customer": customer}
    body.update(over)
    return body


def make_invitation(session: Session, settings: Settings, now: datetime, n: int = 1,
                    survey: str = "nps", **over: Any) -> Invitation:
    payload = interaction_payload(n, survey=survey, **over)
    payload["occurred_at"] = (now - timedelta(hours=1)).isoformat()
    result = ingest_one(session, InteractionIn.model_validate(payload), now=now, settings=settings)
    session.commit()
    assert result.invitation is not None
    return result.invitation
