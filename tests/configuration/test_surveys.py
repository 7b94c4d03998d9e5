"""The survey editor: versioned surveys with wording per language, extra questions, previews;
an interaction routed to the survey gets that wording on the page, in the e-mail and the SMS,
and its extra answers are reported by question."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session, select

from surveys.models import Invitation, ResponseAnswer
from tests.factories import interaction_payload
from tests.outreach.conftest import make_dispatcher, outbox  # noqa: F401 - fixture

SURVEY = {
    "key": "billing-csat", "name": "Billing CSAT", "kind": "csat",
    "texts": {"en": {"question": "How did billing do today?", "why": "What made it so?",
                     "low_label": "Badly", "high_label": "Brilliantly",
                     "sms_question": "Billing today, 1-5?"},
              "fa": {"question": "واحد صورتحساب امروز چطور بود؟", "why": "چرا؟",
                     "low_label": "بد", "high_label": "عالی"}},
    "extra": [
        {"id": "resolved", "type": "yes_no",
         "text": {"en": "Was your issue resolved?", "fa": "آیا مشکل شما حل شد؟"}},
        {"id": "topic", "type": "choice",
         "text": {"en": "What was it about?", "fa": "درباره چه بود؟"},
         "options": [{"id": "invoice", "label": {"en": "An invoice", "fa": "صورتحساب"}},
                     {"id": "refund", "label": {"en": "A refund", "fa": "بازپرداخت"}}]}],
}


def _setup(api: Any) -> None:
    r = api.post("/api/surveys", json=SURVEY)
    assert r.status_code == 201, r.text
    r = api.post("/api/rules?position=1", json={"name": "billing", "when": {"queue": ["billing-l1"]},
                                                 "survey": "billing-csat", "via": "email"})
    assert r.status_code == 201, r.text


def test_create_flags_missing_translations_and_versions_on_edit(api: Any) -> None:
    _setup(api)
    body = api.get("/api/surveys/billing-csat").json()
    assert body["version"] == 1 and body["kind"] == "csat" and body["scale"] == [1, 5]
    missing = body["missing_translations"]
    assert "zh-CN: question" in missing and "fa: sms_question" in missing
    assert "zh-CN: extra[1].options[0]" in missing and "fa: question" not in missing
    again = api.post("/api/surveys", json=SURVEY)
    assert again.status_code == 409 and again.json()["field"] == "key"
    r = api.put("/api/surveys/billing-csat", json={**SURVEY, "base_version": 1,
                                                  "texts": {"en": {"question": "v2?"}}})
    assert r.status_code == 200 and r.json()["version"] == 2
    assert [v["version"] for v in r.json()["versions"]] == [2, 1]
    stale = api.put("/api/surveys/billing-csat", json={**SURVEY, "base_version": 1})
    assert stale.status_code == 409
    kind = api.put("/api/surveys/billing-csat", json={**SURVEY, "kind": "nps"})
    assert kind.status_code == 422 and kind.json()["field"] == "kind"
    bad = api.post("/api/surveys", json={**SURVEY, "key": "x", "extra": [
        {"id": "c", "type": "choice", "text": {"en": "?"}, "options": [{"id": "a"}]}]})
    assert bad.status_code == 400 and "two options" in bad.text
    sms = api.post("/api/surveys", json={**SURVEY, "key": "y", "texts": {
        "en": {"sms_question": "x" * 121}}})
    assert sms.status_code == 400 and "sms_question" in sms.text


def test_preview_words_page_email_and_sms_like_the_customer_gets_them(api: Any) -> None:
    _setup(api)
    fa = api.get("/api/surveys/billing-csat/preview", params={"locale": "fa"}).json()
    assert fa["page"]["question"] == "واحد صورتحساب امروز چطور بود؟"
    assert [q["text"] for q in fa["page"]["extra"]] == ["آیا مشکل شما حل شد؟", "درباره چه بود؟"]
    assert "واحد صورتحساب امروز چطور بود؟" in fa["email"]["html"] and 'dir="rtl"' in fa["email"]["html"]
    assert "1 = بد" in fa["email"]["html"]
    en = api.get("/api/surveys/billing-csat/preview", params={"locale": "en"}).json()
    assert "Billing today, 1-5?" in en["sms"]["text"] and "How did billing" not in en["sms"]["text"]
    zh = api.get("/api/surveys/billing-csat/preview", params={"locale": "zh-CN"}).json()
    assert zh["page"]["question"] and zh["page"]["question"] != "How did billing do today?"  # catalog
    assert zh["page"]["extra"][1]["options"][0]["label"] == "An invoice"  # English, never blank
    assert api.get("/api/surveys/billing-csat/preview", params={"locale": "xx"}).status_code == 422


def test_interaction_on_the_queue_gets_the_survey_page_email_and_answers_by_question(
        api: Any, client: Any, session: Session, engine: Any, clock: Any,
        make_dispatcher: Any) -> None:  # noqa: F811
    _setup(api)
    payload = interaction_payload(1, customer={"locale": "fa"})
    payload["occurred_at"] = "2026-03-10T10:00:00Z"
    r = api.post("/api/interactions", json=payload)
    token = r.json()["results"][0]["invitation"]["token"]
    inv = session.exec(select(Invitation)).one()
    assert inv.survey_version == 1 and inv.channel == "email"
    # The survey is edited after scheduling: this customer still gets version 1's words.
    api.put("/api/surveys/billing-csat", json={**SURVEY, "texts": {"fa": {"question": "نسخه دو"}}})
    make_dispatcher().run_once()
    [mail] = outbox(engine)
    assert "واحد صورتحساب امروز چطور بود؟" in (mail.html or mail.body)
    page = client.get(f"/s/{token}")
    assert "واحد صورتحساب امروز چطور بود؟" in page.text and "درباره چه بود؟" in page.text
    assert 'name="q_topic" value="refund"' in page.text
    r = client.post(f"/s/{token}", data={"score": "2", "q_resolved": "no", "q_topic": "refund",
                                         "comment": ""}, follow_redirects=False)
    assert r.status_code == 303, r.text
    rows = session.exec(select(ResponseAnswer).order_by(ResponseAnswer.question_id)).all()
    assert [(a.question_id, a.value, a.survey_version) for a in rows] == [
        ("resolved", "no", 1), ("topic", "refund", 1)]
    # A new interaction gets version 2.
    r = api.post("/api/interactions", json=interaction_payload(2, customer={"locale": "fa"}))
    assert client.get(f"/s/{r.json()['results'][0]['invitation']['token']}").text.count("نسخه دو") == 1
    report = api.get("/api/surveys/billing-csat/answers").json()["questions"]
    assert report[0]["id"] == "resolved" and report[0]["answers"] == [
        {"value": "no", "label": "No", "count": 1, "share": 100.0, "mean_score": 2.0},
        {"value": "yes", "label": "Yes", "count": 0, "share": 0.0, "mean_score": None}]
    assert report[1]["answers"][0]["label"] == "A refund"
    # The reports split them by question too, within the report's period and filters.
    split = api.get("/api/reports/answers", params={"survey": "billing-csat"}).json()
    assert split["surveys"] == ["billing-csat"] and split["filters"]["to"] == "2026-03-10"
    topic = split["questions"][1]
    assert (topic["id"], topic["total"]) == ("topic", 1)
    assert [(a["value"], a["count"], a["share"]) for a in topic["answers"]] == [
        ("refund", 1, 100.0), ("invoice", 0, 0.0)]
    other_team = api.get("/api/reports/answers", params={"team": "Sales"}).json()
    assert other_team["survey"] == "billing-csat" and other_team["questions"][0]["total"] == 0
    assert api.get("/api/reports/answers", params={"survey": "nope"}).status_code == 404
    page = client.get("/reports", params={"survey": "billing-csat"}).text
    assert 'id="question-resolved"' in page and 'data-answer="no"' in page
    assert "What was it about?" in page and "n = 1" in page


def test_recovery_followup_wording_is_an_ordinary_editable_survey(api: Any, session: Session,
                                                                  clock: Any) -> None:
    from feedback.configuration.surveys import ensure_builtin

    survey = ensure_builtin(session, "nps-recovery-followup", now=clock.now)
    session.commit()
    body = api.get("/api/surveys/nps-recovery-followup").json()
    assert body["version"] == 1 and body["missing_translations"] == []
    assert body["texts"]["fa"]["why"].startswith("آیا مشکل شما را حل کردیم")
    preview = api.get("/api/surveys/nps-recovery-followup/preview").json()
    assert re.search(r"recommend Acme to a friend", preview["page"]["question"])
    assert ensure_builtin(session, "nps-recovery-followup", now=clock.now).id == survey.id


def test_erasure_drops_short_text_answers_and_keeps_the_choices(api: Any, client: Any,
                                                                 session: Session) -> None:
    extra = [*SURVEY["extra"], {"id": "note", "type": "text", "text": {"en": "Anything else?"}}]
    api.post("/api/surveys", json={**SURVEY, "extra": extra})
    api.post("/api/rules?position=1", json={"when": {"queue": ["billing-l1"]}, "survey": "billing-csat"})
    r = api.post("/api/interactions", json=interaction_payload(1))
    token = r.json()["results"][0]["invitation"]["token"]
    client.post(f"/s/{token}", data={"score": "4", "q_topic": "invoice",
                                     "q_note": "call me on +14155550123"})
    values = {a.question_id: a.value for a in session.exec(select(ResponseAnswer)).all()}
    assert values == {"topic": "invoice", "note": "call me on [phone]"}  # redacted like comments
    cid = session.exec(select(Invitation)).one().customer_id
    assert api.post(f"/api/customers/{cid}/erase", json={"reason": "DSR-1"}).status_code == 200
    session.expire_all()
    assert [a.question_id for a in session.exec(select(ResponseAnswer)).all()] == ["topic"]
