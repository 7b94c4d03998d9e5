"""Answers to a survey's extra questions (yes/no, a choice, a short text), and their summary
by question for reports. Stored one row per question (`response_answer`), with the survey
version they were asked in; question ids are stable across versions, so a report splits by
question whatever wording each customer saw."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from feedback.configuration.surveys import content_of
from feedback.settings import Settings
from surveys.content import check_answer
from surveys.models import Invitation, Response, ResponseAnswer, SurveyDefinition
from surveys.redaction import redact
from surveys.sql import insert_ignore

_A = ResponseAnswer.__table__  # type: ignore[attr-defined]
_R = Response.__table__  # type: ignore[attr-defined]


def record_extra_answers(session: Session, invitation: Invitation, response: Response,
                         form: dict[str, str], *, now: datetime, settings: Settings) -> int:
    """Store the answers the form carries (`q_<id>`); unknown or empty ones are ignored (every
    extra question is optional). A short text is redacted like a comment."""
    content = content_of(session, invitation.survey_id, invitation.survey_version)
    rows = []
    for q in (content or {}).get("extra") or []:
        value = check_answer(q, form.get(f"q_{q['id']}", ""))
        if value is None:
            continue
        if q["type"] == "text":
            value = redact(value, settings.redactor) or ""
            if not value:
                continue
        rows.append({"response_id": response.id, "survey_id": invitation.survey_id,
                     "survey_version": invitation.survey_version, "question_id": q["id"],
                     "question_type": q["type"],
                     "value": value, "submitted_at": now})
    if not rows:
        return 0
    return insert_ignore(session, _A, rows, ["response_id", "question_id"])


def summary(session: Session, survey: SurveyDefinition,
            where: Sequence[sa.ColumnElement[bool]] = ()) -> list[dict[str, Any]]:
    """Per extra question of the survey's current version: each answer's count, its share of
    the question's answers (%) and the mean score of the customers who gave it (short texts:
    the count and the latest few). `where`: conditions on the response (period, team …)."""
    content = content_of(session, survey.id, survey.version) or {}  # type: ignore[arg-type]
    out = []
    for q in content.get("extra") or []:
        rows = session.execute(
            sa.select(_A.c.value, sa.func.count(), sa.func.avg(_R.c.score))
            .join(_R, _R.c.id == _A.c.response_id)
            .where(_A.c.survey_id == survey.id, _A.c.question_id == q["id"], *where)
            .group_by(_A.c.value).order_by(sa.func.count().desc(), _A.c.value)).all()
        total = sum(n for _, n, _ in rows)
        labels = {o["id"]: (o.get("label") or {}).get("en") or o["id"] for o in q.get("options") or []}
        if q["type"] == "yes_no":
            labels = {"yes": "Yes", "no": "No"}
        answers = [{"value": v, "label": labels.get(v, v), "count": n,
                    "share": round(100 * n / total, 1),
                    "mean_score": round(float(m), 2) if m is not None else None}
                   for v, n, m in rows]
        if q["type"] in ("choice", "yes_no"):  # every option, answered or not
            given = {a["value"] for a in answers}
            answers += [{"value": o, "label": lab, "count": 0, "share": 0.0, "mean_score": None}
                        for o, lab in labels.items() if o not in given]
        if q["type"] == "text":
            answers = [{"count": sum(a["count"] for a in answers),
                        "latest": [a["value"] for a in answers[:10]]}]
        out.append({"id": q["id"], "type": q["type"],
                    "text": (q.get("text") or {}).get("en") or next(iter((q.get("text") or {}).values()), q["id"]),
                    "answers": answers, "total": total})
    return out
