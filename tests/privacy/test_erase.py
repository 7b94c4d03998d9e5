"""Done-when of issue 15: one customer seeded through every path, exported, erased — then no
table and no export holds their name, phone, e-mail or comment; KPIs are unchanged; and a new
interaction for their phone or e-mail schedules nothing."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from feedback.db import transaction
from feedback.inbound.sms import InboundMessage, handle_inbound_sms
from feedback.insights.models import ResponseTheme, Theme, ThemeReview
from feedback.recovery.models import RecoveryTask
from feedback.responses import record_response
from feedback.tables import metadata
from surveys.models import Customer, Invitation, Response
from tests.factories import interaction_payload, make_invitation
from tests.support.followups import run_followups

NAME, PHONE, EMAIL, EXT = "Zofia Quellenberg", "+14155550123", "zofia.q@example.org", "CUST-ZQ-77"
SMS_COMMENT = "the agent hung up on me twice"
WEB_COMMENT = f"Terrible wait. Call {PHONE} or mail {EMAIL}, ask for {NAME}"
NEEDLES = [NAME, "Quellenberg", "Zofia", PHONE, "4155550123", "555-0123", EMAIL, "zofia.q",
           EXT, SMS_COMMENT, "Terrible wait"]
CUSTOMER = {"external_id": EXT, "name": NAME, "email": EMAIL, "phone": PHONE, "locale": "en"}


def _sms(engine: Any, settings: Any, now: Any, sid: str, body: str) -> None:
    with transaction(engine) as s:
        handle_inbound_sms(s, InboundMessage(sid, PHONE, body, "+15005550006"), now=now,
                           settings=settings)


def scan(engine: Any) -> list[str]:
    """Every text and JSON value of every table in the metadata that contains a needle."""
    hits = []
    with engine.connect() as conn:
        for table in metadata().sorted_tables:  # type: ignore[attr-defined]
            cols = [c for c in table.columns
                    if isinstance(c.type, sa.String | sa.Text | sa.JSON)]
            if not cols:
                continue
            for row in conn.execute(sa.select(*cols)):
                for col, value in zip(cols, row, strict=True):
                    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
                    hits += [f"{table.name}.{col.name}: {n}" for n in NEEDLES
                             if value is not None and n.lower() in text.lower()]
    return hits


def seed(session: Session, engine: Any, settings: Any, clock: Any, api: Any,
         make_dispatcher: Any) -> dict[str, Any]:
    # 1. An SMS survey, sent (dev outbox), answered by SMS with a comment, then a detractor task.
    sms_inv = make_invitation(session, settings, clock.now, n=1, customer=CUSTOMER,
                              survey_channel="sms", metadata={"crm_note": f"{NAME} VIP"})
    assert make_dispatcher().run_once()["sent"] == 1
    _sms(engine, settings, clock.now, "SM" + "1" * 32, f"3 {SMS_COMMENT}")
    # 2. An e-mail survey, sent, answered on the web page with personal data in the comment.
    email_inv = make_invitation(session, settings, clock.now, n=2, customer=CUSTOMER,
                                survey_channel="email", survey="csat")
    assert make_dispatcher().run_once()["sent"] == 1
    with transaction(engine) as s:
        inv = s.get(Invitation, email_inv.id)
        response = record_response(s, inv, score=1, comment=WEB_COMMENT, source="web",
                                   now=clock.now, settings=settings)
        assert PHONE not in (response.comment or "") and EMAIL not in (response.comment or "")
        web_response_id = response.id
    run_followups(engine, settings, clock)  # the answers' themes, events and recovery task
    # 3. The recovery task: a note, and an SMS to the customer through the outbox.
    task = session.exec(select(RecoveryTask)).one()
    r = api.post(f"/api/recovery/tasks/{task.id}/contact-attempts",
                 json={"channel": "sms", "result": "reached", "note": f"{NAME} wants a refund",
                       "message": f"Hi {NAME}, we are sorry. Reply to {EMAIL}"})
    assert r.status_code == 201, r.text
    # 4. Theme training: a label, a review, a seed example copied from the comment.
    with transaction(engine) as s:
        stored = s.get(Response, web_response_id)
        theme = Theme(name="waiting", examples=[stored.comment or ""], created_at=clock.now,
                      updated_at=clock.now)
        s.add(theme)
        s.flush()
        s.add(ResponseTheme(response_id=web_response_id, theme_id=theme.id, source="review",
                            created_at=clock.now))
        s.add(ThemeReview(response_id=web_response_id, reviewer="lead@example.com",
                          reviewed_at=clock.now))
    # 5. They opt out by SMS.
    _sms(engine, settings, clock.now, "SM" + "2" * 32, "STOP")
    customer = session.exec(select(Customer).where(Customer.external_id == EXT)).one()
    return {"customer_id": customer.id, "sms_inv": sms_inv, "task_id": task.id}


def test_erase_leaves_no_trace_and_no_kpi_change(session, engine, settings, clock, api,  # type: ignore[no-untyped-def]
                                                 make_dispatcher, tmp_path):
    seeded = seed(session, engine, settings, clock, api, make_dispatcher)
    cid = seeded["customer_id"]
    assert scan(engine), "the seed must have stored the customer's data somewhere"

    exported = api.get(f"/api/customers/{cid}/export")
    assert exported.status_code == 200
    doc = exported.json()
    assert doc["customer"]["name"] == NAME and len(doc["responses"]) == 2
    assert doc["inbound_sms"] and doc["messages"] and doc["opt_outs"] and doc["theme_labels"]
    assert doc["recovery_tasks"][0]["timeline"] and doc["contact_log"]
    (tmp_path / "export-before.json").write_text(exported.text)
    kpis_before = api.get("/api/kpis").json()

    r = api.post(f"/api/customers/{cid}/erase", json={"reason": "DSR-2026-001"})
    assert r.status_code == 200, r.text
    assert r.json()["already_erased"] is False

    assert scan(engine) == []
    after = api.get(f"/api/customers/{cid}/export").text
    assert not [n for n in NEEDLES if n.lower() in after.lower()]
    assert json.loads(after)["erasure"]["reason"] == "DSR-2026-001"
    assert api.get("/api/kpis").json() == kpis_before
    with Session(engine) as s:
        scores = sorted(r.score for r in s.exec(select(Response)).all())
    assert scores == [1, 3]

    # Idempotent: a second call changes nothing and says so.
    again = api.post(f"/api/customers/{cid}/erase", json={"reason": "DSR-2026-001 retry"})
    assert again.status_code == 200 and again.json()["already_erased"] is True
    assert scan(engine) == []

    # Never surveyed again: by phone, by e-mail, by both.
    for n, cust in ((10, {"phone": PHONE, "email": None}), (11, {"email": EMAIL, "phone": None}),
                    (12, {"phone": PHONE, "email": EMAIL})):
        body = interaction_payload(n, customer={"external_id": None, "name": None, **cust})
        body["occurred_at"] = clock.now.isoformat()
        r = api.post("/api/interactions", json=body)
        assert r.status_code in (200, 201), r.text
        result = r.json()["results"][0]
        assert result["invitation"] is None and "erased" in result["note"], result
    assert make_dispatcher().run_once()["sent"] == 0


def test_erase_needs_admin_and_a_reason(session, engine, settings, clock, api, key_for):  # type: ignore[no-untyped-def]
    inv = make_invitation(session, settings, clock.now, customer=CUSTOMER)
    cid = inv.customer_id
    lead = key_for("lead")
    assert api.post(f"/api/customers/{cid}/erase", json={"reason": "x"},
                    headers=lead).status_code == 403
    r = api.post(f"/api/customers/{cid}/erase", json={"reason": "  "})
    assert r.status_code == 422 and "reason" in r.text
    assert api.post(f"/api/customers/{cid}/erase", json={}).status_code == 422
    assert api.post("/api/customers/999999/erase", json={"reason": "x"}).status_code == 404
    # Nothing was erased by the refused calls; the open invitation is cancelled by the real one.
    assert session.get(Customer, cid).name == NAME  # type: ignore[union-attr]
    assert api.post(f"/api/customers/{cid}/erase", json={"reason": "ticket 7"}).status_code == 200
    session.expire_all()
    assert session.get(Invitation, inv.id).status == "suppressed"  # type: ignore[union-attr]


def test_erase_waits_for_a_message_being_sent(session, engine, settings, clock, api):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    inv = make_invitation(session, settings, clock.now, customer=CUSTOMER)
    inv.status, inv.lease_until = "sending", clock.now + timedelta(minutes=2)
    session.add(inv)
    session.commit()
    r = api.post(f"/api/customers/{inv.customer_id}/erase", json={"reason": "DSR"})
    assert r.status_code == 409 and "retry" in r.text
    clock.advance(minutes=3)  # the lease ran out: the worker died; nothing is in flight
    assert api.post(f"/api/customers/{inv.customer_id}/erase", json={"reason": "DSR"}).status_code == 200


def test_dispatch_rechecks_the_suppression_at_send_time(session, engine, settings, clock, api,  # type: ignore[no-untyped-def]
                                                        make_dispatcher):
    # Another customer record with the erased customer's phone (a second CRM id, say) already
    # had a survey scheduled: dispatch reads the hashed suppression when it is due.
    erased = make_invitation(session, settings, clock.now, n=1, customer=CUSTOMER)
    other = make_invitation(session, settings, clock.now, n=2, customer={
        "external_id": "OTHER-1", "name": "Someone", "phone": PHONE, "email": None})
    assert other.customer_id != erased.customer_id
    r = api.post(f"/api/customers/{erased.customer_id}/erase", json={"reason": "DSR"})
    assert r.status_code == 200, r.text
    assert make_dispatcher().run_once()["sent"] == 0
    session.expire_all()
    assert session.get(Invitation, other.id).status == "suppressed"  # type: ignore[union-attr]
