"""The survey editor's rules: surveys are created and edited here, each edit a new version.

A `survey_definition` row is the survey (its key is what rules name); `survey_version` rows are
its wordings, never changed once written. `survey_definition.version` points at the current
one and moves by a conditional UPDATE (`WHERE version = base`), so of two editors saving at
once one wins and the other is told (409) instead of silently overwriting. An invitation
records the version it was scheduled with; the page, e-mail and SMS word it from that version.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from feedback.configuration.schemas import SurveyIn
from surveys import content as sc
from surveys.errors import Conflict, NotFound, ValidationFailed
from surveys.models import SurveyDefinition, SurveyVersion
from surveys.scoring import SCALES, SurveyKind
from surveys.sql import insert_ignore

_D = SurveyDefinition.__table__  # type: ignore[attr-defined]
_SV = SurveyVersion.__table__  # type: ignore[attr-defined]
BUILTIN = Path(__file__).with_name("builtin_surveys.json")


def by_key(session: Session, key: str) -> SurveyDefinition:
    survey = session.exec(select(SurveyDefinition).where(SurveyDefinition.key == key)).first()
    if survey is None:
        raise NotFound(f"no survey {key!r}", code="unknown_survey")
    return survey


def content_of(session: Session, survey_id: int, version: int | None) -> dict[str, Any] | None:
    if not version:
        return None
    row = session.get(SurveyVersion, (survey_id, version))
    return row.content if row is not None else None


def survey_json(session: Session, survey: SurveyDefinition, *, history: bool = False) -> dict[str, Any]:
    content = content_of(session, survey.id, survey.version) or {"texts": {}, "extra": []}  # type: ignore[arg-type]
    out: dict[str, Any] = {
        "key": survey.key, "name": survey.name, "kind": survey.kind, "version": survey.version,
        "scale": [survey.scale_min, survey.scale_max], "active": survey.active,
        "texts": content.get("texts", {}), "extra": content.get("extra", []),
        "missing_translations": sc.missing_translations(content)}
    if history:
        rows = session.exec(select(SurveyVersion).where(SurveyVersion.survey_id == survey.id)
                            .order_by(SurveyVersion.version.desc())).all()  # type: ignore[union-attr]
        out["versions"] = [{"version": r.version, "created_by": r.created_by,
                            "created_at": r.created_at.isoformat()} for r in rows]
    return out


def list_surveys(session: Session) -> list[SurveyDefinition]:
    return list(session.exec(select(SurveyDefinition).order_by(SurveyDefinition.key)).all())


def create(session: Session, body: SurveyIn, *, by: str, now: datetime) -> SurveyDefinition:
    if not body.key:
        raise ValidationFailed("key: a new survey needs a key (a-z, 0-9, - and _)", field="key")
    scale = SCALES[SurveyKind(body.kind)]
    went_in = insert_ignore(session, _D, {
        "key": body.key, "kind": body.kind, "scale_min": scale.low, "scale_max": scale.high,
        "questions": {}, "active": True, "created_at": now, "version": 0, "name": body.name},
        ["key"])
    if not went_in:
        raise Conflict(f"a survey {body.key!r} exists already; edit it with PUT /api/surveys/{body.key}",
                       field="key", code="survey_exists")
    survey = by_key(session, body.key)
    return save_version(session, survey, body.model_copy(update={"base_version": 0}), by=by, now=now)


def save_version(session: Session, survey: SurveyDefinition, body: SurveyIn, *, by: str,
                 now: datetime) -> SurveyDefinition:
    if body.kind != survey.kind:
        raise ValidationFailed(f"kind: survey {survey.key!r} is {survey.kind}; a new kind is a "
                               "new survey (scores on another scale cannot be compared)",
                               field="kind")
    base = survey.version if body.base_version is None else body.base_version
    moved = session.execute(sa.update(_D).where(_D.c.id == survey.id, _D.c.version == base)
                            .values(version=base + 1, name=body.name or survey.name)).rowcount
    if moved != 1:
        raise Conflict(f"survey {survey.key!r} changed since version {base}; reload and edit again",
                       field="base_version", code="survey_changed")
    session.execute(sa.insert(_SV).values(survey_id=survey.id, version=base + 1,
                                          content=body.content(), created_by=by[:200],
                                          created_at=now))
    from feedback.auth import audit

    audit.record(session, now, actor=by, action="config.survey", target=f"{survey.key} v{base + 1}",
                 detail={"missing_translations": sc.missing_translations(body.content())})
    from feedback.configuration import repository

    repository.bump(session)
    session.expire(survey)
    return survey


def ensure_builtin(session: Session, key: str, *, now: datetime) -> SurveyDefinition:
    """A survey the product ships (the recovery follow-ups), created on first use from
    builtin_surveys.json; afterwards it is an ordinary survey that admins edit."""
    survey = session.exec(select(SurveyDefinition).where(SurveyDefinition.key == key)).first()
    if survey is not None:
        return survey
    spec = json.loads(BUILTIN.read_text(encoding="utf-8"))[key]
    try:
        with session.begin_nested():
            return create(session, SurveyIn.model_validate({"key": key, **spec}),
                          by="product (built-in)", now=now)
    except Conflict:  # created by a concurrent transaction a moment ago
        return by_key(session, key)
