"""A survey's extra questions by SMS: after the score, the conversation asks each yes/no and
choice question of the survey version the customer was sent, one SMS each, in their language.

A yes/no question is answered 1 / 2 (as the prompt says), or yes / no / y / n, 是 / 否,
بله / خیر (and a few everyday variants); a choice question by the option's number or its
exact label. Anything else is not guessed at: the conversation asks once more, then stops.
Short-text questions are not asked by SMS: the "why?" follow-up already takes the customer's
own words, and a second open prompt in a row reads as the same question asked twice (the
survey page still asks them).

Which question comes next is not stored: it is the first askable question without an answer,
so the conversation row only says *that* a question is pending (`Awaiting.QUESTION`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from feedback import i18n
from feedback.configuration.answers import record_extra_answers
from feedback.configuration.surveys import content_of
from feedback.operations.models import RESOLVED_QUESTION
from feedback.operations.rollups import mark_dirty
from feedback.settings import Settings
from outreach.sms_parse import normalize
from surveys.content import extra_questions
from surveys.models import Interaction, Invitation, Response, ResponseAnswer

SMS_TYPES = ("yes_no", "choice")

# Compared after `normalize` (full-width and Persian/Arabic digits → ASCII, Arabic yeh → Persian)
# and upper-casing, with punctuation and spaces trimmed at both ends.
YES = frozenset({"1", "YES", "Y", "YEAH", "YEP", "YUP", "是", "是的", "对", "对的", "解决了",
                 "بله", "بلی", "آره", "اره"})
NO = frozenset({"2", "NO", "N", "NOPE", "否", "不是", "不", "没有", "没解决", "未解决",
                "خیر", "نه", "نخیر"})


def askable(session: Session, invitation: Invitation, locale: str) -> list[dict[str, Any]]:
    """The extra questions SMS can ask, worded for `locale`."""
    content = content_of(session, invitation.survey_id, invitation.survey_version)
    return [q for q in extra_questions(content, locale) if q["type"] in SMS_TYPES]


def next_question(session: Session, invitation: Invitation, response: Response,
                  locale: str) -> dict[str, Any] | None:
    questions = askable(session, invitation, locale)
    if not questions:
        return None
    answered = set(session.exec(select(ResponseAnswer.question_id).where(
        ResponseAnswer.response_id == response.id)).all())
    return next((q for q in questions if q["id"] not in answered), None)


def _core(body: str) -> str:
    text = normalize(body)[0].strip()
    edges = "-–—:;,.!?~)(*\"'،؛؟，。！？：；、（）…"
    return text.strip(edges + " \t\r\n").upper()


def parse(question: dict[str, Any], body: str) -> str | None:
    """The stored value of an SMS answer to `question` ("yes"/"no", an option id), or None."""
    core = _core(body)
    if question["type"] == "yes_no":
        return "yes" if core in YES else "no" if core in NO else None
    options = question["options"]
    if core.isdigit() and 1 <= int(core) <= len(options):
        return str(options[int(core) - 1]["id"])
    for o in options:
        if core in (str(o["label"]).upper(), str(o["id"]).upper()):
            return str(o["id"])
    return None


def ask(question: dict[str, Any], locale: str) -> str:
    if question["type"] == "yes_no":
        return i18n.t(locale, "sms.ask_yes_no", question=question["sms_text"])
    sep = i18n.t(locale, "sms.choice_sep")
    options = sep.join(f"{i} {o['label']}" for i, o in enumerate(question["options"], 1))
    return i18n.t(locale, "sms.ask_choice", question=question["sms_text"], options=options)


def clarify(question: dict[str, Any], locale: str) -> str:
    if question["type"] == "yes_no":
        return i18n.t(locale, "sms.clarify_yes_no")
    return i18n.t(locale, "sms.clarify_choice", high=len(question["options"]))


def record(session: Session, invitation: Invitation, response: Response,
           question: dict[str, Any], value: str, *, now: datetime, settings: Settings) -> None:
    """Store the answer as the page would (one `response_answer` row, stored once)."""
    record_extra_answers(session, invitation, response, {f"q_{question['id']}": value},
                         now=now, settings=settings)
    if question["id"] == RESOLVED_QUESTION and response.interaction_id is not None:
        # Customer-reported FCR of a contact whose day may be rolled up already; the page
        # answers in the response's own transaction, an SMS answer comes later.
        contact = session.get(Interaction, response.interaction_id)
        mark_dirty(session, contact.occurred_at if contact else None)
