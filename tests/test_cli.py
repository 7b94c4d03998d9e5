"""The `feedback` command reads right: flag names, the import's help, refused bad values."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from feedback.cli import app
from feedback.ingest.csv_import import COLUMNS


def test_import_help_lists_the_columns_and_flags_that_read_right() -> None:
    out = CliRunner().invoke(app, ["import", "interactions", "--help"],
                             env={"COLUMNS": "200"}).output
    assert "--skip-invalid" in out and "--no-skip-invalid" not in out
    assert "--no-surveys" in out and "--no-no-surveys" not in out
    for column in COLUMNS:
        assert column in out, column
    assert "meta_<name>" in out


@pytest.mark.parametrize("tag", ["xx", "en_!!", "12"])
def test_a_bogus_customer_locale_is_refused_by_line(tag: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FEEDBACK_DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    csv = tmp_path / "in.csv"
    csv.write_text("external_id,channel,occurred_at,customer_email,customer_locale\n"
                   f"T-1,phone,2026-11-23T10:00:00Z,a@example.com,{tag}\n")
    result = CliRunner().invoke(app, ["import", "interactions", str(csv), "--no-surveys"],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    assert "line 2" in result.output and "locale" in result.output
