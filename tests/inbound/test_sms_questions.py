"""A survey's extra yes/no and choice questions by SMS (signed webhook requests, both engines):
asked after the score in the customer's language, answered 1/2, yes/no, 是/否, بله/خیر, stored
as the question's answer, one clarifying SMS at most, and the "resolved?" answer is the
operations report's customer-reported FCR."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from feedback.configuration.schemas import SurveyIn
from feedback.configuration.surveys import save_version
from feedback.inbound import questions
from feedback.inbound.models import InboundSms, Outcome, SmsConversation
from surveys.models import Invitation, Response, ResponseAnswer, SurveyDefinition

RESOLVED = {"id": "resolved", "type": "yes_no",
            "text": {"en": "Was your issue resolved?", "zh-CN": "您的问题解决了吗？",
                     "fa": "آیا مشکل شما حل شد؟"}}
TOPIC = {"id": "topic", "type": "choice", "text": {"en": "What was it about?"},
         "options": [{"id": "invoice", "label": {"en": "An invoice"}},
                     {"id": "refund", "label": {"en": "A refund"}}]}
NOTE = {"id": "note", "type": "text", "text": {"en": "Anything else?"}}


def _message(r: Any) -> str:
    assert r.status_code == 200, r.text
    found = re.findall(r"<Message>(.*?)</Message>", r.text, re.S)
    return found[0] if found else ""


def _ask(session: Session, inv: Invitation, clock: Any, *extra: dict[str, Any]) -> Invitation:
    """Give the invitation a survey version that carries these extra questions."""
    survey = session.get(SurveyDefinition, inv.survey_id)
    assert survey is not None
    save_version(session, survey, SurveyIn.model_validate({"kind": survey.kind, "extra": extra}),
                 by="test", now=clock.now)
    session.refresh(survey)
    inv.survey_version = survey.version
    session.add(inv)
    session.commit()
    return inv


def _answers(session: Session, inv: Invitation) -> dict[str, str]:
    session.expire_all()
    response = session.exec(select(Response).where(Response.invitation_id == inv.id)).one()
    rows = session.exec(select(ResponseAnswer).where(ResponseAnswer.response_id == response.id))
    return {a.question_id: a.value for a in rows}


def test_questions_follow_the_score_then_why(sms, sent_invitation, session, clock):  # type: ignore[no-untyped-def]
    inv = _ask(session, sent_invitation(), clock, RESOLVED, TOPIC, NOTE)
    assert _message(sms("9")) == (
        "Thank you! Was your issue resolved? Reply 1 for yes or 2 for no.")
    assert _message(sms("Y")) == (
        "Thank you! What was it about? Reply with a number: 1 An invoice, 2 A refund.")
    # The short-text question is not asked by SMS: the "why?" comes next.
    assert _message(sms("2")) == (
        "Thank you! What is the main reason for your score? (Just reply to this message.)")
    assert _message(sms("Quick refund, thanks")) == "Thank you for your feedback!"
    assert _answers(session, inv) == {"resolved": "yes", "topic": "refund"}
    outcomes = [m.outcome for m in session.exec(select(InboundSms).order_by(InboundSms.id))]
    assert outcomes == [Outcome.SCORE, Outcome.ANSWER, Outcome.ANSWER, Outcome.COMMENT]
    assert session.exec(select(SmsConversation)).first() is None


@pytest.mark.parametrize(("locale", "score", "answer", "value", "prompt"), [
    ("zh-CN", "8 很好", "否", "no", "谢谢！您的问题解决了吗？ 是请回复 1，否请回复 2。"),
    ("fa", "۹ عالی", "بله", "yes", "سپاسگزاریم! آیا مشکل شما حل شد؟ برای «بله» ۱ و برای «خیر» ۲ را بفرستید."),
    ("fa", "۹ عالی", "۲", "no", "سپاسگزاریم! آیا مشکل شما حل شد؟ برای «بله» ۱ و برای «خیر» ۲ را بفرستید."),
])
def test_asked_and_answered_in_the_customers_language(  # type: ignore[no-untyped-def]
        sms, sent_invitation, session, clock, locale, score, answer, value, prompt):
    inv = _ask(session, sent_invitation(locale=locale), clock, RESOLVED)
    assert _message(sms(score)) == prompt
    thanks = {"zh-CN": "感谢您的反馈！", "fa": "از بازخورد شما سپاسگزاریم!"}[locale]
    assert _message(sms(answer)) == thanks  # the comment came with the score
    assert _answers(session, inv) == {"resolved": value}


@pytest.mark.parametrize(("reply", "value"), [
    ("1", "yes"), ("2", "no"), ("yes", "yes"), ("No.", "no"), ("y", "yes"), ("N", "no"),
    ("YES!", "yes"), ("是", "yes"), ("否", "no"), ("بله", "yes"), ("خیر", "no"),
    ("１", "yes"), ("۲", "no"), ("3", None), ("maybe", None), ("no idea", None),
    ("yes and no", None), ("", None)])
def test_yes_no_replies(reply, value):  # type: ignore[no-untyped-def]
    assert questions.parse({"type": "yes_no"}, reply) == value


def test_choice_replies():  # type: ignore[no-untyped-def]
    q = {"type": "choice", "options": [{"id": "invoice", "label": "An invoice"},
                                       {"id": "refund", "label": "A refund"}]}
    assert [questions.parse(q, r) for r in ("1", "۲", "a refund", "Invoice", "3", "0", "x")] == [
        "invoice", "refund", "refund", "invoice", None, None, None]


def test_an_unreadable_answer_is_asked_once_more_then_left(sms, sent_invitation, session, clock):  # type: ignore[no-untyped-def]
    inv = _ask(session, sent_invitation(), clock, RESOLVED)
    sms("3")
    assert _message(sms("maybe")) == (
        "Sorry, we didn't understand. Please reply 1 for yes or 2 for no.")
    assert _message(sms("not sure")).startswith("Thank you, we have saved your message.")
    assert _answers(session, inv) == {}
    assert session.exec(select(SmsConversation)).first() is None


def test_a_retried_answer_is_recorded_once(sms, sent_invitation, session, clock):  # type: ignore[no-untyped-def]
    inv = _ask(session, sent_invitation(), clock, RESOLVED)
    sms("10 great")
    first = _message(sms("1", sid="SM" + "7" * 32))
    assert first == _message(sms("1", sid="SM" + "7" * 32)) == "Thank you for your feedback!"
    assert _answers(session, inv) == {"resolved": "yes"}


def test_keywords_still_win_during_a_question(sms, sent_invitation, session, clock):  # type: ignore[no-untyped-def]
    inv = _ask(session, sent_invitation(), clock, RESOLVED)
    sms("5")
    assert "unsubscribed" in _message(sms("STOP"))
    assert _answers(session, inv) == {}


def test_a_survey_without_sms_questions_asks_why_as_before(sms, sent_invitation, session, clock):  # type: ignore[no-untyped-def]
    _ask(session, sent_invitation(), clock, NOTE)
    assert _message(sms("9")).startswith("Thank you! What is the main reason")


def test_the_sms_answer_is_customer_reported_fcr(  # type: ignore[no-untyped-def]
        sms, sent_invitation, session, clock, engine, settings):
    from feedback.operations import rollups, service
    from feedback.operations.models import DEFAULT_REPEAT_WINDOW
    from feedback.reports.figures import make_filters, report_zone

    inv = _ask(session, sent_invitation(), clock, RESOLVED)
    tz = report_zone(settings)
    later = clock.now + timedelta(days=2)
    sms("4")
    rollups.catch_up(engine, settings, later)  # the contact's day is rolled up, unanswered
    sms("2")  # "not resolved", after the rollup run

    def report(live: bool) -> dict[str, Any]:
        session.expire_all()
        f = make_filters(later, tz=tz, frm=(clock.now - timedelta(days=3)).date().isoformat())
        return service.report(session, f, later, grain="day", by="team",
                              window=DEFAULT_REPEAT_WINDOW, live=live)

    fcr = report(live=False)["fcr"]["customer"]
    assert (fcr["n"], fcr["value"]) == (1, 0.0)
    assert report(live=False) == report(live=True)
    rollups.refresh_job(engine, settings, later)
    assert report(live=False) == report(live=True)
    assert _answers(session, inv) == {"resolved": "no"}
