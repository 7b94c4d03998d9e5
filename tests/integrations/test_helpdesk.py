"""Helpdesk events in: each vendor's sample payload (written from its public documentation)
becomes the expected interaction through the real HTTP route; bad signatures are refused;
a replayed webhook is idempotent; the generic mapping previews before it is saved."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from surveys.models import Interaction, Invitation

SAMPLES = Path(__file__).parent / "samples"
SECRET = "dGhpcyBpcyBhIHRlc3Qgc2VjcmV0"
GENERIC_MAPPING = {"external_id": "ticket.number", "occurred_at": "ticket.closed",
                   "channel": "ticket.medium", "agent": "ticket.owner.name", "team": "ticket.desk",
                   "customer.external_id": "ticket.customer.ref",
                   "customer.email": "ticket.customer.mail", "customer.name": "ticket.customer.full_name"}


def _sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def _connector(api: Any, kind: str, **extra: Any) -> dict[str, Any]:
    r = api.post("/api/integrations/helpdesk", json={"kind": kind, "name": kind, "secret": SECRET, **extra})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def _signed(kind: str, body: bytes, secret: str = SECRET,
            ts: str = "2026-03-10T11:57:01Z") -> dict[str, str]:  # 3 min before the clock
    if kind == "zendesk":
        sig = base64.b64encode(hmac.new(secret.encode(), ts.encode() + body, hashlib.sha256).digest())
        return {"X-Zendesk-Webhook-Signature": sig.decode(),
                "X-Zendesk-Webhook-Signature-Timestamp": ts, "Content-Type": "application/json"}
    if kind == "intercom":
        return {"X-Hub-Signature": "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest(),
                "Content-Type": "application/json"}
    return {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}


def _post(client: Any, connector: dict[str, Any], kind: str, body: bytes, **kw: Any) -> Any:
    headers = {**_signed(kind, body, **kw), "Authorization": _signed(kind, body, **kw).get("Authorization", "")}
    headers = {k: v for k, v in headers.items() if v}
    return client.post(f"/webhooks/helpdesk/{connector['id']}", content=body, headers=headers)


CASES = [
    ("zendesk", "zendesk_trigger.json", {}, {
        "external_id": "zendesk:35436", "channel": "phone", "agent": "Ana Lima", "team": "Billing",
        "customer": ("zendesk:9001", "maya@example.com", "+14155550111"),
        "ticket_url": "https://acme.zendesk.com/agent/tickets/35436"}),
    ("zendesk", "zendesk_event.json", {}, {
        "external_id": "zendesk:35437", "channel": "ticket", "agent": None, "team": None,
        "customer": ("zendesk:9002", None, None), "ticket_url": None}),
    ("freshdesk", "freshdesk.json", {}, {
        "external_id": "freshdesk:4213", "channel": "chat", "agent": "Tom", "team": "Sales",
        "customer": (None, "leo@example.com", None),
        "ticket_url": "https://acme.freshdesk.com/helpdesk/tickets/4213"}),
    ("intercom", "intercom.json", {}, {
        "external_id": "intercom:147", "channel": "chat", "agent": "Kai", "team": "Support EU",
        "customer": ("intercom:CRM-77", "ines@example.com", None), "ticket_url": None}),
    ("generic", "generic.json", {"mapping": GENERIC_MAPPING}, {
        "external_id": "generic:G-55", "channel": "email", "agent": "Rui", "team": "Support",
        "customer": ("generic:K-5", "kim@example.com", None), "ticket_url": None}),
]


@pytest.mark.parametrize(("kind", "sample", "extra", "want"), CASES, ids=[c[1] for c in CASES])
def test_each_helpdesk_sample_becomes_the_expected_interaction_once(
        api, client, session, kind, sample, extra, want):  # type: ignore[no-untyped-def]
    connector = _connector(api, kind, **extra)
    body = _sample(sample)
    client.headers.pop("Authorization", None)
    r = _post(client, connector, kind, body)
    assert r.status_code == 200, r.text
    assert r.json()["created"] is True and r.json()["external_id"] == want["external_id"]
    again = _post(client, connector, kind, body)  # the helpdesk retries: same interaction
    assert again.status_code == 200 and again.json()["created"] is False
    [row] = session.exec(select(Interaction)).all()
    assert (row.external_id, row.channel, row.agent, row.team) == (
        want["external_id"], want["channel"], want["agent"], want["team"])
    assert (row.meta or {}).get("ticket_url") == want["ticket_url"]
    from surveys.models import Customer

    customer = session.get(Customer, row.customer_id)
    assert (customer.external_id, customer.email, customer.phone) == want["customer"]
    assert len(session.exec(select(Invitation)).all()) == 1  # one survey, scheduled once
    if kind == "intercom":
        assert row.first_response_seconds == 120


@pytest.mark.parametrize("kind", ["zendesk", "freshdesk", "intercom", "generic"])
def test_bad_signatures_are_refused(api, client, session, kind):  # type: ignore[no-untyped-def]
    extra = {"mapping": GENERIC_MAPPING} if kind == "generic" else {}
    connector = _connector(api, kind, **extra)
    client.headers.pop("Authorization", None)
    body = _sample({"zendesk": "zendesk_trigger.json", "freshdesk": "freshdesk.json",
                    "intercom": "intercom.json", "generic": "generic.json"}[kind])
    assert _post(client, connector, kind, body, secret="wrong-secret-value").status_code == 403
    tampered = body.replace(b"Billing", b"Hacked") if b"Billing" in body else body + b" "
    headers = _signed(kind, body)
    assert client.post(f"/webhooks/helpdesk/{connector['id']}", content=tampered,
                       headers=headers).status_code in (403, 200 if kind in ("freshdesk", "generic") else 403)
    assert client.post(f"/webhooks/helpdesk/{connector['id']}", content=body).status_code == 403
    assert client.post("/webhooks/helpdesk/999999", content=body, headers=headers).status_code == 403
    if kind in ("zendesk", "intercom"):
        assert session.exec(select(Interaction)).all() == []


def test_a_connector_is_changed_and_deleted_through_the_api(api, client, session):  # type: ignore[no-untyped-def]
    connector = _connector(api, "generic", mapping=GENERIC_MAPPING)
    url = f"/api/integrations/helpdesk/{connector['id']}"
    r = api.put(url, json={"name": "Desk", "secret": "another-secret-value", "active": False})
    assert r.status_code == 200 and r.json()["name"] == "Desk" and r.json()["active"] is False
    assert r.json()["secret"] == "another-secret-value" and r.json()["mapping"] == GENERIC_MAPPING
    r = api.put(url, json={"mapping": {"external_id": "ticket.number"}})
    assert r.status_code == 422 and r.json()["field"] == "mapping"
    r = api.put(url, json={"kind": "zendesk"})
    assert r.status_code == 422 and "kind" in r.text
    assert api.put(url, json={"active": True}).json()["active"] is True
    admin_auth = client.headers.pop("Authorization")  # `api` is `client` with an admin key
    body = _sample("generic.json")
    assert _post(client, connector, "generic", body).status_code == 403  # the old secret
    assert _post(client, connector, "generic", body, secret="another-secret-value").status_code == 200
    client.headers["Authorization"] = admin_auth
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404 and api.put(url, json={"name": "x"}).status_code == 404
    assert api.delete(url).status_code == 404
    client.headers.pop("Authorization")
    assert _post(client, connector, "generic", body, secret="another-secret-value").status_code == 403
    assert len(session.exec(select(Interaction)).all()) == 1  # its interactions stay


def test_a_zendesk_signature_more_than_5_minutes_off_is_refused_naming_why(api, client, session):  # type: ignore[no-untyped-def]
    connector = _connector(api, "zendesk")
    client.headers.pop("Authorization", None)
    body = _sample("zendesk_trigger.json")
    for ts in ("2026-03-10T11:54:59Z", "2026-03-10T12:05:01Z"):  # the clock is 12:00 UTC
        r = _post(client, connector, "zendesk", body, ts=ts)  # well signed, but stale or early
        assert r.status_code == 403 and "more than 5 minutes" in r.text, r.text
    r = _post(client, connector, "zendesk", body, ts="yesterday")
    assert r.status_code == 403 and "not an ISO 8601" in r.text
    assert session.exec(select(Interaction)).all() == []
    assert _post(client, connector, "zendesk", body, ts="2026-03-10T12:04:59Z").status_code == 200


def test_not_a_closed_ticket_is_skipped_and_bad_json_is_a_clear_error(api, client, session):  # type: ignore[no-untyped-def]
    connector = _connector(api, "intercom")
    client.headers.pop("Authorization", None)
    ping = json.dumps({"type": "notification_event", "topic": "ping", "data": {}}).encode()
    r = _post(client, connector, "intercom", ping)
    assert r.status_code == 200 and r.json()["skipped"] is True
    r = _post(client, connector, "intercom", b"{not json")
    assert r.status_code == 422 and r.json()["field"] == "body"
    broken = json.dumps({"topic": "conversation.admin.closed", "data": {"item": {"id": "9"}}}).encode()
    r = _post(client, connector, "intercom", broken)
    assert r.status_code == 422 and "occurred_at" in r.text
    assert session.exec(select(Interaction)).all() == []


def test_generic_mapping_preview_names_what_is_missing(api):  # type: ignore[no-untyped-def]
    connector = _connector(api, "generic", mapping=GENERIC_MAPPING)
    sample = json.loads(_sample("generic.json"))
    r = api.post(f"/api/integrations/helpdesk/{connector['id']}/preview", json={"sample": sample})
    assert r.status_code == 200 and r.json()["errors"] == []
    assert r.json()["interaction"]["customer"]["email"] == "kim@example.com"
    r = api.post(f"/api/integrations/helpdesk/{connector['id']}/preview",
                 json={"sample": sample, "mapping": {**GENERIC_MAPPING, "occurred_at": "ticket.nope"}})
    assert r.json()["errors"][0]["field"] == "occurred_at"
    r = api.post("/api/integrations/helpdesk", json={"kind": "generic", "name": "x",
                                                     "mapping": {"external_id": "a"}})
    assert r.status_code == 422 and r.json()["field"] == "mapping"


def test_the_preview_page_shows_the_interaction(api, client):  # type: ignore[no-untyped-def]
    connector = _connector(api, "generic", mapping=GENERIC_MAPPING)
    page = client.get(f"/integrations/helpdesk/{connector['id']}")
    assert page.status_code == 200 and "Try a sample payload" in page.text


def test_a_recovery_task_links_to_the_helpdesk_ticket(api, client, session, settings, clock, engine):  # type: ignore[no-untyped-def]
    from feedback.recovery.models import RecoveryTask
    from feedback.responses import record_response
    from tests.support.followups import run_followups

    connector = _connector(api, "zendesk")
    body = _sample("zendesk_trigger.json")
    assert client.post(f"/webhooks/helpdesk/{connector['id']}", content=body,
                       headers=_signed("zendesk", body)).status_code == 200
    invitation = session.exec(select(Invitation)).one()
    record_response(session, invitation, score=2, comment=None, source="web", now=clock.now,
                    settings=settings)
    session.commit()
    run_followups(engine, settings, clock)
    task = session.exec(select(RecoveryTask)).one()
    detail = api.get(f"/api/recovery/tasks/{task.id}").json()
    assert detail["interaction"]["ticket_url"] == "https://acme.zendesk.com/agent/tickets/35436"
