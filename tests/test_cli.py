"""The `feedback` command reads right: flag names, the import's help, refused bad values."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from feedback.cli import app
from feedback.ingest.csv_import import COLUMNS
from feedback.insights import embeddings


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


def _feedback(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("FEEDBACK_")} | env
    full["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])  # this checkout's code
    return subprocess.run([sys.executable, "-m", "feedback", *args], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=120)


def test_a_bad_setting_names_its_variable_not_a_traceback(tmp_path: Path) -> None:
    done = _feedback(["worker"], {"FEEDBACK_THEMES_MIN_TRAINING_EXAMPLES": "many"}, tmp_path)
    assert done.returncode == 2, done.stderr
    assert "configuration error: FEEDBACK_THEMES_MIN_TRAINING_EXAMPLES:" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.skipif(embeddings.available(), reason="the embeddings extra is installed here")
def test_embeddings_setting_without_the_extra_stops_the_start(tmp_path: Path) -> None:
    done = _feedback(["worker"], {"FEEDBACK_THEMES_EMBEDDINGS": "true"}, tmp_path)
    assert done.returncode == 2, done.stderr
    assert ("configuration error: FEEDBACK_THEMES_EMBEDDINGS: sentence embeddings need the "
            "optional package: pip install 'feedback[embeddings]'") in " ".join(done.stderr.split())
