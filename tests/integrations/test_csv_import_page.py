"""CSV import in the web UI: a dry run reports every bad row by line and imports nothing; an
import lands the file (all or nothing, idempotent on external_id), as the CLI does."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from feedback.ingest import repository
from feedback.ingest.models import ImportJob
from feedback.ingest.tasks import run_imports
from feedback.integrations import imports
from feedback.worker import JobContext
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


def _run_worker(engine: Any, settings: Any, clock: Any) -> int:
    return run_imports(JobContext(engine=engine, settings=settings, clock=clock, worker_id="w1"))


def test_a_large_file_is_imported_by_the_worker_with_its_progress_page(  # type: ignore[no-untyped-def]
        client, staff, session, engine, settings, clock, monkeypatch):
    """Above the inline limit the upload returns at once: the browser goes to the file's page
    (refreshing itself while waiting), the worker imports it, and the page shows the report.
    The file is dropped from the database once it is done."""
    monkeypatch.setattr(imports, "INLINE_MAX_BYTES", 10)
    lead = staff("Lena", role="lead", password="s3cret-pass")
    sign_in(client, lead.email)
    client.get("/imports")
    r = _upload(client, BAD, mode="dry_run")
    assert r.status_code == 200 and "/imports/" in str(r.url)
    assert 'http-equiv="refresh"' in r.text and "feedback worker" in r.text
    assert _run_worker(engine, settings, clock) == 1
    page = client.get(str(r.url)).text
    assert "3 rows, 2 valid, 1 with problems" in page and "line 4: channel" in page
    assert 'http-equiv="refresh"' not in page

    r = _upload(client, BAD, mode="import")
    assert _run_worker(engine, settings, clock) == 1
    page = client.get(str(r.url)).text
    assert "nothing was imported" in page and "line 4: customer_email" in page
    assert session.exec(select(Interaction)).all() == []

    r = _upload(client, GOOD, mode="import")
    assert _run_worker(engine, settings, clock) == 1
    assert "2 rows: 2 imported (2 new)" in client.get(str(r.url)).text
    assert len(session.exec(select(Interaction)).all()) == 2
    assert _run_worker(engine, settings, clock) == 0  # nothing left: each file ran once
    with Session(engine) as s:
        assert all(j.content is None and j.status in ("done", "failed")
                   for j in s.exec(select(ImportJob)).all())
    assert "calls.csv" in client.get("/imports").text  # the recent files


def test_a_large_file_with_a_wrong_header_is_refused_at_once(client, staff, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(imports, "INLINE_MAX_BYTES", 10)
    lead = staff("Lena", role="lead", password="s3cret-pass")
    sign_in(client, lead.email)
    client.get("/imports")
    r = _upload(client, "external_id,colour\nx,blue\n")
    assert r.status_code == 422 and "unknown column(s): colour" in r.text


def test_a_file_is_seen_by_its_uploader_and_admins_only(  # type: ignore[no-untyped-def]
        client, staff, engine, settings, clock, monkeypatch):
    monkeypatch.setattr(imports, "INLINE_MAX_BYTES", 10)
    lena = staff("Lena", role="lead", password="s3cret-pass")
    sign_in(client, lena.email)
    client.get("/imports")
    path = _upload(client, GOOD, mode="dry_run").url.path
    client.post("/logout", data={"_csrf_token": client.cookies.get("csrftoken")})
    client.cookies.clear()
    other = staff("Omar", role="lead", password="s3cret-pass")
    sign_in(client, other.email)
    assert client.get(path).status_code == 404
    assert "calls.csv" not in client.get("/imports").text
    client.cookies.clear()
    admin = staff("Ada", role="admin", password="s3cret-pass")
    sign_in(client, admin.email)
    assert client.get(path).status_code == 200


def test_a_worker_that_died_mid_file_leaves_it_to_the_next(  # type: ignore[no-untyped-def]
        client, staff, session, engine, settings, clock, monkeypatch):
    """A killed worker wrote nothing (one transaction); once its lease runs out another worker
    claims the file and imports it — once."""
    monkeypatch.setattr(imports, "INLINE_MAX_BYTES", 10)
    lead = staff("Lena", role="lead", password="s3cret-pass")
    sign_in(client, lead.email)
    client.get("/imports")
    path = _upload(client, GOOD, mode="import").url.path
    assert repository.claim(engine, "dead-worker", clock()) is not None  # then it died
    assert _run_worker(engine, settings, clock) == 0  # its lease still holds
    clock.advance(minutes=6)
    assert _run_worker(engine, settings, clock) == 1
    assert "2 imported (2 new)" in client.get(path).text
    assert len(session.exec(select(Interaction)).all()) == 2
