from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from feedback.ingest.csv_import import ImportFailed, import_file
from surveys.models import Interaction, Invitation

HEADER = "external_id,channel,occurred_at,agent,team,customer_external_id,customer_phone,customer_email,customer_locale\n"


def _write(tmp_path: Path, body: str, header: str = HEADER, encoding: str = "utf-8") -> Path:
    path = tmp_path / "in.csv"
    path.write_bytes((header + body).encode(encoding))
    return path


def _count(engine, model) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


GOOD = ("T1,phone,2026-03-10T09:00:00Z,Ana,Billing,C1,+14155550101,a@example.com,en\n"
        "T2,chat,2026-03-10T10:00:00+08:00,Li,Support,C2,,li@example.com,zh-CN\n")


def test_imports_rows_and_is_idempotent(engine, settings, tmp_path):  # type: ignore[no-untyped-def]
    path = _write(tmp_path, GOOD)
    report = import_file(engine, settings, path)
    assert (report.rows, report.imported, report.created) == (2, 2, 2)
    report = import_file(engine, settings, path)
    assert report.created == 0
    assert _count(engine, Interaction) == 2


def test_bad_rows_are_reported_by_line_and_nothing_is_imported(engine, settings, tmp_path):  # type: ignore[no-untyped-def]
    body = GOOD + ("T3,phone,not-a-date,Ana,Billing,C3,+1415555,x@example.com,en\n"
                   "T4,fax,2026-03-10T09:00:00Z,Ana,Billing,C4,,bad-email,en\n")
    with pytest.raises(ImportFailed) as err:
        import_file(engine, settings, _write(tmp_path, body))
    joined = "\n".join(err.value.errors)
    assert "line 4: occurred_at" in joined
    assert "line 4: customer_phone" in joined
    assert "line 5: channel" in joined
    assert "line 5: customer_email" in joined
    assert _count(engine, Interaction) == 0


def test_skip_invalid_imports_the_rest(engine, settings, tmp_path):  # type: ignore[no-untyped-def]
    body = GOOD + "T3,phone,not-a-date,Ana,Billing,C3,,x@example.com,en\n"
    report = import_file(engine, settings, _write(tmp_path, body), skip_invalid=True)
    assert (report.imported, report.skipped) == (2, 1)
    assert report.errors[0].startswith("line 4: occurred_at")


@pytest.mark.parametrize(("content", "message"), [
    ((HEADER.replace("agent", "agnet"), ""), "unknown column(s): agnet"),
    (("channel,occurred_at\n", "phone,2026-01-01\n"), "missing required column(s): external_id"),
    (("", ""), "empty"),
    ((HEADER, ""), "no rows"),
])
def test_bad_files(engine, settings, tmp_path, content, message):  # type: ignore[no-untyped-def]
    header, body = content
    with pytest.raises(ImportFailed) as err:
        import_file(engine, settings, _write(tmp_path, body, header=header))
    assert message in str(err.value)


def test_bad_encoding(engine, settings, tmp_path):  # type: ignore[no-untyped-def]
    path = _write(tmp_path, "T1,phone,2026-03-10T09:00:00Z,José,B,C1,,,en\n", encoding="latin-1")
    with pytest.raises(ImportFailed, match="not UTF-8"):
        import_file(engine, settings, path)


def test_no_surveys_for_history_only(engine, settings, tmp_path):  # type: ignore[no-untyped-def]
    report = import_file(engine, settings, _write(tmp_path, GOOD), schedule=False)
    assert report.surveys_scheduled == 0 and _count(engine, Invitation) == 0


def test_cli_exit_code_and_report(engine, db_url, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    from feedback.cli import app

    monkeypatch.setenv("FEEDBACK_DATABASE_URL", db_url)
    monkeypatch.setenv("FEEDBACK_SECRET_KEY", "x" * 32)
    bad = _write(tmp_path, "T9,phone,yesterday,A,B,C9,,,en\n")
    result = CliRunner().invoke(app, ["import", "interactions", str(bad)])
    assert result.exit_code == 2
    assert "line 2: occurred_at" in result.output
    good = _write(tmp_path, GOOD)
    result = CliRunner().invoke(app, ["import", "interactions", str(good)])
    assert result.exit_code == 0, result.output
    assert "2 imported" in result.output
