"""The survey editor's pages: create with extra questions in two languages, see what is
missing, save a new version, preview the page, e-mail and SMS per language."""

from __future__ import annotations

from typing import Any

from tests.configuration.test_rules_page import _sign_in

FORM = {
    "key": "billing-csat", "name": "Billing", "kind": "csat",
    "t_en_question": "How did billing do?", "t_fa_question": "صورتحساب چطور بود؟",
    "t_en_sms_question": "Billing, 1-5?",
    "q0_type": "yes_no", "q0_id": "resolved", "q0_text_en": "Was it resolved?",
    "q0_text_fa": "حل شد؟",
    "q1_type": "choice", "q1_id": "topic", "q1_text_en": "What was it about?",
    "q1_text_fa": "درباره چه بود؟",
    "q1_options": "invoice | An invoice | | صورتحساب\nrefund | A refund | | بازپرداخت",
}


def test_admin_creates_edits_and_previews_a_survey(client: Any, engine: Any) -> None:
    token = _sign_in(client, engine)
    r = client.post("/config/surveys", data={**FORM, "_csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/config/surveys/billing-csat?done=1"
    page = client.get("/config/surveys/billing-csat")
    assert "zh-CN: question" in page.text and "zh-CN: extra[1].options[0]" in page.text
    assert 'value="صورتحساب چطور بود؟"' in page.text  # the form holds the current version
    r = client.post("/config/surveys/billing-csat", data={
        **FORM, "t_fa_question": "نسخه دو", "base_version": "1", "_csrf_token": token},
        follow_redirects=False)
    assert r.headers["location"] == "/config/surveys/billing-csat?done=2"
    stale = client.post("/config/surveys/billing-csat", data={
        **FORM, "base_version": "1", "_csrf_token": token})
    assert stale.status_code == 409 and "changed since version 1" in stale.text
    fa = client.get("/config/surveys/billing-csat/preview", params={"locale": "fa"})
    assert fa.status_code == 200 and 'dir="rtl"' in fa.text
    staff_fa = client.get("/config/surveys/billing-csat", headers={"Accept-Language": "fa"}).text
    assert "ذخیرهٔ نسخهٔ تازه" in staff_fa and "ترجمه‌های ناموجود" in staff_fa
    assert "保存新版本" in client.get("/config/surveys/billing-csat",
                                  headers={"Accept-Language": "zh-CN"}).text
    assert "نسخه دو" in fa.text and "درباره چه بود؟" in fa.text and "بازپرداخت" in fa.text
    en = client.get("/config/surveys/billing-csat/preview", params={"locale": "en"})
    assert "Billing, 1-5?" in en.text.split('id="preview-sms"')[1]
    mail = client.get("/config/surveys/billing-csat/preview/email", params={"locale": "fa"})
    assert mail.status_code == 200 and "نسخه دو" in mail.text
    assert client.get("/config/surveys/billing-csat/preview",
                      params={"locale": "de"}).status_code == 422


def test_bad_form_input_is_named_beside_the_form(client: Any, engine: Any) -> None:
    token = _sign_in(client, engine)
    r = client.post("/config/surveys", data={**FORM, "q1_options": "only | one",
                                             "_csrf_token": token})
    assert r.status_code == 422 and "two options" in r.text and 'id="survey-form"' in r.text
    r = client.post("/config/surveys", data={**FORM, "key": "Bad Key", "_csrf_token": token})
    assert r.status_code == 422 and "key" in r.text
