"""The suggestions are computed by the worker and stored; the page and the API only read them.

A request must never run the computation (tens of seconds of CPU on a large taxonomy): the
compute path is made to fail in the request tests. The job recomputes when the tagged data
changed (not more often than MIN_INTERVAL) or a lead asked, and only one worker computes."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from feedback.insights import service, suggestion_store, suggestions
from feedback.insights.models import Theme, ThemeSuggestionResult
from feedback.worker import collect_jobs
from tests.insights.test_suggestions import _seed_db, run_job
from tests.integrations.test_pages import _english_left
from tests.recovery.conftest import sign_in


def _no_compute(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_: Any, **__: Any) -> Any:
        raise AssertionError("the suggestions were computed inside a request")

    for module, name in ((suggestions, "suggest"), (suggestions, "theme_comments"),
                         (suggestion_store, "compute"), (suggestion_store, "load")):
        monkeypatch.setattr(module, name, fail)


def _row(engine: Any) -> ThemeSuggestionResult:
    with Session(engine) as s:
        row = s.get(ThemeSuggestionResult, suggestion_store.ROW)
        assert row is not None
        return row


def _lead(client: Any, staff: Any) -> str:
    client.headers.pop("Authorization", None)
    lead = staff("Lena", role="lead", password="s3cret-pass")
    sign_in(client, lead.email)
    return str(client.cookies.get("csrftoken"))


def test_page_and_api_never_compute(client, api, session, engine, answer, staff, clock,  # type: ignore[no-untyped-def]
                                    settings, monkeypatch) -> None:
    _seed_db(session, answer, clock)
    with monkeypatch.context() as m:
        _no_compute(m)
        body = api.get("/api/themes/suggestions").json()
        assert body["computed"] == {"at": None, "comments": 0, "seconds": None,
                                    "status": "idle", "stale": True, "outdated": 0}
        assert body["merges"] == [] and body["splits"] == []
        _lead(client, staff)
        page = client.get("/themes/suggestions")
        assert page.status_code == 200 and "Not computed yet" in page.text
        assert f"within {suggestion_store.WITHIN_MINUTES} minutes" in page.text
    assert run_job(engine, settings, clock)
    service.correct_response(session, 1, [("Staff", None)], now=clock.now, reviewer="t")
    session.commit()
    with monkeypatch.context() as m:
        _no_compute(m)
        page = client.get("/themes/suggestions")
        assert page.status_code == 200 and "Being recomputed" in page.text
        assert "Computed at" in page.text and "169 tagged comments" in page.text
        assert 'action="/themes/suggestions/merge"' in page.text


def test_job_stores_then_recomputes_only_when_stale(session, engine, answer, clock, settings,  # type: ignore[no-untyped-def]
                                                    monkeypatch) -> None:
    assert "insights.suggestions" in {j.name for j in collect_jobs()}
    _seed_db(session, answer, clock)
    assert run_job(engine, settings, clock)
    row = _row(engine)
    assert row.status == "idle" and row.computed_at == clock.now and row.n_comments == 169
    assert row.seconds is not None and row.seconds >= 0 and row.worker is None
    assert row.document is not None and len(row.document["merges"]) == 1
    # No comment text is stored: only ids (an erased comment must not linger here).
    assert all(p["examples"] == [] and len(p["example_ids"]) == 3
               for s in row.document["splits"] for p in s["parts"])
    assert row.fingerprint == suggestion_store.fingerprint(session)
    # Unchanged data: nothing computed, even long after.
    clock.advance(hours=1)
    with monkeypatch.context() as m:
        _no_compute(m)
        assert not run_job(engine, settings, clock)
    # Changed tags: recomputed, but not before MIN_INTERVAL after the last start.
    service.correct_response(session, 1, [("Staff", None)], now=clock.now, reviewer="t")
    session.commit()
    assert suggestion_store.read(session).stale
    computed = _row(engine).computed_at
    assert run_job(engine, settings, clock)  # the last start is an hour old
    assert _row(engine).computed_at == clock.now != computed
    service.correct_response(session, 2, [("Staff", None)], now=clock.now, reviewer="t")
    session.commit()
    clock.advance(minutes=1)
    assert not run_job(engine, settings, clock)
    clock.advance(seconds=suggestion_store.MIN_INTERVAL.total_seconds())
    assert run_job(engine, settings, clock)
    assert not suggestion_store.read(session).stale


def test_one_worker_computes_and_a_lost_lease_writes_nothing(session, engine, answer, clock,  # type: ignore[no-untyped-def]
                                                             settings) -> None:
    _seed_db(session, answer, clock)
    with Session(engine) as s:
        current = suggestion_store.fingerprint(s)
    won = [suggestion_store.claim(engine, worker=w, now=clock.now, current=current)
           for w in ("w1", "w2")]
    assert won == [True, False]
    assert suggestion_store.read(session).status == "running"
    # w1 stops; after its lease w2 takes over and w1's late result is not written.
    clock.advance(seconds=suggestion_store.LEASE.total_seconds() + 1)
    assert run_job(engine, settings, clock, worker="w2")
    assert not suggestion_store.store(engine, worker="w1", now=clock.now, current="x",
                                      found=suggestions.Suggestions(), n_comments=0,
                                      seconds=0.0)
    assert _row(engine).fingerprint == current and _row(engine).n_comments == 169


def test_recompute_now_queues_for_the_worker(client, api, session, engine, answer, staff,  # type: ignore[no-untyped-def]
                                             clock, settings, monkeypatch) -> None:
    _seed_db(session, answer, clock)
    for _ in range(2):  # asking twice queues once
        r = api.post("/api/themes/suggestions/recompute")
        assert r.status_code == 202, r.text
        assert r.json() == {"status": "queued", "progress": "/api/themes/suggestions"}
    assert api.get("/api/themes/suggestions").json()["computed"]["status"] == "queued"
    assert run_job(engine, settings, clock)
    assert _row(engine).status == "idle"
    # Asked again with nothing changed, right after: computed anyway (a lead asked).
    clock.advance(seconds=5)
    token = _lead(client, staff)
    with monkeypatch.context() as m:
        _no_compute(m)
        r = client.post("/themes/suggestions/recompute", data={"_csrf_token": token},
                        follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/themes/suggestions?done=queued"
        page = client.get("/themes/suggestions").text
        assert "Recomputation asked for" in page and 'http-equiv="refresh"' in page
    clock.advance(seconds=5)
    assert run_job(engine, settings, clock)
    # Asked while a computation runs: that one finishes, then the next is queued.
    with Session(engine) as s:
        current = suggestion_store.fingerprint(s)
    clock.advance(hours=1)
    assert suggestion_store.claim(engine, worker="w1", now=clock.now, current="other")
    clock.advance(seconds=5)
    with Session(engine) as s:
        assert suggestion_store.request_recompute(s, by="t", now=clock.now) == "running"
        s.commit()
    assert suggestion_store.store(engine, worker="w1", now=clock.now, current=current,
                                  found=suggestions.Suggestions(), n_comments=0, seconds=0.1)
    assert _row(engine).status == "queued"
    # Only leads (theme.write) may ask.
    agent = staff("Rita", password="s3cret-pass")
    client.cookies.clear()
    sign_in(client, agent.email)
    r = client.post("/themes/suggestions/recompute", data={
        "_csrf_token": client.cookies.get("csrftoken")}, follow_redirects=False)
    assert r.status_code in (401, 403)


def test_accepting_a_suggestion_about_a_removed_theme_is_404(client, api, session, engine,  # type: ignore[no-untyped-def]
                                                            answer, staff, clock,
                                                            settings) -> None:
    _, ids = _seed_db(session, answer, clock)
    assert run_job(engine, settings, clock)
    # Another lead merges Invoices away after the suggestions were computed.
    assert api.post(f"/api/themes/{ids['Invoices']}/merge",
                    json={"into": ids["Staff"]}).status_code == 200
    token = _lead(client, staff)
    r = client.post("/themes/suggestions/merge", data={
        "_csrf_token": token, "source": str(ids["Invoices"]), "source_name": "Invoices",
        "into": str(ids["Billing"]), "into_name": "Billing"})
    assert r.status_code == 404 and "Invoices" in r.text and "no longer exists" in r.text
    facilities = ids["Facilities"]
    with Session(engine) as s:
        service.merge_themes(s, facilities, ids["Waiting"], now=clock.now)
        s.commit()
    r = client.post("/themes/suggestions/split", data={
        "_csrf_token": token, "theme_id": str(facilities), "theme_id_name": "Facilities",
        "name": "Food", "response_ids": "1,2"})
    assert r.status_code == 404 and "Facilities" in r.text
    with Session(engine) as s:
        assert s.exec(select(Theme).where(Theme.name == "Food")).first() is None


def test_failed_computation_keeps_the_last_result(session, engine, answer, clock, settings,  # type: ignore[no-untyped-def]
                                                  monkeypatch) -> None:
    _seed_db(session, answer, clock)
    assert run_job(engine, settings, clock)
    with Session(engine) as s:
        suggestion_store.request_recompute(s, by="t", now=clock.now)
        s.commit()

    def boom(*_: Any) -> Any:
        raise ValueError("no")

    monkeypatch.setattr(suggestion_store, "compute", boom)
    clock.advance(seconds=1)
    assert not run_job(engine, settings, clock)
    stored = suggestion_store.read(session)
    assert stored.status == "idle" and stored.error == "computation stopped (ValueError)"
    assert stored.found is not None and len(stored.found.merges) == 1


@pytest.mark.parametrize("lang", ["fa", "zh-CN"])
def test_every_state_of_the_page_is_translated(client, api, session, engine, answer, staff,  # type: ignore[no-untyped-def]
                                               clock, settings, lang) -> None:
    _seed_db(session, answer, clock)
    token = _lead(client, staff)
    client.headers["Accept-Language"] = lang

    def check() -> None:
        page = client.get("/themes/suggestions")
        assert page.status_code == 200 and f'<html lang="{lang}"' in page.text
        assert _english_left(page.text) == []

    check()  # not computed yet
    client.post("/themes/suggestions/recompute", data={"_csrf_token": token})
    check()  # queued
    assert run_job(engine, settings, clock)
    check()  # computed
    service.correct_response(session, 1, [("Staff", None)], now=clock.now, reviewer="t")
    session.commit()
    check()  # stale


def test_fingerprint_follows_the_mentions_sentiments(session, answer, clock) -> None:  # type: ignore[no-untyped-def]
    """Tones decide which merges are offered: a sentiment changed in place (a merge keeps one
    link and may give it the other's sentiment) makes the suggestions due again."""
    from feedback.insights.models import ResponseTheme

    r = answer(n=1, score=2, comment="the wait was long")
    service.correct_response(session, r.id, [("wait time", "negative")], now=clock.now,
                             reviewer="lead")
    session.commit()
    before = suggestion_store.fingerprint(session)
    link = session.exec(select(ResponseTheme)).one()
    link.sentiment = "positive"
    session.add(link)
    session.commit()
    assert suggestion_store.fingerprint(session) != before
