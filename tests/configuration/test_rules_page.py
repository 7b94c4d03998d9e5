"""The /config/rules page: an admin adds, edits, moves and removes rules with forms; the test
box explains which rule fires; a bad field is named beside the form, not a 500."""

from __future__ import annotations

from typing import Any

from feedback.auth.service import create_user
from feedback.db import transaction

PASSWORD = "s3cret-pass"


def _sign_in(client: Any, engine: Any, role: str = "admin") -> str:
    with transaction(engine) as s:
        create_user(s, email=f"{role}@example.com", name=role.title(), role=role, password=PASSWORD)
    client.get("/login")
    token = client.cookies["csrftoken"]
    r = client.post("/login", data={"email": f"{role}@example.com", "password": PASSWORD,
                                    "_csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    return str(client.cookies["csrftoken"])


def _form(**over: str) -> dict[str, str]:
    base = {"name": "Billing", "queue": "billing-l1", "survey": "csat", "via": "email",
            "delay_minutes": "10", "expiry_days": "", "sample_percent": "100", "enabled": "on",
            "reminder": "on", "metadata": ""}
    base.update(over)
    return base


def test_admin_edits_rules_in_the_page(client: Any, engine: Any) -> None:
    token = _sign_in(client, engine)
    page = client.get("/config/rules")
    assert page.status_code == 200 and "FEEDBACK_SURVEY_RULES #1" in page.text
    r = client.post("/config/rules", data={**_form(), "_csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303, r.text
    rules = client.get("/api/rules").json()["rules"]
    assert [x["name"] for x in rules] == ["FEEDBACK_SURVEY_RULES #1", "Billing"]
    new_id = rules[1]["id"]
    client.post(f"/config/rules/{new_id}/move", data={"direction": "up", "_csrf_token": token})
    assert client.get("/api/rules").json()["rules"][0]["name"] == "Billing"
    client.post(f"/config/rules/{new_id}", data={**_form(name="Billing 2", reminder=""),
                                                 "_csrf_token": token})
    first = client.get("/api/rules").json()["rules"][0]
    assert first["name"] == "Billing 2" and first["reminder"] is False
    box = client.get("/config/rules", params={"test": "1", "channel": "phone",
                                              "queue": "billing-l1"})
    assert "rule 1 (Billing 2) fired" in box.text and "Survey <strong>csat</strong>" in box.text
    bad = client.post("/config/rules", data={**_form(sample_percent="150"), "_csrf_token": token})
    assert bad.status_code == 422 and "sample_percent" in bad.text
    bad = client.post("/config/rules", data={**_form(metadata="oops"), "_csrf_token": token})
    assert bad.status_code == 422 and "line 1: write key=value" in bad.text
    client.post(f"/config/rules/{new_id}/delete", data={"_csrf_token": token})
    assert [x["name"] for x in client.get("/api/rules").json()["rules"]] == ["FEEDBACK_SURVEY_RULES #1"]
    history = client.get("/config/rules").text
    assert "Admin" in history and "removed rule" in history


def test_a_lead_sees_the_rules_and_the_test_box_but_no_forms(client: Any, engine: Any) -> None:
    _sign_in(client, engine, role="lead")
    page = client.get("/config/rules", params={"test": "1", "queue": "x"})
    assert page.status_code == 200 and "Add a rule" not in page.text and "fired" in page.text
    fa = client.get("/config/rules", headers={"Accept-Language": "fa"}).text
    assert 'dir="rtl"' in fa and "قواعد ارسال" in fa and "آزمودن این تعامل" in fa
    assert "测试此互动" in client.get("/config/rules", headers={"Accept-Language": "zh"}).text
