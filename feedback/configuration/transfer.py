"""Configuration as a file: `feedback config export` writes the distribution rules, the
policies and every edited survey as one JSON document; `feedback config import FILE` makes a database say the
same. Import checks the whole file before changing anything (each error names its path, e.g.
`surveys[1].texts.fa.sms_question`) and is idempotent: what is already so is left alone, so
no new version is made for an unchanged survey or rule list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from feedback.configuration import policies, service, surveys
from feedback.configuration.policy_schemas import PoliciesDoc
from feedback.configuration.schemas import RuleSetIn, SurveyIn, parse
from feedback.settings import Settings
from surveys.errors import ValidationFailed

FORMAT = "feedback-config"
FORMAT_VERSION = 1


def export(session: Session, settings: Settings, now: datetime) -> dict[str, Any]:
    rules = service.rule_set(session, settings)
    pol = policies.current(session, settings)
    out_surveys = []
    for s in surveys.list_surveys(session):
        if not s.version:  # never edited: the product's wording, nothing to carry
            continue
        doc = surveys.survey_json(session, s)
        out_surveys.append({"key": s.key, "name": s.name, "kind": s.kind,
                            "texts": doc["texts"], "extra": doc["extra"]})
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "exported_at": now.isoformat(),
            "rules_version": rules.version,
            "rules": [r.model_dump(mode="json") for r in rules.rules],
            "policies_version": pol.version, "policies": pol.doc.model_dump(mode="json"),
            "surveys": out_surveys}


def parse_document(doc: Any) -> tuple[RuleSetIn | None, list[SurveyIn], PoliciesDoc | None]:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValidationFailed(f"format: not a {FORMAT} document (write one with "
                               "`feedback config export`)", field="format")
    if doc.get("format_version") != FORMAT_VERSION:
        raise ValidationFailed(f"format_version: this version reads {FORMAT_VERSION}",
                               field="format_version")
    raw_surveys = doc.get("surveys", [])
    if not isinstance(raw_surveys, list):
        raise ValidationFailed("surveys: must be a list", field="surveys")
    parsed = [parse(SurveyIn, s, prefix=f"surveys[{i}]") for i, s in enumerate(raw_surveys)]
    for i, s in enumerate(parsed):
        if not s.key:
            raise ValidationFailed(f"surveys[{i}].key: required", field=f"surveys[{i}].key")
    rules = None
    if "rules" in doc:
        rules = parse(RuleSetIn, {"rules": doc["rules"]})
    pol = None
    if "policies" in doc:
        pol = parse(PoliciesDoc, doc["policies"], prefix="policies")
    return rules, parsed, pol


def import_document(session: Session, doc: Any, *, by: str, now: datetime,
                    settings: Settings) -> dict[str, Any]:
    """Apply `doc`; returns what changed. The caller's transaction makes it all-or-nothing."""
    rules, parsed, pol = parse_document(doc)
    report: dict[str, Any] = {"surveys_created": [], "surveys_versioned": [],
                              "surveys_unchanged": [], "rules": "unchanged",
                              "policies": "unchanged"}
    known = {s.key: s for s in surveys.list_surveys(session)}
    for body in parsed:
        existing = known.get(body.key)  # type: ignore[arg-type]
        if existing is None:
            surveys.create(session, body, by=by, now=now)
            report["surveys_created"].append(body.key)
            continue
        current = surveys.content_of(session, existing.id, existing.version)  # type: ignore[arg-type]
        if current == body.content() and (existing.name or None) == body.name:
            report["surveys_unchanged"].append(body.key)
            continue
        surveys.save_version(session, existing, body.model_copy(update={"base_version": None}),
                             by=by, now=now)
        report["surveys_versioned"].append(body.key)
    if rules is not None:
        cur = service.rule_set(session, settings)
        if [r.model_dump() for r in cur.rules] != [r.model_dump() for r in rules.rules] or not cur.version:
            saved = service.save_rules(session, rules.model_copy(update={"note": "imported"}),
                                       by=by, now=now, settings=settings)
            report["rules"] = f"version {saved.version}"
    if pol is not None:
        cur_pol = policies.current(session, settings)
        # Saved even when equal to this database's seed: another deployment's settings differ.
        if (cur_pol.doc.model_dump(mode="json") != pol.model_dump(
                mode="json", exclude={"base_version", "note"}) or not cur_pol.version):
            saved_pol = policies.save(session, pol.model_copy(update={
                "base_version": None, "note": "imported"}), by=by, now=now, settings=settings)
            report["policies"] = f"version {saved_pol.version}"
    return report
