"""Distribution rules edited in the product: stored, versioned, explained, applied by ingest,
and seen by other processes without a restart."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from feedback.auth.models import AuditEvent
from feedback.configuration import service
from feedback.configuration.schemas import RuleIn, RuleSetIn
from feedback.settings import Settings, SurveyRule
from surveys.models import Invitation
from tests.factories import interaction_payload

BILLING_CSAT = {"name": "Billing CSAT", "when": {"queue": ["billing-l1"]}, "survey": "csat",
                "via": "email", "delay_minutes": 5, "expiry_days": 2, "reminder": False}


def test_env_rules_seed_version_1_once(api: Any) -> None:
    r = api.get("/api/rules")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["version"] == 1 and body["source"] == "database"
    assert body["changed_by"] == service.SEED_ACTOR
    assert body["rules"][0]["survey"] == "nps" and body["rules"][0]["when"]["queue"] == []


def test_a_rule_for_one_queue_decides_survey_channel_delay_expiry_reminder(
        api: Any, session: Session) -> None:
    r = api.post("/api/rules?position=1", json=BILLING_CSAT)
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 2 and r.json()["rules"][0]["name"] == "Billing CSAT"
    r = api.post("/api/interactions", json=[interaction_payload(1),
                                            interaction_payload(2, queue="sales-l1")])
    assert r.status_code == 201, r.text
    billing, sales = r.json()["results"]
    assert billing["invitation"]["channel"] == "email"
    assert billing["invitation"]["send_at"].startswith("2026-03-10T12:00")  # 11:00 + 5 min < now
    assert billing["invitation"]["expires_at"].startswith("2026-03-12T12:00")
    assert sales["invitation"]["channel"] == "sms"  # the seed rule: NPS, best channel
    invs = {i.interaction_id: i for i in session.exec(select(Invitation)).all()}
    kinds = dict(session.execute(sa.text(
        "SELECT i.interaction_id, s.kind FROM invitation i JOIN survey_definition s "
        "ON s.id = i.survey_id")).all())
    assert sorted(kinds.values()) == ["csat", "nps"]
    assert sorted(i.reminder for i in invs.values()) == [False, True]


def test_test_box_names_the_rule_and_why_others_were_skipped(api: Any) -> None:
    api.put("/api/rules", json={"rules": [
        {"name": "VIP", "when": {"customer_tier": ["gold"], "metadata": {"lang": "fa"}},
         "survey": "ces"},
        {"name": "off", "enabled": False, "survey": "csat"},
        BILLING_CSAT]})
    r = api.post("/api/rules/test", json={"queue": "Billing-L1", "customer_tier": "gold"})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["rule_name"] == "Billing CSAT" and d["survey"] == "csat" and d["via"] == "email"
    assert "rule 3 (Billing CSAT) fired" in d["why"] and "queue is 'billing-l1'" in d["why"]
    assert [t["result"] for t in d["trace"]] == ["skipped", "skipped", "fired"]
    assert d["trace"][0]["why"] == "metadata 'lang' is missing, the rule wants 'fa'"
    assert d["trace"][1]["why"] == "the rule is turned off"
    r = api.post("/api/rules/test", json={"queue": "x", "channel": "chat"})
    assert r.json()["rule_id"] is None and r.json()["why"].startswith("no rule matched")


def test_sampling_is_stable_per_interaction_and_near_the_rate(
        api: Any, settings: Settings, session: Session) -> None:
    api.put("/api/rules", json={"rules": [{"survey": "nps", "sample_percent": 20}]})
    picked = sum(service.in_sample(f"T-{n}", 1, 20) for n in range(5000))
    assert 850 < picked < 1150
    assert all(service.in_sample("T-7", 1, 20) == service.in_sample("T-7", 1, 20) for _ in range(3))
    results = api.post("/api/interactions", json=[interaction_payload(n) for n in range(1, 41)]
                       ).json()["results"]
    skipped = [r for r in results if r["invitation"] is None]
    assert skipped and len(skipped) < 40
    assert "not in the rule's sample" in skipped[0]["note"]
    # A retried webhook gets the same answer.
    again = api.post("/api/interactions", json=[interaction_payload(n) for n in range(1, 41)]
                     ).json()["results"]
    assert [r["invitation"] is None for r in again] == [r["invitation"] is None for r in results]


def test_versions_keep_history_with_who_and_what_and_stale_edits_are_refused(
        api: Any, session: Session) -> None:
    v = api.get("/api/rules").json()["version"]
    r = api.put("/api/rules", json={"rules": [BILLING_CSAT], "base_version": v, "note": "Q2"})
    assert r.status_code == 200, r.text
    rule_id = r.json()["rules"][0]["id"]
    stale = api.put("/api/rules", json={"rules": [], "base_version": v})
    assert stale.status_code == 409 and stale.json()["field"] == "base_version"
    r = api.put(f"/api/rules/{rule_id}", json={**BILLING_CSAT, "sample_percent": 50})
    assert r.status_code == 200 and r.json()["rules"][0]["id"] == rule_id
    assert api.delete(f"/api/rules/{rule_id}").json()["rules"] == []
    hist = api.get("/api/rules/history").json()["versions"]
    assert [h["version"] for h in hist] == [v + 3, v + 2, v + 1, v]
    assert hist[0]["summary"].startswith(f"removed rule {rule_id}")
    assert hist[1]["summary"] == f"changed rule {rule_id} (sample_percent)"
    assert "— Q2" in hist[2]["summary"] and hist[2]["changed_by"] == "API key bootstrap admin key"
    assert api.get(f"/api/rules/history/{v + 1}").json()["rules"][0]["name"] == "Billing CSAT"
    assert api.get("/api/rules/history/999").status_code == 404
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "config.rules")).all()


def test_bad_rules_are_refused_naming_the_field(api: Any) -> None:
    r = api.put("/api/rules", json={"rules": [BILLING_CSAT, {**BILLING_CSAT, "survey": "nope"}]})
    assert r.status_code == 422 and r.json()["field"] == "rules[1].survey"
    r = api.put("/api/rules", json={"rules": [{"sample_percent": 120}]})
    assert r.status_code == 400 and "sample_percent" in r.text
    r = api.put("/api/rules", json={"rules": [{"when": {"channel": ["fax"]}}]})
    assert r.status_code == 400 and "fax" in r.text
    assert api.put("/api/rules/12345", json=BILLING_CSAT).status_code == 404


def test_leads_read_admins_write(client: Any, session: Session, clock: Any) -> None:
    from feedback.auth.service import create_api_key

    _, lead_key = create_api_key(session, "lead", role="lead")
    session.commit()
    client.headers["Authorization"] = f"Bearer {lead_key}"
    assert client.get("/api/rules").status_code == 200
    assert client.post("/api/rules/test", json={}).status_code == 200
    assert client.put("/api/rules", json={"rules": []}).status_code == 403


def test_another_process_sees_a_change_without_restart(engine: Any, settings: Settings) -> None:
    """Two sessions stand for two processes: the cache follows the counter row."""
    from feedback.db import transaction

    with transaction(engine) as s:
        first = service.rule_set(s, settings)
    with transaction(engine) as s:
        service.save_rules(s, RuleSetIn(rules=[RuleIn(survey="csat")]), by="t",
                           now=_now(), settings=settings)
    with transaction(engine) as s:
        again = service.rule_set(s, settings)
    assert first.version == 0 and again.version == 1 and again.rules[0].survey == "csat"


def test_environment_rules_in_the_old_shape_still_apply(engine: Any) -> None:
    from feedback.db import transaction

    settings = Settings(database_url="sqlite://", survey_rules=[
        SurveyRule(when={"channel": "chat", "segment": "b2b"}, survey="ces", via="email")])
    rules = service.env_rules(settings)
    assert rules[0].when.channel == ["chat"] and rules[0].when.metadata == {"segment": "b2b"}
    with transaction(engine) as s:
        d = service.resolve_rules(s, [_probe(channel="chat", metadata={"segment": "B2B"})],
                                  settings=settings)[0]
    assert d.survey == "ces" and d.via == "email"


def _probe(**kw: Any) -> Any:
    from feedback.configuration.schemas import RuleProbe

    return RuleProbe(**kw)


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
