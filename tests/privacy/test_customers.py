"""Finding a customer (team-scoped), the staff page, and the CLI's export and erase."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from surveys.models import Customer
from tests.factories import make_invitation

NAME, PHONE, EMAIL = "Mina Rostami", "+14155550144", "mina.r@example.net"


def _customer(session, settings, clock, n=1, team="Billing"):  # type: ignore[no-untyped-def]
    inv = make_invitation(session, settings, clock.now, n=n, team=team, customer={
        "external_id": f"EXT-{n}", "name": NAME, "email": EMAIL, "phone": PHONE})
    return inv.customer_id


def test_find_by_external_id_email_or_normalised_phone(session, settings, clock, api):  # type: ignore[no-untyped-def]
    cid = _customer(session, settings, clock)
    for query in ({"external_id": "EXT-1"}, {"email": "MINA.R@example.net"},
                  {"phone": "(415) 555-0144"}, {"phone": "+1 415 555 0144"},
                  {"phone": PHONE, "email": EMAIL}):
        r = api.get("/api/customers", params=query)
        assert r.status_code == 200, r.text
        assert [c["id"] for c in r.json()["items"]] == [cid], query
    assert api.get("/api/customers", params={"email": "nobody@example.net"}).json()["items"] == []


def test_bad_searches_name_the_field(api):  # type: ignore[no-untyped-def]
    r = api.get("/api/customers")
    assert r.status_code == 422 and "external_id" in r.text
    r = api.get("/api/customers", params={"phone": "call me"})
    assert r.status_code == 422 and "phone" in r.json()["field"]


def test_recovery_members_find_only_their_teams_customers(session, settings, clock, api,  # type: ignore[no-untyped-def]
                                                          key_for):
    cid = _customer(session, settings, clock, team="Billing")
    billing, support = key_for("recovery", "Billing"), key_for("recovery", "Support")
    assert [c["id"] for c in api.get("/api/customers", params={"phone": PHONE},
                                     headers=billing).json()["items"]] == [cid]
    assert api.get("/api/customers", params={"phone": PHONE},
                   headers=support).json()["items"] == []
    # Export is for leads and admins: a recovery member is refused.
    assert api.get(f"/api/customers/{cid}/export", headers=billing).status_code == 403
    assert api.get(f"/api/customers/{cid}/export", headers=key_for("lead")).status_code == 200
    assert api.get("/api/customers/424242/export").status_code == 404


def test_staff_page_finds_with_erase_form_for_admins(session, settings, clock, api):  # type: ignore[no-untyped-def]
    cid = _customer(session, settings, clock)
    page = api.get("/customers", params={"phone": "415 555 0144"})
    assert page.status_code == 200 and NAME in page.text and f"/customers/{cid}/erase" in page.text
    bad = api.get("/customers", params={"phone": "nope"})
    assert bad.status_code == 422 and "phone" in bad.text


def test_cli_export_and_erase(session, engine, settings, clock, db_url, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    from feedback.cli import app

    cid = _customer(session, settings, clock)
    monkeypatch.setenv("FEEDBACK_DATABASE_URL", db_url)
    monkeypatch.setenv("FEEDBACK_SECRET_KEY", settings.secret_key)
    out = tmp_path / "export.json"
    result = CliRunner().invoke(app, ["customers", "export", str(cid), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["customer"]["email"] == EMAIL
    result = CliRunner().invoke(app, ["customers", "erase", str(cid), "--reason", "ticket 42"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["already_erased"] is False
    session.expire_all()
    assert session.get(Customer, cid).email is None  # type: ignore[union-attr]
    result = CliRunner().invoke(app, ["customers", "export", str(cid)])
    assert result.exit_code == 0 and EMAIL not in result.stdout and NAME not in result.stdout
