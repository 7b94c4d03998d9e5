from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from feedback.ingest.schemas import InteractionIn
from feedback.ingest.service import ingest_one
from feedback.responses import record_response
from tests.factories import interaction_payload


def contact(session: Any, settings: Any, n: int, at: str, *, customer: int | None = None,
            score: int | None = None, said_resolved: bool | None = None, **fields: Any) -> Any:
    """One interaction ingested as it happened; with `score`, its NPS survey answered an hour
    later (and `said_resolved`, the customer's "was it resolved?")."""
    when = datetime.fromisoformat(at)
    payload = interaction_payload(n, occurred_at=at, survey="nps",
                                  customer={"external_id": f"C-{customer or n}"}, **fields)
    result = ingest_one(session, InteractionIn.model_validate(payload),
                        now=when + timedelta(minutes=1), settings=settings)
    if score is not None:
        inv = result.invitation
        inv.status, inv.sent_at = "sent", when + timedelta(minutes=30)
        record_response(session, inv, score=score, comment=None, source="web",
                        now=when + timedelta(hours=1), settings=settings, resolved=said_resolved)
    session.commit()
    return result


@pytest.fixture
def centre(session: Any, settings: Any) -> None:
    """Six contacts whose figures are worked out by hand in test_report_api."""
    contact(session, settings, 1, "2026-03-01T10:00:00+00:00", offered_at="2026-03-01T09:59:40Z",
            answered_at="2026-03-01T10:00:00Z", talk_seconds=300, hold_seconds=60,
            wrap_seconds=40, transfers=0, resolved=True, contact_reason="billing",
            score=8, said_resolved=False)
    contact(session, settings, 2, "2026-03-02T10:00:00+00:00", wait_seconds=40, talk_seconds=200,
            wrap_seconds=100, transfers=1, resolved=False, contact_reason="billing",
            score=3, said_resolved=True)
    contact(session, settings, 3, "2026-03-02T11:00:00+00:00", agent="Ann", team="Sales",
            abandoned=True, wait_seconds=3)
    contact(session, settings, 4, "2026-03-02T12:00:00+00:00", agent=None, abandoned=True,
            wait_seconds=60)
    contact(session, settings, 5, "2026-03-04T09:00:00+00:00", customer=1, agent="Ann",
            team="Sales", wait_seconds=90, talk_seconds=500, hold_seconds=100, transfers=2,
            resolved=True, contact_reason="billing", score=10, said_resolved=True)
    contact(session, settings, 6, "2026-03-02T15:00:00+00:00", channel="email", agent="Ann",
            team="Sales", first_response_seconds=3600, resolved=True, contact_reason="delivery")
