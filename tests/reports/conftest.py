from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from feedback.responses import record_response
from tests.factories import make_invitation
from tests.support.followups import run_followups


def answer(session: Any, settings: Any, at: datetime, n: int, kind: str = "nps", score: int = 9,
           comment: str | None = None, **over: Any) -> Any:
    """An invitation sent an hour before `at` and answered at `at`, its follow-ups (themes, a
    detractor's recovery task) run as the worker would right after."""
    inv = make_invitation(session, settings, at - timedelta(hours=1), n, survey=kind, **over)
    inv.status, inv.sent_at = "sent", at - timedelta(hours=1)
    response = record_response(session, inv, score=score, comment=comment,
                               source="web", now=at, settings=settings)
    session.commit()
    run_followups(session.get_bind(), settings, lambda: at)
    return response


@pytest.fixture
def ny_settings(settings: Any) -> Any:
    """Reports in New York time: 2026-03-08 is the day clocks go forward (23 hours long)."""
    return settings.model_copy(update={"report_time_zone": "America/New_York"})
