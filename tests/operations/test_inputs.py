"""Operational fields through the CSV import, and the customer's "was it resolved?" answer on
the survey page."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from feedback.ingest.csv_import import ImportFailed, import_file
from surveys.models import Interaction, Response
from tests.factories import make_invitation

HEADER = ("external_id,channel,occurred_at,customer_external_id,customer_email,wait_seconds,"
          "talk_seconds,hold_seconds,wrap_seconds,abandoned,transfers,resolved,contact_reason\n")


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "ops.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def test_csv_import_reads_the_operational_columns(engine, settings, tmp_path):  # type: ignore[no-untyped-def]
    path = _write(tmp_path, "T1,phone,2026-03-10T09:00:00Z,C1,a@example.com,25,310,0,45,no,1,yes,billing\n"
                            "T2,phone,2026-03-10T09:05:00Z,C2,b@example.com,4,,,,true,,,\n")
    import_file(engine, settings, path, schedule=False)
    with Session(engine) as s:
        rows = {r.external_id: r for r in s.exec(select(Interaction))}
    t1, t2 = rows["T1"], rows["T2"]
    assert (t1.wait_seconds, t1.talk_seconds, t1.wrap_seconds, t1.abandoned, t1.transfers,
            t1.resolved, t1.contact_reason) == (25, 310, 45, False, 1, True, "billing")
    assert (t2.abandoned, t2.wait_seconds, t2.talk_seconds) == (True, 4, None)


def test_csv_import_names_the_bad_column_and_line(engine, settings, tmp_path):  # type: ignore[no-untyped-def]
    path = _write(tmp_path, "T1,phone,2026-03-10T09:00:00Z,C1,a@example.com,-3,,,,,,,\n"
                            "T2,phone,2026-03-10T09:00:00Z,C2,b@example.com,,,,,,two,,\n")
    with pytest.raises(ImportFailed) as exc:
        import_file(engine, settings, path, schedule=False)
    text = "\n".join(exc.value.errors)
    assert "line 2: wait_seconds" in text and "line 3: transfers" in text


@pytest.mark.parametrize(("answer", "stored"), [("yes", True), ("no", False), (None, None)])
def test_survey_page_records_the_customers_resolved_answer(client, session, settings, clock,
                                                           answer, stored):  # type: ignore[no-untyped-def]
    inv = make_invitation(session, settings, clock.now - timedelta(minutes=5))
    page = client.get(f"/s/{inv.token}")
    assert "Was your issue resolved?" in page.text
    form = {"score": "9", **({"resolved": answer} if answer else {})}
    r = client.post(f"/s/{inv.token}", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    session.expire_all()
    assert session.exec(select(Response)).one().resolved is stored
