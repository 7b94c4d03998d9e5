from __future__ import annotations

import pytest
from sqlmodel import func, select

from surveys.models import Customer, Interaction, Invitation
from tests.factories import interaction_payload


def _count(session, model):  # type: ignore[no-untyped-def]
    return session.exec(select(func.count()).select_from(model)).one()


def test_ingest_creates_customer_interaction_and_invitation(api, session, clock):  # type: ignore[no-untyped-def]
    r = api.post("/api/interactions", json=interaction_payload())
    assert r.status_code == 201, r.text
    result = r.json()["results"][0]
    assert result["created"] is True
    inv = result["invitation"]
    assert inv["channel"] == "sms"  # a phone and no opt-out: SMS first
    assert inv["url"].startswith("http://testserver.local/s/")
    assert len(inv["token"]) >= 22  # ≥ 128 bits of url-safe base64
    # 30 minutes after the interaction, but never in the past
    assert inv["send_at"].startswith("2026-03-10T12:00")
    assert _count(session, Invitation) == 1


def test_ingest_is_idempotent_on_external_id(api, session):  # type: ignore[no-untyped-def]
    first = api.post("/api/interactions", json=interaction_payload())
    again = api.post("/api/interactions", json=interaction_payload(agent="Tom B."))
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["results"][0]["created"] is False
    assert again.json()["results"][0]["invitation"]["token"] == first.json()["results"][0]["invitation"]["token"]
    assert (_count(session, Interaction), _count(session, Invitation), _count(session, Customer)) == (1, 1, 1)
    assert session.exec(select(Interaction)).one().agent == "Tom B."


def test_batch_is_all_or_nothing_and_names_each_bad_item(api, session):  # type: ignore[no-untyped-def]
    good = interaction_payload(1)
    bad = interaction_payload(2, customer={"phone": "12", "email": "nope"})
    r = api.post("/api/interactions", json={"interactions": [good, bad]})
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"interactions[1].customer.phone", "interactions[1].customer.email"} <= fields
    assert _count(session, Interaction) == 0


def test_email_only_customer_gets_email_and_no_contact_gets_link(api):  # type: ignore[no-untyped-def]
    r = api.post("/api/interactions", json=[
        interaction_payload(1, customer={"phone": None}),
        interaction_payload(2, customer={"phone": None, "email": None}),
    ])
    channels = [x["invitation"]["channel"] for x in r.json()["results"]]
    assert channels == ["email", "link"]


@pytest.mark.parametrize(("override", "field"), [
    ({"customer": {"phone": "not a phone"}}, "customer.phone"),
    ({"customer": {"email": "a@"}}, "customer.email"),
    ({"occurred_at": "yesterday"}, "occurred_at"),
    ({"channel": "pigeon"}, "channel"),
    ({"customer": {"time_zone": "Mars/Olympus"}}, "customer.time_zone"),
    ({"surprise": 1}, "surprise"),
    ({"survey": "bogus"}, "survey"),
])
def test_bad_input_names_the_field(api, override, field):  # type: ignore[no-untyped-def]
    r = api.post("/api/interactions", json=interaction_payload(**override))
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
    assert field in r.json()["message"]


def test_old_history_schedules_no_survey(api):  # type: ignore[no-untyped-def]
    r = api.post("/api/interactions", json=interaction_payload(occurred_at="2025-01-01T10:00:00Z"))
    assert r.status_code == 201
    assert r.json()["results"][0]["invitation"] is None


def test_ingest_needs_staff_credentials(client):  # type: ignore[no-untyped-def]
    assert client.post("/api/interactions", json=interaction_payload()).status_code == 401
    client.headers["Authorization"] = "Bearer wrong"
    assert client.post("/api/interactions", json=interaction_payload()).status_code == 401


def test_recovery_role_cannot_ingest(client, engine):  # type: ignore[no-untyped-def]
    from feedback.auth.service import create_api_key
    from feedback.db import transaction

    with transaction(engine) as s:
        _, key = create_api_key(s, "agent", "recovery")
    client.headers["X-API-Key"] = key
    r = client.post("/api/interactions", json=interaction_payload())
    assert r.status_code == 403
    assert "lead" in r.json()["message"]
