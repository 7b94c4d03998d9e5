"""Answers to surveys' extra questions, split by question, for the reports: the same period
and filters as the rest of the report (a lead's team scope included), one chosen survey."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from feedback.configuration import answers
from feedback.configuration import surveys as survey_service
from feedback.reports.figures import Filters
from surveys.models import Response, ResponseAnswer, SurveyDefinition

_R = Response.__table__  # type: ignore[attr-defined]
_A = ResponseAnswer.__table__  # type: ignore[attr-defined]


def surveys_with_answers(session: Session) -> list[str]:
    """Keys of the surveys some extra question was answered in (what the report can split)."""
    rows = session.execute(sa.select(SurveyDefinition.key).where(  # type: ignore[call-overload]
        SurveyDefinition.id.in_(sa.select(_A.c.survey_id).distinct()))  # type: ignore[union-attr]
        .order_by(SurveyDefinition.key)).all()
    return [k for (k,) in rows]


def report(session: Session, f: Filters, key: str | None) -> dict[str, Any]:
    """`key` None: the first survey with answers (none: an empty report)."""
    keys = surveys_with_answers(session)
    if key is None:
        key = keys[0] if keys else None
    out: dict[str, Any] = {"survey": key, "surveys": keys, "questions": []}
    if key is None:
        return out
    survey = session.exec(select(SurveyDefinition).where(SurveyDefinition.key == key)).first()
    if survey is None:
        survey = survey_service.by_key(session, key)  # raises the 404 naming the survey
    out["questions"] = answers.summary(session, survey, f.where(_R.c, _R.c.submitted_at))
    return out
