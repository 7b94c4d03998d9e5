from __future__ import annotations

import threading

from sqlmodel import Session, func, select

from surveys.models import Invitation, Response
from tests.factories import make_invitation
from tests.support.followups import run_followups


def _responses(engine) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(Response)).one()


def test_page_shows_the_scale_accessibly(client, session, settings, clock):  # type: ignore[no-untyped-def]
    inv = make_invitation(session, settings, clock.now)
    r = client.get(f"/s/{inv.token}")
    assert r.status_code == 200
    html = r.text
    assert '<html lang="en" dir="ltr">' in html
    assert "recommend" in html
    for value in range(11):
        assert f'<label for="score-{value}">' in html
    assert "<fieldset" in html and "<legend>" in html
    assert 'name="viewport"' in html


def test_localised_and_right_to_left(client, session, settings, clock):  # type: ignore[no-untyped-def]
    fa = make_invitation(session, settings, clock.now, 1, customer={"locale": "fa-IR"})
    zh = make_invitation(session, settings, clock.now, 2, survey="csat", customer={"locale": "zh"})
    r = client.get(f"/s/{fa.token}")
    assert 'lang="fa" dir="rtl"' in r.text and "پیشنهاد" in r.text
    r = client.get(f"/s/{zh.token}")
    assert 'lang="zh-CN" dir="ltr"' in r.text and "满意" in r.text
    assert 'for="score-5"' in r.text and 'for="score-6"' not in r.text  # CSAT 1–5


def test_email_scanner_get_records_nothing(client, session, settings, clock, engine):  # type: ignore[no-untyped-def]
    """A security scanner opening the one-click link (even repeatedly) never answers."""
    inv = make_invitation(session, settings, clock.now)
    for _ in range(3):
        r = client.get(f"/s/{inv.token}?score=9")
        assert r.status_code == 200
        assert 'value="9" required\n               checked' in r.text
        assert "autosubmit" not in r.text and 'id="confirm"' in r.text
    assert _responses(engine) == 0
    with Session(engine) as s:  # a fetch is not an open: only a person's signal is
        assert s.get(Invitation, inv.id).opened_at is None  # type: ignore[union-attr]
    assert client.post(f"/s/{inv.token}/seen").status_code == 204
    with Session(engine) as s:
        assert s.get(Invitation, inv.id).status == "opened"  # type: ignore[union-attr]


def test_head_answers_like_get_without_a_body(client, session, settings, clock):  # type: ignore[no-untyped-def]
    inv = make_invitation(session, settings, clock.now)
    r = client.head(f"/s/{inv.token}?score=9")
    assert r.status_code == 200 and r.content == b"" and r.headers["content-type"].startswith("text/html")
    assert client.head("/s/no-such-token").status_code == 404


def test_one_click_then_comment_is_one_response(client, session, settings, clock, engine):  # type: ignore[no-untyped-def]
    inv = make_invitation(session, settings, clock.now)
    r = client.post(f"/s/{inv.token}", data={"score": "9", "src": "email-click"})
    assert r.status_code == 200 and "Thank you" in r.text
    # the person then taps Send with a comment: same score, comment added, still one response
    client.post(f"/s/{inv.token}", data={"score": "9", "comment": "quick and kind", "src": "email-click"})
    with Session(engine) as s:
        resp = s.exec(select(Response)).one()
        assert (resp.score, resp.comment, resp.source, resp.classification) == (
            9, "quick and kind", "email-click", "promoter")
        assert s.get(Invitation, inv.id).status == "answered"  # type: ignore[union-attr]


def test_answer_once_second_different_score_refused(client, session, settings, clock, engine):  # type: ignore[no-untyped-def]
    inv = make_invitation(session, settings, clock.now)
    client.post(f"/s/{inv.token}", data={"score": "3"})
    r = client.post(f"/s/{inv.token}", data={"score": "10"})
    assert r.status_code == 409
    assert _responses(engine) == 1


def test_comment_after_the_window_is_refused(client, session, settings, clock, engine):  # type: ignore[no-untyped-def]
    inv = make_invitation(session, settings, clock.now)
    client.post(f"/s/{inv.token}", data={"score": "8", "comment": "fine"})
    clock.advance(minutes=settings.answer_edit_window_minutes + 1)
    r = client.post(f"/s/{inv.token}/comment", data={"comment": "changed my mind"})
    assert r.status_code == 409
    with Session(engine) as s:
        assert s.exec(select(Response)).one().comment == "fine"


def test_empty_comment_can_be_added_later(client, session, settings, clock, engine):  # type: ignore[no-untyped-def]
    inv = make_invitation(session, settings, clock.now)
    client.post(f"/s/{inv.token}", data={"score": "2"})
    clock.advance(hours=5)
    r = client.post(f"/s/{inv.token}/comment", data={"comment": "the bill was wrong"})
    assert r.status_code == 200
    with Session(engine) as s:
        assert s.exec(select(Response)).one().comment == "the bill was wrong"


