"""The weekly digest: once per week per active lead, through the notification outbox."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from feedback.auth.service import create_user
from feedback.notifications.models import Notification
from feedback.reports import tasks
from feedback.reports.digest import send_digests
from feedback.reports.models import ReportDigest
from feedback.worker import JobContext, collect_jobs
from tests.test_kpis_api import answers  # noqa: F401  (18 answers on Tuesday 2026-03-10)

MONDAY_8 = datetime(2026, 3, 16, 8, 0, tzinfo=UTC)


def _staff(engine) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        create_user(s, email="lena@example.com", name="Lena", role="lead", password="pw-123456")
        create_user(s, email="omar@example.com", name="Omar", role="lead", password="pw-123456")
        create_user(s, email="rita@example.com", name="Rita", role="recovery", password="pw-123456")
        s.execute(sa.text("UPDATE staff_user SET active = :f WHERE email = 'omar@example.com'"),
                  {"f": False})
        s.commit()


def _notes(engine) -> list[Notification]:  # type: ignore[no-untyped-def]
    """The messages owed (the answers' own follow-up rows are not messages)."""
    with Session(engine) as s:
        return list(s.exec(select(Notification).where(Notification.kind != "followup")).all())


def test_digest_goes_once_to_each_active_lead(engine, settings, answers):  # type: ignore[no-untyped-def]  # noqa: F811
    _staff(engine)
    assert send_digests(engine, settings, MONDAY_8) == 1
    assert send_digests(engine, settings, MONDAY_8.replace(hour=9)) == 0  # the next hourly run
    [note] = _notes(engine)
    assert (note.kind, note.target) == ("email", "lena@example.com")
    assert note.dedupe_key == "report-digest:2026-03-09:lena@example.com"
    assert note.subject == "Weekly CX digest, 9 Mar: NPS 30"
    body = note.body or ""
    assert "- NPS: 30.0 (± " in body and "- CSAT: 75.0 %" in body
    assert "Top movers" in body and "Top themes" in body
    assert "/reports?from=2026-03-09&to=2026-03-15" in body
    with Session(engine) as s:
        assert [d.recipient for d in s.exec(select(ReportDigest)).all()] == ["lena@example.com"]


def test_a_lead_added_later_in_the_week_still_gets_it(engine, settings, answers):  # type: ignore[no-untyped-def]  # noqa: F811
    _staff(engine)
    send_digests(engine, settings, MONDAY_8)
    with Session(engine) as s:
        create_user(s, email="new@example.com", name="New", role="lead", password="pw-123456")
        s.commit()
    assert send_digests(engine, settings, MONDAY_8.replace(day=17)) == 1
    assert sorted(n.target for n in _notes(engine)) == ["lena@example.com", "new@example.com"]


def test_not_before_the_digest_hour_and_not_when_switched_off(engine, settings):  # type: ignore[no-untyped-def]
    _staff(engine)
    assert send_digests(engine, settings, MONDAY_8.replace(hour=6, minute=59)) == 0
    off = settings.model_copy(update={"report_digest": False})
    assert send_digests(engine, off, MONDAY_8) == 0
    assert _notes(engine) == []


def test_a_row_claimed_by_another_worker_is_not_sent_twice(engine, settings):  # type: ignore[no-untyped-def]
    _staff(engine)
    with Session(engine) as s:
        s.add(ReportDigest(week_start=datetime(2026, 3, 9).date(), recipient="lena@example.com",
                           status="queued"))
        s.commit()
    assert send_digests(engine, settings, MONDAY_8) == 0
    assert _notes(engine) == []


def test_jobs_are_registered_and_run(engine, settings):  # type: ignore[no-untyped-def]
    _staff(engine)
    names = {j.name for j in collect_jobs(["feedback.reports.tasks"])}
    assert names == {"reports.rollups", "reports.digest"}
    ctx = JobContext(engine=engine, settings=settings, clock=lambda: MONDAY_8)
    assert tasks.refresh_rollups(ctx).rolled_through == MONDAY_8.date()
    assert tasks.weekly_digest(ctx) == 1
