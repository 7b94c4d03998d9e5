"""Policies edited in the product: validated with the field named, versioned and audited, and
read by the product — SLA due times per team, holidays, quiet hours in the worker, thresholds,
root causes — without a restart."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from feedback.auth.models import AuditEvent
from feedback.configuration import policies
from feedback.recovery.models import RecoveryTask
from feedback.responses import record_response
from feedback.settings import Settings
from feedback.worker import JobContext
from outreach.tasks import dispatch_due
from surveys.models import Invitation
from tests.configuration.test_rules_page import _sign_in
from tests.factories import make_invitation
from tests.support.followups import run_followups


def _doc(api: Any) -> dict[str, Any]:
    r = api.get("/api/policies")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_settings_are_the_seed_until_a_first_version_is_saved(api: Any) -> None:
    body = _doc(api)
    assert body["version"] == 0 and body["source"] == "settings"
    p = body["policies"]
    assert p["quiet_hours"] == {"start": "21:00:00", "end": "08:00:00", "channels": ["sms"]}
    assert p["sla"][0] == {"team": "", "priority": "", "first_contact_hours": 24.0,
                           "resolution_hours": 48.0}
    assert "billing error" in p["root_causes"] and p["branding"]["company_name"] == "Acme"


def test_bad_fields_are_refused_naming_the_field(api: Any) -> None:
    p = _doc(api)["policies"]
    cases = [
        ({"branding": {**p["branding"], "colour": "blue"}}, "branding.colour", "hex colour"),
        ({"business_hours": [{"team": "Billing", "time_zone": "Mars/Base",
                              "hours": {"mon-fri": "09:00-17:00"}}]},
         "business_hours.0.time_zone", "IANA"),
        ({"business_hours": [{"time_zone": "UTC", "hours": {"mon-fry": "09:00-17:00"}}]},
         "business_hours.0.hours", "unknown day"),
        ({"sla": [{"first_contact_hours": 10, "resolution_hours": 5}]}, "sla.0",
         "resolution_hours"),
        ({"sla": [{"team": "Billing", "first_contact_hours": 1, "resolution_hours": 5}]}, "sla",
         "default target"),
        ({"holidays": {"country": "XX"}}, "holidays", "country"),
        ({"holidays": {"country": "DE", "subdivision": "ZZ"}}, "holidays", "subdivision"),
        ({"thresholds": {**p["thresholds"], "nps_detractor_max": 9}}, "thresholds",
         "nps_detractor_max"),
        ({"fatigue_days": -1}, "fatigue_days", ""),
        ({"root_causes": []}, "root_causes", ""),
    ]
    for change, field, words in cases:
        r = api.put("/api/policies", json={**p, **change})
        assert 400 <= r.status_code < 500, (change, r.text)
        assert field in r.text and words in r.text, (change, r.text)
    assert _doc(api)["version"] == 0  # nothing was saved


def test_saves_are_versions_with_who_and_when_and_stale_edits_are_refused(
        api: Any, session: Session) -> None:
    p = _doc(api)["policies"]
    r = api.put("/api/policies", json={**p, "fatigue_days": 14, "base_version": 0, "note": "Q2"})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1 and r.json()["changed_by"].startswith("API key")
    r = api.post("/api/policies", json={"root_causes": ["price", "outage"]})
    assert r.status_code == 200 and r.json()["version"] == 2, r.text
    assert r.json()["policies"]["fatigue_days"] == 14  # other sections kept
    stale = api.put("/api/policies", json={**p, "base_version": 1})
    assert stale.status_code == 409 and "version 2" in stale.text
    history = api.get("/api/policies/history").json()["versions"]
    assert [h["summary"] for h in history] == ["changed root causes",
                                               "changed fatigue days — Q2"]
    assert api.get("/api/policies/history/1").json()["policies"]["fatigue_days"] == 14
    assert api.get("/api/policies/history/9").status_code == 404
    audit = session.exec(select(AuditEvent).where(AuditEvent.action == "config.policies")).all()
    assert len(audit) == 2


def _detractor(engine: Any, session: Session, settings: Settings, now: datetime, n: int,
               team: str) -> RecoveryTask:
    inv = make_invitation(session, settings, now, n=n, team=team,
                          customer={"phone": f"+1415555{n:04d}"})
    response = record_response(session, inv, score=2, comment=None, source="web", now=now,
                               settings=settings)
    session.commit()
    run_followups(engine, settings, lambda: now)  # the task opens after commit
    task = session.exec(select(RecoveryTask).where(
        RecoveryTask.response_id == response.id)).one()
    return task


def test_an_sla_target_for_one_team_changes_a_new_tasks_due_time(
        api: Any, session: Session, settings: Settings, clock: Any, engine: Any) -> None:
    p = _doc(api)["policies"]
    p["sla"].append({"team": "billing", "priority": "", "first_contact_hours": 2,
                     "resolution_hours": 8})
    assert api.put("/api/policies", json=p).status_code == 200
    billing = _detractor(engine, session, settings, clock.now, 1, "Billing")  # team matched whatever case
    sales = _detractor(engine, session, settings, clock.now, 2, "Sales")
    assert billing.first_contact_due_at == datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
    assert billing.resolution_due_at == datetime(2026, 3, 10, 20, 0, tzinfo=UTC)
    assert sales.first_contact_due_at == datetime(2026, 3, 11, 12, 0, tzinfo=UTC)  # default 24 h


def test_a_countrys_holidays_stop_the_clock_of_a_teams_business_hours(
        api: Any, session: Session, settings: Settings, clock: Any, engine: Any) -> None:
    p = _doc(api)["policies"]
    p["sla"] = [{"first_contact_hours": 2, "resolution_hours": 10}]
    p["business_hours"] = [{"team": "Billing", "time_zone": "Europe/Berlin",
                            "hours": {"mon-fri": "09:00-17:00"}}]
    p["holidays"] = {"country": "DE", "custom": ["2026-04-07"]}
    assert api.put("/api/policies", json=p).status_code == 200, api.put("/api/policies", json=p).text
    # Thursday 2 April 2026, 16:00 in Berlin: 1 h that day, then Good Friday, the weekend,
    # Easter Monday (the library's) and Tuesday 7 April (our own date) are closed.
    clock.now = datetime(2026, 4, 2, 14, 0, tzinfo=UTC)
    billing = _detractor(engine, session, settings, clock.now, 1, "Billing")
    assert billing.first_contact_due_at == datetime(2026, 4, 8, 8, 0, tzinfo=UTC)  # Wed 10:00
    sales = _detractor(engine, session, settings, clock.now, 2, "Sales")  # no calendar: 24/7
    assert sales.first_contact_due_at == datetime(2026, 4, 2, 16, 0, tzinfo=UTC)


def test_quiet_hours_saved_in_the_product_move_a_send_in_the_running_worker(
        api: Any, session: Session, settings: Settings, clock: Any, engine: Any) -> None:
    clock.now = datetime(2026, 3, 10, 20, 0, tzinfo=UTC)  # 16:00 in New York
    ctx = JobContext(engine=engine, settings=settings, clock=clock)
    first = make_invitation(session, settings, clock.now, n=1, customer={"phone": "+14155550101"})
    assert dispatch_due(ctx)["sent"] == 1
    p = _doc(api)["policies"]
    p["quiet_hours"] = {"start": "15:00", "end": "09:00", "channels": ["sms", "email"]}
    assert api.put("/api/policies", json=p).status_code == 200
    second = make_invitation(session, settings, clock.now, n=2, customer={"phone": "+14155550102"})
    assert dispatch_due(ctx)["deferred"] == 1  # the same worker, no restart
    with Session(engine) as s:
        waiting = s.get(Invitation, second.id)
        assert waiting is not None and waiting.status_reason == "quiet_hours"
        assert waiting.send_at == datetime(2026, 3, 11, 13, 0, tzinfo=UTC)  # 09:00 EDT
        assert s.get(Invitation, first.id).status == "sent"  # type: ignore[union-attr]


def test_thresholds_and_root_causes_come_from_the_policy(
        api: Any, session: Session, settings: Settings, clock: Any) -> None:
    p = _doc(api)["policies"]
    p["thresholds"]["nps_detractor_max"] = 3
    p["root_causes"] = ["Courier lost it"]
    assert api.put("/api/policies", json=p).status_code == 200
    inv = make_invitation(session, settings, clock.now, n=1)
    response = record_response(session, inv, score=5, comment=None, source="web", now=clock.now,
                               settings=settings)
    session.commit()
    assert response.classification == "passive"  # 5 > 3: no longer a detractor
    assert policies.effective(session, settings).recovery_root_causes == ["Courier lost it"]


def test_the_page_saves_labelled_fields_and_names_a_bad_one(client: Any, engine: Any) -> None:
    token = _sign_in(client, engine)
    page = client.get("/config/policies")
    assert page.status_code == 200 and 'href="/config/policies"' in page.text
    assert "Quiet from" in page.text and "Colour (hex" in page.text
    form = {"_csrf_token": token, "base_version": "0", "quiet_start": "20:00",
            "quiet_end": "08:30", "quiet_sms": "on", "fatigue_days": "10",
            "sla-0-team": "", "sla-0-priority": "", "sla-0-first_contact_hours": "12",
            "sla-0-resolution_hours": "36", "sla-1-team": "Billing", "sla-1-priority": "urgent",
            "sla-1-first_contact_hours": "1", "sla-1-resolution_hours": "4",
            "sla-2-team": "", "sla-2-first_contact_hours": "", "sla-2-resolution_hours": "",
            "hours-0-team": "", "hours-0-time_zone": "Asia/Shanghai",
            "hours-0-hours": "mon-fri = 09:00-18:00\nsat = closed", "hours-1-hours": "",
            "holiday_country": "CN", "holiday_subdivision": "", "holiday_custom": "2026-12-24",
            "root_causes": "wait time\nprice", "nps_promoter_min": "9", "nps_detractor_max": "6",
            "csat_satisfied_min": "4", "csat_dissatisfied_max": "2", "ces_easy_min": "5",
            "ces_difficult_max": "3", "brand_company_name": "Globex",
            "brand_logo_url": "https://cdn.example.com/logo.png", "brand_colour": "#12AB34",
            "brand_sender_name": "Globex Care", "note": "first"}
    bad = client.post("/config/policies", data={**form, "brand_colour": "#12AB3"})
    assert bad.status_code == 422 and "branding.colour" in bad.text
    assert 'value="Globex Care"' in bad.text  # what was typed is kept
    r = client.post("/config/policies", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    saved = client.get("/api/policies").json()
    assert saved["version"] == 1 and saved["policies"]["branding"]["colour"] == "#12ab34"
    assert saved["policies"]["sla"][1] == {"team": "Billing", "priority": "urgent",
                                           "first_contact_hours": 1.0, "resolution_hours": 4.0}
    assert saved["policies"]["business_hours"][0]["hours"] == {"mon-fri": "09:00-18:00",
                                                               "sat": "closed"}
    assert "Version 1, saved by" in client.get("/config/policies").text
    fa = client.get("/config/policies", headers={"Accept-Language": "fa"}).text
    assert 'dir="rtl"' in fa and "ساعات سکوت و خستگی" in fa and "ذخیرهٔ سیاست‌ها" in fa
    zh = client.get("/config/policies", headers={"Accept-Language": "zh-CN"}).text
    assert "免打扰时段与疲劳控制" in zh and "保存策略" in zh


def test_leads_read_policies_and_admins_change_them(client: Any, engine: Any) -> None:
    _sign_in(client, engine, role="lead")
    assert client.get("/api/policies").status_code == 200
    page = client.get("/config/policies")
    assert page.status_code == 200 and "Save policies" not in page.text
    assert client.put("/api/policies", json={}).status_code == 403
    assert client.post("/api/policies", json={"fatigue_days": 3}).status_code == 403


def test_branding_reaches_the_survey_page_and_the_email(
        api: Any, client: Any, session: Session, settings: Settings, clock: Any) -> None:
    from feedback import i18n
    from outreach.channels.smtp_email import SmtpEmailChannel
    from outreach.messages import Invite, compose

    p = _doc(api)["policies"]
    p["branding"] = {"company_name": "Globex", "logo_url": "https://cdn.example.com/logo.png",
                     "colour": "#AA3300", "sender_name": "Globex Care"}
    assert api.put("/api/policies", json=p).status_code == 200
    bad = api.post("/api/policies", json={"branding": {**p["branding"],
                                                       "logo_url": "https://x.example;script-src *"}})
    assert bad.status_code == 400 and "branding.logo_url" in bad.text
    inv = make_invitation(session, settings, clock.now)
    page = client.get(f"/s/{inv.token}")
    assert 'src="https://cdn.example.com/logo.png"' in page.text and "Globex" in page.text
    assert "img-src 'self' data: https://cdn.example.com;" in page.headers["content-security-policy"]
    assert 'href="/brand.css"' in page.text
    assert "--accent: #aa3300" in client.get("/brand.css").text
    site = policies.site(session, settings)
    mail = compose(i18n, site, Invite(  # type: ignore[arg-type]
        invitation_id=1, token="tok", channel="email", to="a@example.com", locale="en",
        kind="nps", low=0, high=10, customer_id=1, customer_name="Ana",
        interaction_channel="phone"))
    assert 'src="https://cdn.example.com/logo.png"' in (mail.html or "")
    assert "#aa3300" in (mail.html or "") and "Globex" in (mail.subject or "")
    smtp = SmtpEmailChannel("smtp.example.com", from_addr="Feedback <feedback@example.com>")
    assert smtp.build(mail)["From"] == "Globex Care <feedback@example.com>"


def test_the_unsubscribe_page_carries_the_policys_company_name(
        api: Any, client: Any, session: Session, settings: Settings, clock: Any) -> None:
    from outreach import unsubscribe

    p = _doc(api)["policies"]
    p["branding"]["company_name"] = "Globex"
    assert api.put("/api/policies", json=p).status_code == 200
    inv = make_invitation(session, settings, clock.now)
    token = unsubscribe.sign(settings.secret_key, "sms", "+14155550100", inv.customer_id)
    page = client.get(f"/u/{token}")
    assert page.status_code == 200 and "Globex" in page.text and "Acme" not in page.text


def test_staff_pages_carry_the_company_name_the_policy_gives(
        api: Any, client: Any, engine: Any) -> None:
    p = _doc(api)["policies"]
    p["branding"] = {**p["branding"], "company_name": "Globex"}
    assert api.put("/api/policies", json=p).status_code == 200
    _sign_in(client, engine)
    for path in ("/config/policies", "/queue", "/reports"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "· Globex</title>" in page.text and "Acme" not in page.text.split("</head>")[0], path
    login = client.get("/login")
    assert "Globex" in login.text