def test_bad_score_rerenders_with_error_and_keeps_comment(client, session, settings, clock, engine):  # type: ignore[no-untyped-def]
    inv = make_invitation(session, settings, clock.now)
    r = client.post(f"/s/{inv.token}", data={"score": "11", "comment": "keep me"})
    assert r.status_code == 422
    assert "from 0 to 10" in r.text and "keep me" in r.text and 'role="alert"' in r.text
    r = client.post(f"/s/{inv.token}", data={"comment": "no score"})
    assert r.status_code == 422
    assert _responses(engine) == 0


def test_unknown_and_expired_tokens(client, session, settings, clock):  # type: ignore[no-untyped-def]
    assert client.get("/s/doesnotexist123").status_code == 404
    assert client.get("/s/bad%20token!").status_code == 404
    assert client.post("/s/doesnotexist123", data={"score": "5"}).status_code == 404
    inv = make_invitation(session, settings, clock.now)
    clock.advance(days=settings.invitation_expiry_days + 1)
    r = client.get(f"/s/{inv.token}")
    assert r.status_code == 410 and "closed" in r.text
    assert client.post(f"/s/{inv.token}", data={"score": "9"}).status_code == 410


def test_concurrent_submits_record_one_response(session, settings, clock, engine):  # type: ignore[no-untyped-def]
    """Double taps from two devices at once: the database keeps exactly one answer."""
    from feedback.db import transaction
    from feedback.responses import record_response
    from surveys.errors import Conflict

    inv = make_invitation(session, settings, clock.now)
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def submit(score: str) -> None:
        try:
            # All start together; on SQLite the first statement takes the write lock
            # (BEGIN IMMEDIATE), so the others queue behind it instead of failing "locked".
            barrier.wait(timeout=10)
            with transaction(engine) as s:
                mine = s.get(Invitation, inv.id)
                record_response(s, mine, score=score, comment=None, source="web",
                                now=clock.now, settings=settings)
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")
        except Exception as exc:  # SQLite: a writer that lost the race may see "locked"
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=submit, args=(s,)) for s in ("1", "10", "5", "7")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _responses(engine) == 1
    assert outcomes.count("ok") == 1, outcomes


def test_customer_token_gives_no_staff_access(client, session, settings, clock):  # type: ignore[no-untyped-def]
    inv = make_invitation(session, settings, clock.now)
    client.get(f"/s/{inv.token}")
    assert client.get("/api/kpis").status_code == 401
    client.headers["Authorization"] = f"Bearer {inv.token}"
    assert client.get("/api/kpis").status_code == 401


def test_thank_you_page_shows_the_score_and_a_mis_tap_can_be_changed(client, session, settings, clock, engine):  # type: ignore[no-untyped-def]
    from feedback.recovery.models import RecoveryEvent, RecoveryTask

    inv = make_invitation(session, settings, clock.now)
    client.post(f"/s/{inv.token}", data={"score": "0", "src": "email-click"})
    run_followups(engine, settings, clock)  # the worker opens the 0's task within seconds
    page = client.get(f"/s/{inv.token}").text
    assert "Your answer: 0" in page and "0 = Not at all likely" in page
    assert f'action="/s/{inv.token}/change"' in page and "Change my answer" in page
    clock.advance(minutes=5)
    r = client.post(f"/s/{inv.token}/change", data={"score": "10"}, follow_redirects=False)
    assert r.status_code == 303
    run_followups(engine, settings, clock)
    with Session(engine) as s:
        resp = s.exec(select(Response)).one()
        assert (resp.score, resp.classification) == (10, "promoter")
        task = s.exec(select(RecoveryTask)).one()  # opened by the 0: kept, with the change noted
        [event] = s.exec(select(RecoveryEvent).where(RecoveryEvent.action == "score_changed")).all()
        assert (event.task_id, event.from_value, event.to_value) == (task.id, "0", "10")
    assert "Your answer: 10" in client.get(f"/s/{inv.token}").text
    assert client.post(f"/s/{inv.token}/change", data={"score": "11"}).status_code == 422
    clock.advance(minutes=settings.answer_edit_window_minutes)
    assert "Change my answer" not in client.get(f"/s/{inv.token}").text
    late = client.post(f"/s/{inv.token}/change", data={"score": "3"})
    assert late.status_code == 409 and "can no longer be changed" in late.text


def test_thank_you_page_in_every_language(client, session, settings, clock):  # type: ignore[no-untyped-def]
    for n, (locale, text) in enumerate([("zh-CN", "您的评分：9"), ("fa", "پاسخ شما: 9")], start=1):
        inv = make_invitation(session, settings, clock.now, n, customer={"locale": locale})
        client.post(f"/s/{inv.token}", data={"score": "9"})
        assert text in client.get(f"/s/{inv.token}").text
