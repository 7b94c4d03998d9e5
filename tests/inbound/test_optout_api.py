"""GET/POST/DELETE /api/opt-outs: the admin side of the one opt-out record."""

from __future__ import annotations

import pytest
from sqlmodel import select

from outreach import optouts
from surveys.models import OptOut
from tests.inbound.conftest import PHONE


def test_create_list_and_delete(api, sms, sent_invitation, session):  # type: ignore[no-untyped-def]
    inv = sent_invitation()
    r = api.post("/api/opt-outs", json={"channel": "sms", "address": " +1 415 555 0100 ",
                                        "note": "asked on the phone"})
    assert r.status_code == 201, r.text
    row = r.json()
    assert (row["channel"], row["address"], row["source"], row["note"]) == (
        "sms", PHONE, "admin", "asked on the phone")
    assert row["customer_id"] == inv.customer_id
    assert optouts.is_opted_out(session, "sms", PHONE)
    # idempotent: the same opt-out again keeps the first record
    assert api.post("/api/opt-outs", json={"channel": "sms", "address": PHONE}).json()["id"] == row["id"]
    # the SMS side sees it: no survey replies to this number now
    assert "<Message>" not in sms("9").text

    email = api.post("/api/opt-outs", json={"channel": "email", "address": "Ana@Example.COM",
                                            "source": "crm"}).json()
    assert email["address"] == "ana@example.com" and email["source"] == "crm"

    listed = api.get("/api/opt-outs").json()["opt_outs"]
    assert [o["channel"] for o in listed] == ["email", "sms"]
    one = api.get("/api/opt-outs", params={"address": "+14155550100"}).json()["opt_outs"]
    assert [o["id"] for o in one] == [row["id"]]
    assert api.get("/api/opt-outs", params={"channel": "email"}).json()["opt_outs"][0]["id"] == email["id"]

    r = api.delete("/api/opt-outs", params={"channel": "sms", "address": PHONE})
    assert r.status_code == 200 and r.json() == {"removed": 1}
    assert not optouts.is_opted_out(session, "sms", PHONE)
    assert api.delete("/api/opt-outs", params={"channel": "sms", "address": PHONE}).json() == {"removed": 0}


def test_sms_stop_is_visible_in_the_api_and_all_closes_both(api, sms, session):  # type: ignore[no-untyped-def]
    sms("STOP")
    listed = api.get("/api/opt-outs", params={"address": PHONE}).json()["opt_outs"]
    assert [(o["channel"], o["source"]) for o in listed] == [("sms", "sms")]
    api.post("/api/opt-outs", json={"channel": "all", "address": "bo@example.com"})
    assert optouts.is_opted_out(session, "email", "bo@example.com")


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"channel": "sms", "address": "0800 not a number"}, "address", "not a phone number"),
    ({"channel": "sms", "address": "+1 415 555"}, "address", "not a valid phone number"),
    ({"channel": "sms", "address": "ana@example.com"}, "address", "needs a phone"),
    ({"channel": "email", "address": "ana@"}, "address", "not a valid email"),
    ({"channel": "email", "address": "+14155550100"}, "address", "not a valid email"),
    ({"channel": "fax", "address": "+14155550100"}, "channel", ""),
    ({"address": "+14155550100"}, "channel", ""),
    ({"channel": "sms"}, "address", ""),
    ({"channel": "sms", "address": "+14155550100", "note": "x" * 501}, "note", ""),
    ({"channel": "sms", "address": "+14155550100", "colour": "red"}, "colour", ""),
])
def test_bad_input_is_a_400_naming_the_field(api, body, field, words, session):  # type: ignore[no-untyped-def]
    r = api.post("/api/opt-outs", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field and words in r.json()["message"]
    assert session.exec(select(OptOut)).first() is None


@pytest.mark.parametrize(("params", "field"), [
    ({"channel": "sms", "address": "nope"}, "address"),
    ({"channel": "email", "address": "nope"}, "address"),
    ({"channel": "pigeon", "address": PHONE}, "channel"),
    ({"address": PHONE}, "channel"),
])
def test_bad_delete_is_a_400(api, params, field):  # type: ignore[no-untyped-def]
    r = api.delete("/api/opt-outs", params=params)
    assert r.status_code == 400 and r.json()["field"] == field


def test_bad_list_queries_are_400s(api):  # type: ignore[no-untyped-def]
    assert api.get("/api/opt-outs", params={"address": "nope"}).json()["field"] == "address"
    assert api.get("/api/opt-outs", params={"limit": 0}).status_code == 400


def test_roles(client, api_key):  # type: ignore[no-untyped-def]
    body = {"channel": "sms", "address": PHONE}
    assert client.get("/api/opt-outs").status_code == 401
    assert client.post("/api/opt-outs", json=body, headers=api_key("recovery")).status_code == 403
    assert client.post("/api/opt-outs", json=body, headers=api_key("lead")).status_code == 201
    assert client.get("/api/opt-outs", headers=api_key("admin")).status_code == 200


def test_inbound_sms_log(api, sms, sent_invitation):  # type: ignore[no-untyped-def]
    inv = sent_invitation()
    sms("9")
    sms("Who is this?", phone="+447700900123")
    messages = api.get("/api/sms/inbound").json()["messages"]
    assert [(m["from"], m["outcome"]) for m in messages] == [
        ("+447700900123", "no_survey"), (PHONE, "score")]
    mine = api.get("/api/sms/inbound", params={"phone": "+1 415 555 0100"}).json()["messages"]
    assert [(m["body"], m["invitation_id"]) for m in mine] == [("9", inv.id)]
    assert api.get("/api/sms/inbound", params={"phone": "x"}).json()["field"] == "phone"
    assert api.get("/api/sms/inbound", params={"limit": 5000}).json()["field"] == "limit"
