"""`feedback config export` → `feedback config import FILE` on an empty database reproduces
the same behaviour: the same rule fires for the same interaction, with the same survey words."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from feedback.cli import app as cli
from feedback.configuration import policies, preview, service, surveys, transfer
from feedback.configuration.schemas import RuleProbe
from feedback.db import make_engine, transaction
from feedback.settings import Settings
from tests.configuration.test_surveys import SURVEY

PROBES = [RuleProbe(queue="billing-l1"), RuleProbe(queue="billing-l1", customer_tier="Gold"),
          RuleProbe(channel="chat", team="Sales"), RuleProbe(external_id="T-9", queue="x")]


def _behaviour(engine: Any, settings: Settings) -> list[Any]:
    with transaction(engine) as s:
        decisions = [service.decision_json(d) for d in service.resolve_rules(s, PROBES, settings=settings)]
        for d in decisions:
            d.pop("rules_version")
        survey = surveys.by_key(s, "billing-csat")
        words = {loc: preview.page_words(s, survey, loc, settings) for loc in ("en", "fa", "zh-CN")}
        sms = preview.messages(s, survey, "fa", settings)["sms"]["text"]
        pol = policies.current(s, settings)
        start = datetime(2026, 4, 2, 14, 0, tzinfo=UTC)  # before Easter in Berlin
        due = {team: pol.calendar(team).add(start, pol.windows(team, "urgent")[0]).isoformat()
               for team in ("Billing", "Sales")}
        live = policies.effective(s, settings)
        policy = [due, live.quiet_hours_start.isoformat(), live.fatigue_days,
                  live.thresholds, live.recovery_root_causes, policies.site(s, settings)]
    return [decisions, words, sms, policy]


def test_export_then_import_on_an_empty_database_behaves_the_same(
        api: Any, settings: Settings, engine: Any, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert api.post("/api/surveys", json=SURVEY).status_code == 201
    api.put("/api/rules", json={"rules": [
        {"name": "gold", "when": {"customer_tier": ["gold"]}, "survey": "ces", "via": "sms",
         "reminder": False},
        {"name": "billing", "when": {"queue": ["billing-l1"]}, "survey": "billing-csat",
         "via": "email", "delay_minutes": 5, "sample_percent": 50},
        {"name": "chat", "when": {"channel": ["chat"]}, "survey": "nps", "via": "none"}]})
    pol = api.get("/api/policies").json()["policies"]
    pol["sla"].append({"team": "Billing", "priority": "urgent", "first_contact_hours": 3,
                       "resolution_hours": 6})
    pol["business_hours"] = [{"team": "Billing", "time_zone": "Europe/Berlin",
                              "hours": {"mon-fri": "09:00-17:00"}}]
    pol["holidays"] = {"country": "DE", "subdivision": "BY", "custom": ["2026-04-07"]}
    pol.update(quiet_hours={"start": "20:00", "end": "09:00", "channels": ["sms"]},
               fatigue_days=9, root_causes=["late delivery", "price"],
               thresholds={**pol["thresholds"], "nps_detractor_max": 5},
               branding={"company_name": "Globex", "logo_url": "https://x.example/l.png",
                         "colour": "#112233", "sender_name": "Globex Care"})
    assert api.put("/api/policies", json=pol).status_code == 200
    before = _behaviour(engine, settings)
    assert before[3][0]["Billing"] == "2026-04-08T09:00:00+00:00"  # holidays skipped

    monkeypatch.setenv("FEEDBACK_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("FEEDBACK_SECRET_KEY", settings.secret_key)
    exported = tmp_path / "config.json"
    result = CliRunner().invoke(cli, ["config", "export", "--out", str(exported)])
    assert result.exit_code == 0, result.output
    doc = json.loads(exported.read_text())
    assert [s["key"] for s in doc["surveys"]] == ["billing-csat"]

    empty_url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    monkeypatch.setenv("FEEDBACK_DATABASE_URL", empty_url)
    result = CliRunner().invoke(cli, ["config", "import", str(exported)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["surveys_created"] == ["billing-csat"]
    other = make_engine(empty_url)
    try:
        after = _behaviour(other, settings.model_copy(update={"database_url": empty_url}))
        assert after == before
        # Importing the same file again changes nothing (no new versions).
        again = CliRunner().invoke(cli, ["config", "import", str(exported)])
        assert json.loads(again.output) == {"surveys_created": [], "surveys_versioned": [],
                                            "surveys_unchanged": ["billing-csat"],
                                            "rules": "unchanged", "policies": "unchanged"}
    finally:
        other.dispose()


def test_a_bad_file_changes_nothing_and_names_the_path(engine: Any, settings: Settings) -> None:
    doc = {"format": "feedback-config", "format_version": 1,
           "rules": [{"survey": "billing-csat"}],
           "surveys": [{**SURVEY, "texts": {"fa": {"sms_question": "x" * 200}}}]}
    with pytest.raises(Exception) as exc, transaction(engine) as s:
        transfer.import_document(s, doc, by="t", now=_now(), settings=settings)
    assert "surveys[0].texts.fa.sms_question" in str(getattr(exc.value, "message", exc.value))
    doc["surveys"] = []
    with pytest.raises(Exception) as exc, transaction(engine) as s:
        transfer.import_document(s, doc, by="t", now=_now(), settings=settings)
    assert "rules[0].survey: unknown survey 'billing-csat'" in exc.value.message  # type: ignore[attr-defined]
    with transaction(engine) as s:
        assert service.rule_set(s, settings).version == 0
    with pytest.raises(Exception, match="not a feedback-config"):
        transfer.parse_document({"rules": []})


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 3, 10, 12, tzinfo=UTC)


