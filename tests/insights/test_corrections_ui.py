"""Corrections where the lead reads: tag / untag a response's themes from the drill-down and
the recovery task page, with plain forms (keyboard and no-JavaScript friendly)."""

from __future__ import annotations

from sqlmodel import Session, select

from feedback.insights import service
from feedback.insights.models import ResponseTheme, ThemeReview
from feedback.recovery.models import RecoveryTask
from tests.recovery.conftest import sign_in

MARCH = {"from": "2026-03-01", "to": "2026-03-31"}


def _csrf(client):  # type: ignore[no-untyped-def]
    return client.cookies.get("csrftoken")


def test_lead_tags_and_untags_from_the_drill_down(client, engine, session, answer, staff, clock) -> None:  # type: ignore[no-untyped-def]
    lead = staff("Lena", role="lead", password="s3cret-pass")
    response = answer(n=1, score=2, comment="charged twice and the app crashed")
    rid = int(response.id or 0)
    service.correct_response(session, rid, [("wait time", "negative")], now=clock.now,
                             reviewer="model-import")
    service.create_theme(session, name="billing", now=clock.now)
    session.commit()
    sign_in(client, lead.email)
    page = client.get("/reports/themes/wait%20time", params=MARCH)
    assert page.status_code == 200, page.text
    assert f'action="/themes/responses/{rid}/untag"' in page.text
    assert 'list="theme-names"' in page.text and '<option value="billing">' in page.text
    back = "/reports/themes/wait%20time?from=2026-03-01&to=2026-03-31"
    r = client.post(f"/themes/responses/{rid}/tag", follow_redirects=False,
                    data={"_csrf_token": _csrf(client), "theme": " billing ", "back": back})
    assert r.status_code == 303 and r.headers["location"] == back + f"#r{rid}"
    assert service.themes_for(session, rid) == ["billing", "wait time"]
    r = client.post(f"/themes/responses/{rid}/untag", follow_redirects=False,
                    data={"_csrf_token": _csrf(client), "theme": "wait time",
                          "back": "https://evil.example/x"})
    assert r.status_code == 303 and r.headers["location"] == f"/themes/taxonomy#r{rid}"
    with Session(engine) as s:
        links = s.exec(select(ResponseTheme).where(ResponseTheme.response_id == rid)).all()
        assert [(lk.source, lk.sentiment) for lk in links] == [("human", None)]
        assert s.get(ThemeReview, rid).reviewer in (lead.email, "Lena")  # training data now
    # A missing theme name is refused naming the field, not a 500.
    r = client.post(f"/themes/responses/{rid}/tag", data={"_csrf_token": _csrf(client),
                                                          "theme": "  "})
    assert r.status_code == 422 and "theme" in r.text
    assert client.post("/themes/responses/999999/tag", data={
        "_csrf_token": _csrf(client), "theme": "billing"}).status_code == 404


def test_an_agent_cannot_correct_themes(client, session, answer, staff, clock) -> None:  # type: ignore[no-untyped-def]
    agent = staff("Rita", password="s3cret-pass")
    rid = int(answer(n=1, score=2, comment="charged twice").id or 0)
    sign_in(client, agent.email)
    r = client.post(f"/themes/responses/{rid}/tag", data={"_csrf_token": _csrf(client),
                                                          "theme": "billing"})
    assert r.status_code in (401, 403)


def test_lead_corrects_themes_on_the_task_page(client, engine, session, answer, staff, clock) -> None:  # type: ignore[no-untyped-def]
    lead = staff("Lena", role="lead", password="s3cret-pass")
    rid = int(answer(n=1, score=1, comment="billing error again").id or 0)
    with Session(engine) as s:
        task = s.exec(select(RecoveryTask)).first()
        assert task is not None
        tid = task.id
    sign_in(client, lead.email)
    page = client.get(f"/queue/{tid}")
    assert page.status_code == 200 and f'action="/themes/responses/{rid}/tag"' in page.text
    r = client.post(f"/themes/responses/{rid}/tag", follow_redirects=False,
                    data={"_csrf_token": _csrf(client), "theme": "billing",
                          "back": f"/queue/{tid}"})
    assert r.headers["location"] == f"/queue/{tid}#r{rid}"
    assert f'action="/themes/responses/{rid}/untag"' in client.get(f"/queue/{tid}").text
