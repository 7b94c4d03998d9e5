"""CSV import in the web UI: a dry run reports every bad row by line and imports nothing; an
import lands the file (all or nothing, idempotent on external_id), as the CLI does."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from surveys.models import Interaction
from tests.recovery.conftest import sign_in

GOOD = ("external_id,channel,occurred_at,agent,team,customer_external_id,customer_email\n"
        "W-1,phone,2026-03-10T09:00:00Z,Ana,Billing,C-1,c1@example.com\n"
        "W-2,chat,2026-03-10T09:05:00Z,Tom,Sales,C-2,c2@example.com\n")
BAD = GOOD + "W-3,fax,2026-03-10T09:10:00Z,Tom,Sales,C-3,not-an-email\n"


def _upload(client: Any, text: str, **fields: str) -> Any:
    token = client.cookies.get("csrftoken")
    return client.post("/imports", files={"file": ("calls.csv", text.encode(), "text/csv")},
                       data={"_csrf_token": token, **fields})


def test_dry_run_names_bad_lines_then_import_lands_the_file(client, staff, session):  # type: ignore[no-untyped-def]
    lead = staff("Lena", role="lead", password="s3cret-pass")
    sign_in(client, lead.email)
    assert client.get("/imports").status_code == 200
    r = _upload(client, BAD, mode="dry_run")
    assert r.status_code == 200, r.text
    assert "3 rows, 2 valid, 1 with problems" in r.text
    assert "line 4: channel" in r.text and "line 4: customer_email" in r.text
    r = _upload(client, BAD, mode="import")
    assert r.status_code == 422 and "nothing was imported" in r.text
    assert session.exec(select(Interaction)).all() == []
    r = _upload(client, GOOD, mode="import")
    assert r.status_code == 200 and "2 rows: 2 imported (2 new)" in r.text
    r = _upload(client, GOOD, mode="import")  # the same file again: updated, nothing new
    assert "2 imported (0 new)" in r.text
    assert len(session.exec(select(Interaction)).all()) == 2
    r = _upload(client, BAD, mode="import", skip_invalid="true")
    assert r.status_code == 200 and "1 skipped" in r.text


def test_a_broken_file_is_a_clear_error(client, staff):  # type: ignore[no-untyped-def]
    lead = staff("Lena", role="lead", password="s3cret-pass")
    sign_in(client, lead.email)
    client.get("/imports")
    r = _upload(client, "external_id,colour\nx,blue\n")
    assert r.status_code == 422 and "unknown column(s): colour" in r.text
    r = _upload(client, 'external_id,channel,occurred_at\n"W-1,phone,2026\n')
    assert r.status_code == 422 and "unterminated quote" in r.text
    r = _upload(client, "\xff\xfe".encode("latin-1").decode("latin-1"))
    assert r.status_code == 422


def test_only_leads_and_admins_may_import(client, staff):  # type: ignore[no-untyped-def]
    agent = staff("Rita", password="s3cret-pass")
    sign_in(client, agent.email)
    assert client.get("/imports").status_code == 403
