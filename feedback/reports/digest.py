"""The weekly e-mail digest to CX leads: last week's headline KPIs, top movers, top themes.

Sent once per week per lead, whatever the number of workers or runs: a `report_digest` row per
(week, recipient) is inserted with ON CONFLICT DO NOTHING in the same transaction as the e-mail
is queued in the notification outbox (whose dedupe key is a second guarantee). Only the lead
whose row was inserted gets a message; the outbox's worker delivers it, with retries. The job
runs hourly, so a worker that was down on Monday morning still sends the digest later.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from feedback.auth.models import Role, User
from feedback.db import transaction
from feedback.notifications.outbox import enqueue
from feedback.operations import service as operations
from feedback.reports import repository as repo
from feedback.reports import service, themes_source
from feedback.reports.figures import Filters, local_date, report_zone, week_start
from feedback.reports.models import ReportDigest

D = ReportDigest.__table__  # type: ignore[attr-defined]
U = User.__table__  # type: ignore[attr-defined]


def due_week(now: datetime, settings: Any) -> date | None:
    """Monday of the last complete week, once its digest may go out (Monday, digest hour)."""
    tz = report_zone(settings)
    monday = week_start(local_date(now, tz))
    send_from = datetime.combine(monday, time(settings.report_digest_hour), tzinfo=tz)
    return monday - timedelta(days=7) if now >= send_from else None


def _missing(session: Session, week: date) -> list[str]:
    sent = sa.select(D.c.recipient).where(D.c.week_start == week)
    rows = session.execute(sa.select(U.c.email).where(
        U.c.role == Role.LEAD.value, U.c.active.is_(True), U.c.email.not_in(sent))
        .order_by(U.c.email))
    return [r[0] for r in rows]


def _tile_line(t: dict[str, Any]) -> str:
    if t["value"] is None:
        return f"{t['label']}: –"
    unit = " %" if t["unit"] == "%" else ""
    line = f"{t['label']}: {t['value']:.1f}{unit}"
    if t.get("moe") is not None:
        line += f" (± {t['moe']:.1f})"
    if t["key"] == "open_tasks":
        return f"{t['label']}: {t['value']} ({t.get('overdue', 0)} past a deadline)"
    if t.get("delta") is not None:
        flag = "significant" if t["significant"] else "not significant"
        line += f", {t['delta']:+.1f} vs the week before ({flag})"
    return line


def compose(session: Session, settings: Any, now: datetime, week: date) -> tuple[str, str]:
    """Subject and plain-text body of the digest for the week starting `week`."""
    tz = report_zone(settings)
    f = Filters(week, week + timedelta(days=6), tz)
    q = service.Query(f, repo.rollup_view(session, tz))
    tiles = service.tiles(session, q, service.daily(session, q), now)
    movers = service.movers(session, q, "team")
    themes = themes_source.theme_report(session, f, now)["themes"][:3]
    link = f"{settings.public_url}/reports?{urlencode(f.query())}"
    lines = [f"Customer feedback, week of {week:%-d %B %Y} ({tz.key})", ""]
    lines += [f"- {_tile_line(t)}" for t in tiles]
    lines += ["", "Top movers (teams whose NPS changed significantly):"]
    lines += [f"- {m['key']}: NPS {m['value']:.1f} ({m['delta']:+.1f}, n = {m['n']})"
              for m in movers if m["value"] is not None] or ["- none this week"]
    lines += ["", "Top themes:"]
    lines += [f"- {t['theme']}: {t['count']} responses"
              + (" (emerging)" if t.get("emerging") else "") for t in themes] or [
        "- no themes yet"]
    effect = _operations_effect(session, f)
    if effect:
        lines += ["", f"Strongest operational effect on satisfaction: {effect}"]
    lines += ["", f"Dashboard: {link}"]
    nps = next(t for t in tiles if t["key"] == "nps")
    headline = f"NPS {nps['value']:.0f}" if nps["value"] is not None else "no NPS answers"
    return f"Weekly CX digest, {week:%-d %b}: {headline}", "\n".join(lines)


def _operations_effect(session: Session, f: Filters) -> str | None:
    return operations.strongest_effect(session, f)


def send_digests(engine: Engine, settings: Any, now: datetime) -> int:
    """Queue last week's digest for every lead who has not had it. Returns how many."""
    if not settings.report_digest:
        return 0
    week = due_week(now, settings)
    if week is None:
        return 0
    queued = 0
    with transaction(engine) as session:
        recipients = _missing(session, week)
        if not recipients:
            return 0
        subject, body = compose(session, settings, now, week)
        for email in recipients:
            key = f"report-digest:{week.isoformat()}:{email}"
            if not _claim(session, week, email, key, now):
                continue  # another worker got there first
            enqueue(session, kind="email", target=email, dedupe_key=key, now=now,
                    subject=subject, body=body)
            queued += 1
    return queued


def _claim(session: Session, week: date, email: str, key: str, now: datetime) -> bool:
    """Insert this lead's digest row unless it exists. RETURNING tells whether this call
    inserted it (psycopg reports no row count for INSERT … ON CONFLICT here)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    stmt = (insert(D).values(week_start=week, recipient=email, status="queued", attempts=0,
                             provider_id=key, created_at=now)
            .on_conflict_do_nothing(index_elements=["week_start", "recipient"])
            .returning(D.c.id))
    return session.execute(stmt).first() is not None
