"""Jobs of integrations. Event deliveries need none of their own: they are outbox rows, sent by
`notifications.deliver` (feedback/recovery/tasks.py) with every other notification.

`themes.daily`: from 08:00 UTC, yesterday's top themes as one event (Slack shows it as a
digest). Its event id is the day's, so every later run that day — on any worker — inserts
nothing new (the outbox's unique dedupe key).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from feedback.db import transaction
from feedback.integrations import events
from feedback.worker import Job, JobContext

DIGEST_HOUR = 8  # UTC


def top_themes(session: Any, start: datetime, end: datetime, limit: int = 5) -> list[dict[str, Any]]:
    from feedback.insights.models import ResponseTheme, Theme
    from surveys.models import Response

    rt, t, r = ResponseTheme.__table__, Theme.__table__, Response.__table__  # type: ignore[attr-defined]
    negative = sa.func.sum(sa.case((rt.c.sentiment == "negative", 1), else_=0))
    rows = session.execute(
        sa.select(t.c.name, sa.func.count().label("n"), negative.label("neg"))
        .select_from(rt.join(t, t.c.id == rt.c.theme_id).join(r, r.c.id == rt.c.response_id))
        .where(r.c.submitted_at >= start, r.c.submitted_at < end)
        .group_by(t.c.name).order_by(sa.desc("n"), t.c.name).limit(limit)).all()
    return [{"theme": name, "count": int(n), "negative": int(neg or 0)} for name, n, neg in rows]


def daily_themes(engine: Engine, now: datetime) -> str | None:
    if now.hour < DIGEST_HOUR:
        return None
    day = now.date() - timedelta(days=1)
    start = datetime.combine(day, time(0), tzinfo=now.tzinfo)
    with transaction(engine) as session:
        if not events.listening(session, "themes.daily"):
            return None
        data = {"day": day.isoformat(), "themes": top_themes(session, start, start + timedelta(days=1))}
        return events.emit(session, "themes.daily", "themes", data, now,
                           event_id=f"evt_themes_{day:%Y%m%d}")


def themes_digest(ctx: JobContext) -> str | None:
    return daily_themes(ctx.engine, ctx.now())


JOBS: list[Job] = [Job("integrations.themes_daily", themes_digest, seconds=3600)]
