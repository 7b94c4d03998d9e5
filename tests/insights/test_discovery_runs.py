"""Theme discovery as a run the worker does (never inside a request), and the lead's verdict on
its proposals: accept (the theme joins the taxonomy and trains the next model) or reject."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import select

from benchmarks.data.survey_comments import generate
from feedback.db import transaction
from feedback.insights import discovery_runs, service, tasks
from feedback.insights.models import Theme, ThemeDiscoveryRun, ThemeStatus
from feedback.worker import JobContext
from tests.insights.test_corrections_ui import _csrf
from tests.recovery.conftest import sign_in


def _comments(answer: Any, n: int = 120) -> None:
    for i, row in enumerate(generate(n, seed=9), start=1):
        answer(n=i, score=5, comment=row.text)


def _ctx(engine: Any, settings: Any, clock: Any) -> JobContext:
    return JobContext(engine=engine, settings=settings, clock=lambda: clock.now)


def test_discovery_is_a_run_the_worker_does(api, answer, clock, engine, settings) -> None:  # type: ignore[no-untyped-def]
    _comments(answer)
    r = api.post("/api/themes/discover", json={"k": 5})
    assert r.status_code == 202, r.text
    run = r.json()
    assert run["status"] == "queued" and run["items"] == [] and run["days"] == 90
    assert api.post("/api/themes/discover", json={"k": 5}).json()["id"] == run["id"]  # one run
    assert api.get("/api/themes").json()["items"] == []  # nothing proposed inside the request
    ctx = _ctx(engine, settings, clock)
    assert tasks.discover_requested(ctx) == 1 and tasks.discover_requested(ctx) == 0
    done = api.get(f"/api/themes/discover/{run['id']}").json()
    assert done["status"] == "done" and done["comments"] == 120 and done["features"] == "tfidf"
    created = done["items"]
    assert len(created) == 5 and {t["status"] for t in created} == {"discovered"}
    assert all(t["examples"] and len(t["name"].split(", ")) >= 2 for t in created)
    assert sum(t["comments_in_discovery"] for t in created) <= 120
    assert all(t["comments_in_discovery"] >= 1 for t in created)
    accepted = api.patch(f"/api/themes/{created[0]['id']}", json={"accept": True}).json()
    assert accepted["status"] == "accepted"
    gone = api.delete(f"/api/themes/{created[1]['id']}")
    assert gone.status_code == 200 and gone.json()["removed"] is True
    left = api.get(f"/api/themes/discover/{run['id']}").json()["items"]
    assert [t["id"] for t in left] == [t["id"] for t in created if t["id"] != created[1]["id"]]
    refused = api.delete(f"/api/themes/{created[0]['id']}")  # accepted: merged, not removed
    assert refused.status_code == 409 and "merge it" in refused.json()["message"]
    assert api.delete("/api/themes/999999").status_code == 404
    assert api.get("/api/themes/discover/999999").status_code == 404
    assert api.post("/api/themes/discover", json={"k": 1}).status_code == 422
    # A second run proposes only what is not a theme yet.
    api.post("/api/themes/discover", json={"k": 5})
    assert tasks.discover_requested(ctx) == 1
    names = [t["name"] for t in api.get("/api/themes").json()["items"]]
    assert len(names) == len(set(names))


def test_too_few_comments_is_refused_at_once(api, answer) -> None:  # type: ignore[no-untyped-def]
    answer(n=1, score=2, comment="slow")
    r = api.post("/api/themes/discover", json={"days": 30})
    assert r.status_code == 422
    assert r.json()["field"] == "days" and "have 1, need 4" in r.json()["message"]


def test_a_run_that_cannot_cluster_fails_with_its_reason(api, answer, clock, engine, settings) -> None:  # type: ignore[no-untyped-def]
    for i in range(1, 6):
        answer(n=i, score=2, comment="!!!")
    run = api.post("/api/themes/discover", json={}).json()
    assert tasks.discover_requested(_ctx(engine, settings, clock)) == 1
    failed = api.get(f"/api/themes/discover/{run['id']}").json()
    assert failed["status"] == "failed" and "too few comments with words" in failed["error"]
    assert api.get("/api/themes").json()["items"] == []


def test_discovery_uses_the_embeddings_when_set(api, answer, clock, engine, settings, fake_e5,  # type: ignore[no-untyped-def]
                                                monkeypatch) -> None:
    """...on the newest MAX_COMMENTS_EMBEDDINGS comments (a transformer pass each)."""
    monkeypatch.setattr(discovery_runs, "MAX_COMMENTS_EMBEDDINGS", 50)
    _comments(answer, 60)
    run = api.post("/api/themes/discover", json={"k": 3}).json()
    with_e5 = settings.model_copy(update={"themes_embeddings": True})
    assert tasks.discover_requested(_ctx(engine, with_e5, clock)) == 1
    done = api.get(f"/api/themes/discover/{run['id']}").json()
    assert done["status"] == "done" and done["features"] == "embeddings" and fake_e5.calls
    assert done["comments"] == 50


def test_no_write_lock_is_held_while_clustering_or_training(api, answer, clock, engine, settings,  # type: ignore[no-untyped-def]
                                                            session, monkeypatch) -> None:
    """Clustering and training take minutes with embeddings: meanwhile answers must be stored
    (on SQLite a writing transaction holds the database's one write lock)."""
    _comments(answer)
    for i, row in enumerate(generate(120, seed=4), start=200):
        r = answer(n=i, score=9 if row.classification == "promoter" else 2, comment=row.text)
        service.correct_response(session, r.id, row.themes, now=clock.now, reviewer="lead")
    session.commit()
    wrote: list[str] = []

    def write_meanwhile(what: str) -> None:
        if engine.dialect.name == "sqlite":  # wait 0.2 s for the write lock, not 30 s
            conn = sqlite3.connect(engine.url.database, timeout=0.2, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("UPDATE theme SET updated_at = updated_at")
                conn.execute("COMMIT")
            finally:
                conn.close()
        else:
            with transaction(engine) as s:
                s.execute(sa.text("UPDATE theme SET updated_at = updated_at"))
        wrote.append(what)

    real_cluster, real_fit = discovery_runs.cluster, tasks.fit
    monkeypatch.setattr(discovery_runs, "cluster",
                        lambda *a, **kw: (write_meanwhile("cluster"), real_cluster(*a, **kw))[1])
    monkeypatch.setattr(tasks, "fit", lambda plan, progress=None: (
        write_meanwhile("fit"), real_fit(plan, progress))[1])
    api.post("/api/themes/discover", json={"k": 4})
    api.post("/api/themes/train")
    ctx = _ctx(engine, settings, clock)
    assert tasks.discover_requested(ctx) == 1 and tasks.run_requested(ctx) == 1
    assert wrote == ["cluster", "fit"]


def test_discovered_themes_train_only_once_accepted(session, clock) -> None:  # type: ignore[no-untyped-def]
    proposal = service.create_theme(session, name="parking, car park", now=clock.now,
                                    examples=["no parking spaces"], status=ThemeStatus.DISCOVERED)
    assert not any(e.text == "no parking spaces" for e in service.training_examples(session))
    service.update_theme(session, int(proposal.id or 0), now=clock.now, accept=True)
    assert ("parking, car park", None) in next(
        e.themes for e in service.training_examples(session) if e.text == "no parking spaces")


def test_lead_discovers_accepts_and_rejects_on_the_taxonomy_page(client, answer, clock, engine,  # type: ignore[no-untyped-def]
                                                                 settings, staff, session) -> None:
    _comments(answer)
    lead = staff("Lena", role="lead", password="s3cret-pass")
    sign_in(client, lead.email)
    page = client.get("/themes/taxonomy").text
    assert 'action="/themes/discover"' in page and 'name="days"' in page
    bad = client.post("/themes/discover", data={"_csrf_token": _csrf(client), "days": "0"})
    assert bad.status_code == 422 and "days" in bad.text
    r = client.post("/themes/discover", data={"_csrf_token": _csrf(client), "days": "30"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/themes/taxonomy#discovery"
    page = client.get("/themes/taxonomy").text
    assert "waiting for the worker" in page and 'http-equiv="refresh"' in page
    assert tasks.discover_requested(_ctx(engine, settings, clock)) == 1
    page = client.get("/themes/taxonomy").text
    [run] = session.exec(select(ThemeDiscoveryRun)).all()
    assert run.days == 30 and run.created
    assert f"120 comments, {len(run.created)} new proposals" in page
    assert f"{run.sizes[0]} comments in its cluster" in page
    assert 'http-equiv="refresh"' not in page
    first, second = run.created[:2]
    assert f'action="/themes/{first}/accept"' in page and f'action="/themes/{second}/reject"' in page
    r = client.post(f"/themes/{first}/accept", data={"_csrf_token": _csrf(client)},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/themes/taxonomy#t{first}"
    r = client.post(f"/themes/{second}/reject", data={"_csrf_token": _csrf(client)},
                    follow_redirects=False)
    assert r.status_code == 303
    session.expire_all()
    assert session.get(Theme, first).status == ThemeStatus.ACCEPTED  # type: ignore[union-attr]
    assert session.get(Theme, second) is None
    assert client.post(f"/themes/{first}/reject",
                       data={"_csrf_token": _csrf(client)}).status_code == 409


@pytest.mark.parametrize("lang", ["zh-CN", "fa"])
def test_discovery_section_is_translated(client, staff, lang) -> None:  # type: ignore[no-untyped-def]
    lead = staff("Lena", role="lead", password="s3cret-pass")
    sign_in(client, lead.email)
    page = client.get("/themes/taxonomy", headers={"Accept-Language": lang}).text
    assert {"zh-CN": "发现主题", "fa": "کشف موضوع‌ها"}[lang] in page


def test_runs_say_which_stage_they_are_at(api, answer, clock, engine, settings, session,  # type: ignore[no-untyped-def]
                                          monkeypatch) -> None:
    """Training takes minutes with embeddings: the run records each stage as it starts (and
    renews its lease), the API and the taxonomy page show it, and it is cleared at the end."""
    from feedback.insights import training

    for i, row in enumerate(generate(120, seed=4), start=1):
        r = answer(n=i, score=9 if row.classification == "promoter" else 2, comment=row.text)
        service.correct_response(session, r.id, row.themes, now=clock.now, reviewer="lead")
    session.commit()
    seen: list[tuple[str | None, bool]] = []
    real_train, real_cluster = training.train, discovery_runs.cluster

    def look(run_path: str, stage_text: str) -> None:
        stage = api.get(run_path).json()["stage"]
        seen.append((stage, stage_text in api.get("/themes/taxonomy").text))

    def train(*a: Any, progress: Any = None, **kw: Any) -> Any:
        def step(stage: str) -> None:
            progress(stage)
            look(f"/api/themes/train/{run_id}", {"held_out": "training on 80 % of the labels",
                                                 "final": "training on all the labels"}[stage])
        return real_train(*a, progress=step, **kw)

    monkeypatch.setattr(service, "train", train)
    run_id = api.post("/api/themes/train").json()["id"]
    ctx = _ctx(engine, settings, clock)
    assert tasks.run_requested(ctx) == 1
    assert seen == [("held_out", True), ("final", True)]
    assert api.get(f"/api/themes/train/{run_id}").json()["stage"] is None

    seen.clear()
    monkeypatch.setattr(discovery_runs, "cluster", lambda *a, **kw: (
        look(f"/api/themes/discover/{run_id}", "grouping the comments"), real_cluster(*a, **kw))[1])
    run_id = api.post("/api/themes/discover", json={"k": 3}).json()["id"]
    assert tasks.discover_requested(ctx) == 1
    assert seen == [("clustering", True)]
    assert api.get(f"/api/themes/discover/{run_id}").json()["stage"] is None
