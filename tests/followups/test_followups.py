"""An answer's follow-ups (themes, response.created, recovery task) run after commit from the
outbox, within the stated bound, exactly once in effect — even after a worker died."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from feedback.db import transaction
from feedback.followups import service as followups
from feedback.followups.tasks import JOBS
from feedback.insights.models import ResponseTheme
from feedback.integrations.models import WebhookEndpoint
from feedback.notifications.delivery import deliver_due
from feedback.notifications.models import Notification
from feedback.notifications.outbox import claim_due
from feedback.recovery.models import RecoveryEvent, RecoveryTask
from feedback.settings import Settings
from feedback.worker import job_seconds
from surveys.models import Response
from tests.factories import make_invitation
from tests.insights.conftest import model  # noqa: F401 - the trained model fixture
from tests.insights.test_service import install
from tests.support.followups import run_followups

COMMENT = "Charged twice this month and nobody called me back"


def _listen(engine: Any, clock: Any) -> None:
    with transaction(engine) as s:
        s.add(WebhookEndpoint(name="hook", url="https://hooks.example.com/x",
                              event_types=["response.created"], secret="whsec_dGVzdA==",
                              created_at=clock.now, updated_at=clock.now))


def _answer(client: Any, session: Session, settings: Any, clock: Any, *, score: str = "2",
            n: int = 1) -> Response:
    inv = make_invitation(session, settings, clock.now, n=n)
    r = client.post(f"/s/{inv.token}", data={"score": score, "comment": COMMENT, "src": "web"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    return session.exec(select(Response).where(Response.invitation_id == inv.id)).one()


def _state(session: Session) -> tuple[int, int, int]:
    session.expire_all()
    tasks = len(session.exec(select(RecoveryTask)).all())
    themes = len(session.exec(select(ResponseTheme)).all())
    events = len(session.exec(select(Notification).where(Notification.kind == "event")).all())
    return tasks, themes, events


def test_an_answer_then_one_worker_pass_has_its_task_themes_and_event(  # type: ignore[no-untyped-def]
        client, session, settings, clock, engine, model):  # noqa: F811
    install(session, model, clock.now)
    _listen(engine, clock)
    response = _answer(client, session, settings, clock)
    # Committed with the answer: the response and one follow-up row, nothing else yet.
    [row] = session.exec(select(Notification).where(Notification.kind == "followup")).all()
    assert row.payload["response_id"] == response.id and row.status == "pending"
    assert _state(session) == (0, 0, 0)
    assert run_followups(engine, settings, clock) == 1
    tasks, themes, events = _state(session)
    assert (tasks, events) == (1, 1) and themes >= 1
    [event] = session.exec(select(Notification).where(Notification.kind == "event")).all()
    assert event.payload["data"]["response"]["themes"]  # tagged before the event was written
    [task] = session.exec(select(RecoveryTask)).all()
    assert task.response_id == response.id and task.opened_at == response.submitted_at
    session.refresh(row)
    assert row.status == "sent"


def test_a_follow_up_the_worker_died_on_is_done_by_a_later_pass_after_the_lease(  # type: ignore[no-untyped-def]
        client, session, settings, clock, engine):
    _answer(client, session, settings, clock)
    with engine.begin() as conn:  # a worker claims it, then dies before doing anything
        [claimed] = claim_due(conn, now=clock.now, worker="dead", limit=10, kinds=("followup",),
                              lease=timedelta(seconds=settings.followup_lease_seconds))
    assert run_followups(engine, settings, clock) == 0  # still leased to the dead worker
    assert _state(session)[0] == 0
    clock.advance(seconds=settings.followup_lease_seconds + 1)
    assert run_followups(engine, settings, clock) == 1
    assert _state(session)[0] == 1
    # The dead worker wakes up: its lease is gone, so it cannot settle (or redo) the row.
    with engine.begin() as conn:
        from feedback.notifications.outbox import mark_sent

        assert not mark_sent(conn, claimed, worker="dead", now=clock.now, via="dead")


def test_a_follow_up_run_twice_opens_one_task_and_emits_one_event(  # type: ignore[no-untyped-def]
        client, session, settings, clock, engine):
    _listen(engine, clock)
    response = _answer(client, session, settings, clock)
    run_followups(engine, settings, clock)
    payload = session.exec(select(Notification.payload).where(
        Notification.kind == "followup")).one()
    with transaction(engine) as s:  # the same follow-up again (a retry after a lost commit)
        followups.run(s, payload, settings=settings)
    with engine.begin() as conn:  # … and through the job, as if its row came back
        conn.execute(sa.update(Notification).where(Notification.kind == "followup")
                     .values(status="pending", next_attempt_at=clock.now))
    assert run_followups(engine, settings, clock) == 1
    assert _state(session)[::2] == (1, 1)
    opened = session.exec(select(RecoveryEvent).where(RecoveryEvent.action == "opened")).all()
    assert len(opened) == 1 and response.id is not None


def test_edits_follow_up_in_order_and_once(client, session, settings, clock, engine):  # type: ignore[no-untyped-def]
    inv = make_invitation(session, settings, clock.now)
    assert client.post(f"/s/{inv.token}", data={"score": "9", "src": "web"},
                       follow_redirects=False).status_code == 303
    clock.advance(seconds=20)
    assert client.post(f"/s/{inv.token}/change", data={"score": "3"},
                       follow_redirects=False).status_code == 303
    clock.advance(seconds=20)
    assert client.post(f"/s/{inv.token}/comment", data={"comment": "I will cancel"},
                       follow_redirects=False).status_code == 303
    # Three follow-ups of one response: they run one after the other, in the order written.
    assert run_followups(engine, settings, clock) == 3
    [task] = session.exec(select(RecoveryTask)).all()
    assert set(task.triggers) == {"score", "keyword:cancel"}
    clock.advance(seconds=1)
    assert run_followups(engine, settings, clock) == 0
    assert len(session.exec(select(RecoveryTask)).all()) == 1


def test_delivery_never_takes_a_follow_up(client, session, settings, clock, engine):  # type: ignore[no-untyped-def]
    _answer(client, session, settings, clock)
    report = deliver_due(engine, settings, clock, worker="sender")
    assert (report.sent, report.failed, report.retried) == (0, 0, 0)
    assert session.exec(select(Notification.status)).one() == "pending"


def test_the_job_runs_at_least_as_often_as_the_stated_bound(settings):  # type: ignore[no-untyped-def]
    [job] = JOBS
    assert job_seconds(job, settings) <= followups.BOUND_SECONDS
    assert job_seconds(job, Settings(followup_poll_seconds=2)) == 2
    import pydantic
    import pytest

    with pytest.raises(pydantic.ValidationError):  # an interval past the bound is refused
        Settings(followup_poll_seconds=followups.BOUND_SECONDS + 1)
