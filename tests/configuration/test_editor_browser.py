"""Done-when of issue 18, in a real browser (Debian chromium, strict CSP): an admin creates a
survey with a yes/no and a choice question in English and Persian, previews it, adds a rule
for one queue; an interaction ingested on that queue gets the survey — page, e-mail and SMS —
and its answers appear split by question."""

from __future__ import annotations

from typing import Any

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from feedback.auth.service import create_user
from feedback.db import transaction
from tests.factories import interaction_payload
from tests.outreach.conftest import make_dispatcher, outbox  # noqa: F401 - fixture
from tests.support.browser import sign_in

PASSWORD = "s3cret-pass"
FA_Q = "از واحد صورتحساب چقدر راضی بودید؟"


def _fill(form: Any, values: dict[str, str]) -> None:
    for name, value in values.items():
        field = form.find_element(By.NAME, name)
        if field.tag_name == "select":
            Select(field).select_by_value(value)
        else:
            field.clear()
            field.send_keys(value)


def test_admin_builds_a_survey_and_a_rule_and_the_queue_gets_it(
        live_server: Any, browser: Any, make_dispatcher: Any) -> None:  # noqa: F811
    with transaction(live_server.engine) as s:
        create_user(s, email="admin@example.com", name="Ada", role="admin", password=PASSWORD)
    sign_in(browser, live_server, "admin@example.com", PASSWORD)
    url = live_server.url

    # 1. The survey, in English and Persian, with a yes/no and a choice question.
    browser.get(f"{url}/config/surveys")
    form = browser.find_element(By.ID, "survey-form")
    _fill(form, {
        "key": "billing-csat", "name": "Billing CSAT", "kind": "csat",
        "t_en_question": "How satisfied were you with billing?", "t_fa_question": FA_Q,
        "t_en_sms_question": "Billing: 1-5?", "t_fa_sms_question": "صورتحساب: ۱ تا ۵؟",
        "q0_type": "yes_no", "q0_id": "resolved", "q0_text_en": "Was your issue resolved?",
        "q0_text_fa": "آیا مشکل شما حل شد؟",
        "q1_type": "choice", "q1_id": "topic", "q1_text_en": "What was it about?",
        "q1_text_fa": "درباره چه بود؟",
        "q1_options": "invoice | An invoice | | صورتحساب\nrefund | A refund | | بازپرداخت"})
    form.find_element(By.ID, "save-survey").click()
    assert "Saved version 1." in browser.find_element(By.ID, "notice").text
    assert "zh-CN: question" in browser.find_element(By.ID, "missing").text

    # 2. The preview, in Persian: right to left, the survey's own words.
    browser.get(f"{url}/config/surveys/billing-csat/preview?locale=fa")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("dir") == "rtl"
    assert FA_Q in browser.find_element(By.TAG_NAME, "h1").text
    assert "بازپرداخت" in browser.find_element(By.ID, "q-topic").text
    assert "صورتحساب: ۱ تا ۵؟" in browser.find_element(By.ID, "preview-sms").text
    assert FA_Q in browser.find_element(By.ID, "preview-email").text

    # 3. A rule for one queue, and the test box agrees.
    browser.get(f"{url}/config/rules")
    form = browser.find_element(By.ID, "add-rule")
    _fill(form, {"name": "Billing queue", "queue": "billing-l1", "survey": "billing-csat",
                 "via": "email"})
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 10).until(lambda d: "done=version+2" in d.current_url)
    assert "Saved" in browser.find_element(By.CSS_SELECTOR, "[role=status]").text
    box = browser.find_element(By.ID, "test-box")
    _fill(box, {"queue": "billing-l1"})
    box.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 10).until(lambda d: "test=1" in d.current_url)
    # The box says why the new rule does not fire yet: the catch-all seed rule comes first.
    result = browser.find_element(By.ID, "probe-result").text
    assert "rule 1 (FEEDBACK_SURVEY_RULES #1) fired" in result
    assert "Billing queue: not reached — an earlier rule fired" in result
    browser.find_element(By.CSS_SELECTOR, "button[aria-label='Move rule 2 up']").click()
    WebDriverWait(browser, 10).until(lambda d: "done=version+3" in d.current_url)
    browser.get(f"{url}/config/rules?test=1&channel=phone&queue=billing-l1")
    assert "rule 1 (Billing queue) fired" in browser.find_element(By.ID, "probe-result").text

    # 4. Interactions on that queue (one by e-mail, one by SMS) get the survey.
    api = httpx.Client(base_url=url, headers={"Authorization": "Bearer test-admin-key"})
    by_mail = interaction_payload(1, customer={"locale": "fa"}, occurred_at="2026-03-10T10:00:00Z")
    by_sms = interaction_payload(2, customer={"locale": "fa"}, occurred_at="2026-03-10T10:00:00Z",
                                 survey_channel="sms")
    elsewhere = interaction_payload(3, queue="sales-l1", occurred_at="2026-03-10T10:00:00Z")
    results = api.post("/api/interactions", json=[by_mail, by_sms, elsewhere]).json()["results"]
    assert [r["invitation"]["channel"] for r in results] == ["email", "sms", "sms"]
    make_dispatcher().run_once()
    sent = {m.marker: m for m in outbox(live_server.engine)}
    mail, sms, other = (sent[r["invitation"]["token"]] for r in results)
    assert FA_Q in (mail.html or "") and FA_Q in mail.body
    assert "صورتحساب: ۱ تا ۵؟" in sms.body and FA_Q not in sms.body  # the SMS-safe wording
    assert "recommend" in other.body  # another queue: the seed rule's NPS survey

    # 5. The customer answers on the page: score, yes/no and choice.
    browser.delete_all_cookies()
    browser.get(f"{url}/s/{results[0]['invitation']['token']}")
    assert FA_Q in browser.find_element(By.TAG_NAME, "h1").text
    browser.find_element(By.CSS_SELECTOR, "label[for='score-2']").click()
    browser.find_element(By.CSS_SELECTOR, "input[name='q_resolved'][value='no']").click()
    browser.find_element(By.CSS_SELECTOR, "input[name='q_topic'][value='refund']").click()
    browser.find_element(By.CSS_SELECTOR, "#survey-form button[type=submit]").click()
    assert browser.find_element(By.ID, "recorded")

    # 6. Its answers, split by question, in the API and on the survey's page.
    report = api.get("/api/surveys/billing-csat/answers").json()["questions"]
    assert [(q["id"], q["answers"][0]["value"]) for q in report] == [("resolved", "no"),
                                                                     ("topic", "refund")]
    sign_in(browser, live_server, "admin@example.com", PASSWORD)
    browser.get(f"{url}/config/surveys/billing-csat")
    table = browser.find_element(By.ID, "answers").text
    assert "A refund" in table and "Was your issue resolved?" in table

    # 7. And on the reports page, for the chosen survey: each answer's count and share, with n.
    browser.get(f"{url}/reports")
    Select(browser.find_element(By.NAME, "survey")).select_by_value("billing-csat")
    browser.find_element(By.NAME, "survey").submit()
    WebDriverWait(browser, 10).until(lambda d: "survey=billing-csat" in d.current_url)
    resolved = browser.find_element(By.ID, "question-resolved")
    assert "Was your issue resolved?" in resolved.text and "n = 1" in resolved.text
    no = resolved.find_element(By.CSS_SELECTOR, "tr[data-answer='no']").text
    assert no.startswith("No") and "100" in no
    topic = browser.find_element(By.ID, "question-topic")
    assert "A refund" in topic.find_element(By.CSS_SELECTOR, "tr[data-answer='refund']").text
    assert "0" in topic.find_element(By.CSS_SELECTOR, "tr[data-answer='invoice']").text
