"""Themes in the database: tagging on arrival, corrections → training, taxonomy API, analytics."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError
from sqlmodel import Session, select

from benchmarks.data.survey_comments import generate
from feedback.insights import embeddings, service
from feedback.insights.model import ThemeModel
from feedback.insights.models import (
    ResponseTheme,
    Theme,
    ThemeModelVersion,
    ThemeReview,
    ThemeTrainingRun,
)
from feedback.insights.tasks import retrain, run_requested
from feedback.recovery.triggers import response_themes
from feedback.reports import themes_source
from feedback.reports.figures import Filters
from feedback.settings import Settings
from feedback.worker import JobContext


def install(session: Session, model: ThemeModel, now: Any, key: str = "test") -> None:
    """Store a model version and its themes, as `train_now` does from the taxonomy."""
    for name in model.themes:
        service.create_theme(session, name=name, now=now)
    session.add(ThemeModelVersion(created_at=now, training_key=key, n_examples=1,
                                  themes=model.themes, evaluation=model.evaluation,
                                  data=model.to_bytes()))
    session.commit()


def links(session: Session, response_id: int) -> dict[str, tuple[str | None, str]]:
    rows = session.exec(select(Theme.name, ResponseTheme.sentiment, ResponseTheme.source)
                        .join(ResponseTheme, ResponseTheme.theme_id == Theme.id)
                        .where(ResponseTheme.response_id == response_id)).all()
    return {name: (sentiment, source) for name, sentiment, source in rows}


def test_response_tagged_on_arrival(session, answer, clock, model) -> None:  # type: ignore[no-untyped-def]
    assert answer(n=1, score=2, comment="the agent was rude").id is not None
    assert service.themes_for(session, 1) == []  # no model yet: nothing, no error
    install(session, model, clock.now)
    r = answer(n=2, score=3, comment="Charged twice this month but the agent was friendly")
    assert links(session, r.id) == {"billing": ("negative", "model"),
                                    "staff_attitude": ("positive", "model")}
    assert response_themes(session, r) == ["billing", "staff_attitude"]
    quiet = answer(n=3, score=9, comment=None)
    assert service.themes_for(session, quiet.id) == []


def test_damaged_model_does_not_block_answers(session, answer, clock) -> None:  # type: ignore[no-untyped-def]
    session.add(ThemeModelVersion(created_at=clock.now, training_key="broken", n_examples=1,
                                  themes=[], evaluation={}, data=b"garbage"))
    session.commit()
    r = answer(n=1, score=2, comment="the agent was rude")
    assert r.id is not None and service.themes_for(session, r.id) == []


def test_model_does_not_recreate_a_merged_theme(session, answer, clock, model, api) -> None:  # type: ignore[no-untyped-def]
    install(session, model, clock.now)
    first = answer(n=1, score=2, comment="charged twice this month")
    billing = session.exec(select(Theme).where(Theme.name == "billing")).one()
    money = api.post("/api/themes", json={"name": "Money"}).json()
    api.post(f"/api/themes/{billing.id}/merge", json={"into": money["id"]})
    assert service.themes_for(session, first.id) == ["Money"]
    later = answer(n=2, score=2, comment="charged twice this month")
    assert service.themes_for(session, later.id) == []  # until retrained on the new name
    assert session.exec(select(Theme).where(Theme.name == "billing")).first() is None


def test_corrections_train_a_model_once(session, answer, clock, settings, engine) -> None:  # type: ignore[no-untyped-def]
    for n, row in enumerate(generate(150, seed=4), start=1):
        r = answer(n=n, score=9 if row.classification == "promoter" else 2, comment=row.text)
        service.correct_response(session, r.id, row.themes, now=clock.now, reviewer="lead")
    session.commit()
    assert len(session.exec(select(ThemeReview)).all()) == 150
    ctx = JobContext(engine=engine, settings=settings, clock=lambda: clock.now)
    first = retrain(ctx)
    assert first is not None
    assert retrain(ctx) is None  # same labels: no second version
    version = session.get(ThemeModelVersion, first)
    assert version is not None and version.n_examples == 150
    assert "micro_f1" in version.evaluation and version.sentiment_source == "labels"
    # The new model tags new responses.
    r = answer(n=999, score=1, comment="waited over an hour on hold")
    assert "wait_time" in service.themes_for(session, r.id)


def test_training_needs_enough_labels(session, settings, engine, clock, api) -> None:  # type: ignore[no-untyped-def]
    ctx = JobContext(engine=engine, settings=settings, clock=lambda: clock.now)
    assert retrain(ctx) is None
    res = api.post("/api/themes/train")  # refused at once, not queued to fail later
    assert res.status_code == 422 and "need at least 20 labelled comments" in res.json()["message"]


def test_correction_errors(session, answer, clock) -> None:  # type: ignore[no-untyped-def]
    from surveys.errors import NotFound, ValidationFailed

    r = answer(n=1, score=2, comment="meh")
    with pytest.raises(NotFound):
        service.correct_response(session, 999, [], now=clock.now, reviewer="x")
    with pytest.raises(ValidationFailed, match="sentiment"):
        service.correct_response(session, r.id, [("billing", "furious")], now=clock.now,
                                 reviewer="x")
    with pytest.raises(ValidationFailed, match="name"):
        service.correct_response(session, r.id, [("a|b", None)], now=clock.now, reviewer="x")
    assert service.correct_response(session, r.id, [], now=clock.now, reviewer="x") == []
    assert session.get(ThemeReview, r.id) is not None  # "no theme applies" is a label too


def test_taxonomy_api(api, answer, session, clock) -> None:  # type: ignore[no-untyped-def]
    billing = api.post("/api/themes", json={"name": "Billing", "keywords": ["invoice", " "],
                                            "examples": ["charged twice"]}).json()
    assert billing["keywords"] == ["invoice"] and billing["status"] == "accepted"
    assert api.post("/api/themes", json={"name": "Billing"}).status_code == 409
    assert api.post("/api/themes", json={"name": "a:b"}).json()["field"] == "name"
    assert api.post("/api/themes", json={"nme": "x"}).status_code == 422
    fees = api.post("/api/themes", json={"name": "Fees"}).json()
    r1 = answer(n=1, score=2, comment="charged twice")
    r2 = answer(n=2, score=2, comment="hidden fees")
    assert api.put(f"/api/responses/{r1.id}/themes",
                   json={"themes": [{"theme": "Billing", "sentiment": "negative"}]}).json() == \
        {"response_id": r1.id, "themes": ["Billing"]}
    api.put(f"/api/responses/{r2.id}/themes", json={"themes": [{"theme": "Fees"},
                                                               {"theme": "Billing"}]})
    assert api.put("/api/responses/999/themes", json={"themes": []}).status_code == 404
    renamed = api.patch(f"/api/themes/{fees['id']}", json={"name": "Hidden fees"}).json()
    assert renamed["name"] == "Hidden fees"
    merged = api.post(f"/api/themes/{fees['id']}/merge", json={"into": billing["id"]}).json()
    assert merged["responses"] == 0 and merged["name"] == "Billing"
    items = api.get("/api/themes").json()["items"]
    assert [(t["name"], t["responses"]) for t in items] == [("Billing", 2)]
    assert api.post(f"/api/themes/{billing['id']}/merge",
                    json={"into": billing["id"]}).status_code == 422
    assert api.post("/api/themes/999/merge", json={"into": billing["id"]}).status_code == 404
    split = api.post(f"/api/themes/{billing['id']}/split",
                     json={"name": "Double charge", "response_ids": [r1.id]})
    assert split.status_code == 201
    assert service.themes_for(session, r1.id) == ["Double charge"]
    bad = api.post(f"/api/themes/{billing['id']}/split", json={"name": "X", "response_ids": [r1.id]})
    assert bad.status_code == 422 and "not tagged" in bad.json()["message"]


def test_themes_api_needs_a_lead(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/themes").status_code in (401, 403)


def test_theme_report_for_dashboards(session, answer, clock, model, settings) -> None:  # type: ignore[no-untyped-def]
    f = Filters(start_day=date(2026, 3, 1), end_day=date(2026, 3, 14))
    assert themes_source.theme_report(session, f, clock.now)["state"] == themes_source.UNTRAINED
    install(session, model, clock.now)
    clock.advance(days=-20)  # the previous period: little about billing
    for n in range(1, 21):
        answer(n=n, score=9, comment="the agent was friendly and patient")
    answer(n=21, score=2, comment="charged twice this month")
    clock.advance(days=20)
    for n in range(30, 50):
        answer(n=n, score=1 if n % 2 else 9,
               comment="charged twice this month" if n % 2 else "staff were lovely")
    report = themes_source.theme_report(session, f, clock.now, examples=2)
    assert report["state"] == themes_source.READY
    by_name = {t["theme"]: t for t in report["themes"]}
    billing = by_name["billing"]
    assert billing["count"] == 10 and billing["share"] == 0.5
    assert billing["unhappy"] == 1.0 and billing["net_with"] == -100.0
    assert billing["impact"] == -50.0 and billing["key_driver"] < 0
    assert billing["sentiment"] == {"positive": 0, "neutral": 0, "negative": 10}
    assert len(billing["examples"]) == 2
    assert [e["theme"] for e in report["emerging"]] == ["billing"] and billing["emerging"]
    assert report["buckets"][0]["themes"]["billing"]["count"] == 10
    drill = themes_source.theme_responses(session, "billing", f, limit=3)
    assert drill["total"] == 10 and len(drill["responses"]) == 3
    ids = [r["id"] for r in drill["responses"]]
    assert themes_source.themes_for_responses(session, ids) == {i: ["billing"] for i in ids}
    assert themes_source.theme_responses(session, "nope", f)["theme"] is None


def test_taxonomy_page(api, session, clock, model) -> None:  # type: ignore[no-untyped-def]
    assert "No themes yet" in api.get("/themes/taxonomy").text
    install(session, model, clock.now)
    billing = session.exec(select(Theme).where(Theme.name == "billing")).one()
    api.patch(f"/api/themes/{billing.id}", json={"keywords": ["invoice"]})
    page = api.get("/themes/taxonomy")
    assert page.status_code == 200
    assert "billing" in page.text and "invoice" in page.text and "n=" in page.text
    assert 'href="/themes/taxonomy"' in page.text  # in the staff navigation
    assert "0.00 (P 0.00" not in page.text


def test_held_out_figures_say_no_data_on_few_answers() -> None:
    figures = service.held_out_figures({"themes": {
        "rare": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0, "tp": 0, "fp": 0},
        "few": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 3, "tp": 3, "fp": 0},
        "many": {"precision": 0.8, "recall": 0.5, "f1": 0.62, "support": 40, "tp": 20, "fp": 5}}})
    assert figures["rare"] == {"no_data": True, "n": 0} and figures["few"]["no_data"]
    many = figures["many"]
    assert many["predicted"] == 25 and many["recall_interval"][0] < 0.5 < many["recall_interval"][1]
    assert many["precision_interval"][0] < 0.8 < many["precision_interval"][1]


def test_retraining_compares_with_the_version_in_use(session, answer, clock, settings, engine) -> None:  # type: ignore[no-untyped-def]
    rows = list(generate(200, seed=4))
    for n, row in enumerate(rows[:150], start=1):
        r = answer(n=n, score=9 if row.classification == "promoter" else 2, comment=row.text)
        service.correct_response(session, r.id, row.themes, now=clock.now, reviewer="lead")
    session.commit()
    ctx = JobContext(engine=engine, settings=settings, clock=lambda: clock.now)
    first = retrain(ctx)
    assert first is not None and service.active_version_id(session) == first  # nothing to beat
    for n, row in enumerate(rows[150:], start=151):
        r = answer(n=n, score=9 if row.classification == "promoter" else 2, comment=row.text)
        service.correct_response(session, r.id, row.themes, now=clock.now, reviewer="lead")
    session.commit()
    second = retrain(ctx)
    assert second is not None
    session.expire_all()
    ev = session.get(ThemeModelVersion, second).evaluation
    assert set(ev["previous"]) >= {"micro_f1", "macro_f1"}  # the old model, same held-out split
    in_use = service.active_version_id(session)
    assert (in_use == second) == (ev["micro_f1"] >= ev["previous"]["micro_f1"])


def test_activate_and_roll_back_in_one_click(client, session, clock, model, staff) -> None:  # type: ignore[no-untyped-def]
    from tests.insights.test_corrections_ui import _csrf
    from tests.recovery.conftest import sign_in

    install(session, model, clock.now, key="one")
    session.add(ThemeModelVersion(created_at=clock.now, training_key="two", n_examples=1,
                                  themes=model.themes, evaluation=model.evaluation,
                                  data=model.to_bytes()))
    session.commit()
    one, two = sorted(v.id for v in session.exec(select(ThemeModelVersion)))
    assert service.active_version_id(session) == two  # none activated: the newest
    service.activate(session, two, now=clock.now)
    session.commit()
    lead = staff("Lena", role="lead", password="s3cret-pass")
    sign_in(client, lead.email)
    page = client.get("/themes/taxonomy")
    assert f'action="/themes/models/{one}/activate"' in page.text and "in use" in page.text
    r = client.post(f"/themes/models/{one}/activate", follow_redirects=False,
                    data={"_csrf_token": _csrf(client)})
    assert r.status_code == 303 and r.headers["location"] == f"/themes/taxonomy#v{one}"
    session.expire_all()
    assert service.active_version_id(session) == one  # same clock tick: still the newest
    assert service.current_model(session)[0] == one
    api_versions = client.get("/api/themes/models").json()["items"]
    assert [v["active"] for v in api_versions] == [False, True]
    assert client.post("/themes/models/999999/activate",
                       data={"_csrf_token": _csrf(client)}).status_code == 404


def test_train_now_is_a_run_the_worker_does(client, session, answer, clock, settings, engine, staff) -> None:  # type: ignore[no-untyped-def]
    """The lead's "train now" returns at once (training takes seconds to minutes); the worker
    trains, once, and the page shows the run — refreshing itself until it is done."""
    from tests.insights.test_corrections_ui import _csrf
    from tests.recovery.conftest import sign_in

    for n, row in enumerate(generate(150, seed=4), start=1):
        r = answer(n=n, score=9 if row.classification == "promoter" else 2, comment=row.text)
        service.correct_response(session, r.id, row.themes, now=clock.now, reviewer="lead")
    session.commit()
    lead = staff("Lena", role="lead", password="s3cret-pass")
    sign_in(client, lead.email)
    r = client.post("/themes/train", data={"_csrf_token": _csrf(client)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/themes/taxonomy#training"
    page = client.get("/themes/taxonomy").text
    assert "waiting for the worker" in page and 'http-equiv="refresh"' in page
    client.post("/themes/train", data={"_csrf_token": _csrf(client)})  # asked twice: one run
    [run] = [{"id": r.id, "status": r.status} for r in session.exec(select(ThemeTrainingRun))]
    assert run["status"] == "queued"
    assert session.exec(select(ThemeModelVersion)).all() == []
    ctx = JobContext(engine=engine, settings=settings, clock=lambda: clock.now)
    assert run_requested(ctx) == 1 and run_requested(ctx) == 0
    done = client.get(f"/api/themes/train/{run['id']}").json()
    assert done["status"] == "done" and done["activated"] and done["version_id"]
    assert service.active_version_id(session) == done["version_id"]
    page = client.get("/themes/taxonomy").text
    assert f"version {done['version_id']}, now in use" in page and 'http-equiv="refresh"' not in page
    # Nothing new since: the next run says so instead of training again.
    client.post("/themes/train", data={"_csrf_token": _csrf(client)})
    assert run_requested(ctx) == 1
    assert "nothing new to learn" in client.get("/themes/taxonomy").text
    assert client.get("/api/themes/train/999999").status_code == 404


def test_the_app_trains_with_embeddings_when_set(session, answer, clock, settings, engine,  # type: ignore[no-untyped-def]
                                                 fake_e5, api) -> None:
    """FEEDBACK_THEMES_EMBEDDINGS=true: the worker's versions carry the embedding block, the
    taxonomy page says so, and switching it on retrains the same labels."""
    for n, row in enumerate(generate(120, seed=4), start=1):
        r = answer(n=n, score=9 if row.classification == "promoter" else 2, comment=row.text)
        service.correct_response(session, r.id, row.themes, now=clock.now, reviewer="lead")
    session.commit()
    plain = retrain(JobContext(engine=engine, settings=settings, clock=lambda: clock.now))
    with_e5 = settings.model_copy(update={"themes_embeddings": True})
    ctx = JobContext(engine=engine, settings=with_e5, clock=lambda: clock.now)
    first = retrain(ctx)
    assert plain is not None and first is not None and first != plain
    assert retrain(ctx) is None  # same labels, same features: no third version
    version = session.get(ThemeModelVersion, first)
    assert version is not None and version.evaluation["embedding"] == embeddings.NAME
    stored = ThemeModel.from_bytes(version.data)
    assert stored.embedding == embeddings.NAME and stored.sentiment_reads_embeddings
    assert fake_e5.calls
    page = api.get("/themes/taxonomy").text
    assert page.count("with sentence embeddings") == 1


def test_embeddings_setting_needs_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embeddings, "available", lambda: False)
    with pytest.raises(ValidationError, match=r"pip install 'feedback\[embeddings\]'"):
        Settings(themes_embeddings=True)
