"""Unsubscribe link (GET confirms, POST and RFC 8058 one-click record), the dev outbox page and
API, and the contact log ("why was this customer not surveyed?")."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session

from outreach import optouts, unsubscribe
from tests.factories import make_invitation
from tests.outreach.conftest import outbox


def _opted_out(engine, address: str) -> set[str]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return optouts.opted_out_channels(s, [address])


def test_unsubscribe_get_only_confirms_and_post_records(client, settings, engine) -> None:
    token = unsubscribe.sign(settings.secret_key, "email", "Ana@Example.com", None)
    page = client.get(f"/u/{token}")
    assert page.status_code == 200 and 'method="post"' in page.text
    assert _opted_out(engine, "ana@example.com") == set()  # a scanner's GET changes nothing
    done = client.post(f"/u/{token}")
    assert done.status_code == 200 and "You will not receive surveys by email" in done.text
    assert _opted_out(engine, "ana@example.com") == {"email"}
    assert client.post(f"/u/{token}").status_code == 200  # idempotent


def test_one_click_post_from_a_mail_client(client, settings, engine) -> None:
    token = unsubscribe.sign(settings.secret_key, "email", "bo@example.com", None)
    r = client.post(f"/u/{token}", content=b"List-Unsubscribe=One-Click",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200
    assert _opted_out(engine, "bo@example.com") == {"email"}


def test_forged_or_altered_unsubscribe_tokens_are_refused(client, settings, engine) -> None:
    good = unsubscribe.sign(settings.secret_key, "email", "bo@example.com", None)
    other_key = unsubscribe.sign("another-secret", "email", "bo@example.com", None)
    payload, mac = good.split(".")
    altered = unsubscribe.sign(settings.secret_key, "email", "eve@example.com", None).split(".")[0]
    for token in (other_key, f"{altered}.{mac}", "nonsense", f"{payload}.", "a.b.c"):
        assert client.get(f"/u/{token}").status_code == 404
        r = client.post(f"/u/{token}")
        assert r.status_code == 404 and "not valid" in r.text
    assert _opted_out(engine, "bo@example.com") == set()


def test_unsubscribe_page_speaks_the_customers_language(client, session, settings,
                                                        clock) -> None:
    inv = make_invitation(session, settings, clock(), customer={"locale": "fa"})
    token = unsubscribe.sign(settings.secret_key, "email", "ana1@example.com", inv.customer_id)
    page = client.get(f"/u/{token}")
    assert 'dir="rtl"' in page.text and "لغو اشتراک" in page.text


def test_outbox_page_and_api_show_dev_messages(api, session, settings, clock, engine,
                                               make_dispatcher) -> None:
    make_invitation(session, settings, clock(), n=1)
    make_invitation(session, settings, clock(), n=2, customer={"phone": None})
    make_dispatcher().run_once()
    assert len(outbox(engine)) == 2
    data = api.get("/api/outbox").json()["messages"]
    assert {m["channel"] for m in data} == {"sms", "email"}
    email = api.get("/api/outbox", params={"channel": "email"}).json()["messages"]
    assert [m["to"] for m in email] == ["ana2@example.com"]
    assert email[0]["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    page = api.get("/outbox")
    assert page.status_code == 200 and "ana2@example.com" in page.text
    # the e-mail is shown as the customer sees it, escaped into a script-less sandbox
    assert '<iframe title="E-mail to ana2@example.com' in page.text
    assert 'sandbox="allow-top-navigation-by-user-activation allow-popups"' in page.text
    assert "srcdoc=\"&lt;" in page.text and "score=9" in page.text
    assert api.get("/api/outbox", params={"channel": "fax"}).status_code == 422
    assert api.get("/api/outbox", params={"limit": 0}).status_code == 422


def test_outbox_needs_staff(client) -> None:
    assert client.get("/api/outbox").status_code == 401


def test_contact_log_says_why_a_customer_was_not_surveyed(api, session, settings, clock,
                                                          make_dispatcher) -> None:
    clock.now = datetime(2026, 3, 10, 20, 0, tzinfo=UTC)
    inv = make_invitation(session, settings, clock(),
                          customer={"time_zone": "Asia/Tehran"})
    make_dispatcher().run_once()
    log = api.get(f"/api/customers/{inv.customer_id}/contact-log").json()
    [invitation] = log["invitations"]
    assert invitation["status"] == "scheduled" and invitation["reason"] == "quiet_hours"
    assert "quiet hours" in invitation["explanation"]
    [event] = log["events"]
    assert event["action"] == "defer" and event["not_before"].startswith("2026-03-11T04:30")
    page = api.get(f"/customers/{inv.customer_id}/contact-log")
    assert page.status_code == 200 and "quiet hours in the customer" in page.text
    # In the reader's language: the reason, the action and the dates (Persian digits).
    fa = api.get(f"/customers/{inv.customer_id}/contact-log", headers={"Accept-Language": "fa"}).text
    assert "ساعات سکوت" in fa and "تعویق" in fa and "۲۰۲۶" in fa and "quiet" not in fa
    assert api.get("/api/customers/999999/contact-log").status_code == 404
