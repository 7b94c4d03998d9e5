"""A customer's SMS reply, from the raw message to the recorded answer and our reply text.

The conversation is short and kept in the database (`sms_conversation`, one row per phone):
  survey SMS ──► "9 great agent"  → answer + comment recorded, "Thank you!"
             ──► "9"              → answer recorded, follow-up question; the next SMS is the comment
             ──► "eleven?" / "11" → one clarifying SMS; a second unreadable reply is stored, and
                                    answered with the survey link — never a third question.
When the survey carries yes/no or choice questions ("Was your issue resolved?"), the score is
followed by one SMS per question before the "why?" (`inbound.questions`); an answer it cannot
read gets the same one clarifying SMS, then the link.
Keywords (STOP, START, HELP, …) win over everything. With no survey open, a message from a
customer with a recovery task (open, or resolved within 14 days) goes to that task's timeline
and its owner, and the customer is told it arrived. Answers go through
`feedback.responses.record_response`, exactly like the web page, so a detractor's SMS opens a
recovery task the same way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from feedback import i18n
from feedback.configuration import policies, repository
from feedback.inbound import questions
from feedback.inbound.models import Awaiting, InboundSms, Outcome, SmsConversation
from feedback.recovery.service import customer_reply
from feedback.responses import record_comment, record_response
from feedback.settings import Settings
from feedback.web.survey import survey_texts
from outreach import optouts
from outreach.models import ContactEvent
from outreach.policy import Reason
from outreach.sms_parse import ParsedReply, parse_reply
from surveys.errors import Conflict, Gone
from surveys.models import (
    OPEN_STATUSES,
    Customer,
    Interaction,
    Invitation,
    InvitationChannel,
    Response,
    ResponseSource,
    SurveyDefinition,
)
from surveys.redaction import redact
from surveys.service import MAX_COMMENT, hold, response_for
from surveys.sql import built_once
from surveys.types import UTCDateTime

log = logging.getLogger(__name__)
_SMS = InboundSms.__table__  # type: ignore[attr-defined]
_INVITATION = Invitation.__table__  # type: ignore[attr-defined]
_CUSTOMER = Customer.__table__  # type: ignore[attr-defined]

# Without a survey to give the scale, keywords are still recognised; the scale is irrelevant.
_ANY_SCALE = (0, 10)


@dataclass(frozen=True, slots=True)
class InboundMessage:
    message_sid: str
    from_number: str
    body: str
    to_number: str | None = None


@dataclass(frozen=True, slots=True)
class Handled:
    reply: str | None  # the SMS text to answer with; None: answer nothing
    outcome: str
    duplicate: bool = False


def handle_inbound_sms(session: Session, message: InboundMessage, *, now: datetime,
                       settings: Settings) -> Handled:
    """Store the message (once per MessageSid) and act on it. The caller owns the transaction."""
    phone = message.from_number.strip()
    row_id, duplicate = _store(session, message, phone, now, settings)
    if duplicate is not None:
        return Handled(duplicate.reply, duplicate.outcome or "", duplicate=True)
    conversation, invitation, opted_out = _read(session, phone, now)
    customers = [] if invitation else list(
        session.exec(select(Customer).where(Customer.phone == phone)).all())
    survey = session.get(SurveyDefinition, invitation.survey_id) if invitation else None
    low, high = (survey.scale_min, survey.scale_max) if survey else _ANY_SCALE
    parsed = parse_reply(message.body, low, high)
    locale = _locale(invitation, customers, settings)
    # Several customer records may share a phone: the one we surveyed is the sender.
    customer_id = (invitation.customer_id if invitation
                   else customers[0].id if customers else None)

    outcome, reply = _act(session, parsed, message.body, phone=phone, customer_id=customer_id,
                          customer_ids=[c.id for c in customers if c.id is not None],
                          message_sid=message.message_sid, invitation=invitation, conversation=conversation, locale=locale,
                          scale=(low, high), opted_out=opted_out, now=now, settings=settings)
    # Set last, so the stored message is updated once.
    session.execute(built_once(session, "inbound_sms_outcome", _outcome_statement), {
        "row_id": row_id, "set_invitation_id": invitation.id if invitation else None,
        "set_customer_id": customer_id, "set_outcome": outcome, "set_reply": reply})
    return Handled(reply, outcome)


def _act(session: Session, parsed: ParsedReply, body: str, *, phone: str, customer_id: int | None,
         customer_ids: list[int], message_sid: str,
         invitation: Invitation | None, conversation: SmsConversation | None, locale: str,
         scale: tuple[int, int], opted_out: bool, now: datetime,
         settings: Settings) -> tuple[str, str | None]:
    """`opted_out`: the phone's SMS opt-out as `_read` read it."""
    # The name customers know us by is the policy's branding (editable, no restart).
    company = policies.current(session, settings).doc.branding.company_name

    def say(key: str, **params: object) -> str:
        return i18n.t(locale, key, company=company, **params)

    if parsed.kind == "opt_out":
        optouts.record(session, "sms", phone, source="sms", now=now, customer_id=customer_id,
                       note=f"replied {parsed.keyword}")
        _end_surveys(session, phone, now)
        _forget(session, conversation)
        # Twilio also blocks the number on its standard keywords (and may send its own
        # confirmation); ours covers the local keywords (TD, لغو) Twilio does not know.
        return Outcome.OPT_OUT, say("sms.stopped")
    if parsed.kind == "opt_in":
        optouts.remove(session, "sms", phone)
        return Outcome.OPT_IN, say("sms.started")
    if parsed.kind == "help":
        return Outcome.HELP, say("sms.help", url=settings.public_url)
    if opted_out:
        # They said STOP: keep what they wrote (staff can read it), but text them nothing more.
        return Outcome.IGNORED_OPTED_OUT, None
    if invitation is None:
        task = customer_reply(session, customer_ids, body, via="sms", ref=message_sid, now=now,
                              settings=settings)
        if task is not None:
            return Outcome.TASK_REPLY, say("sms.reply_received")
        return Outcome.NO_SURVEY, say("sms.no_survey")

    def next_step(response: Response) -> str:
        """After an answer: the next extra question, else "why?" unless they said it already,
        else thanks."""
        question = questions.next_question(session, invitation, response, locale)
        if question is not None:
            _expect(session, phone, invitation, Awaiting.QUESTION, now, settings)
            return questions.ask(question, locale)
        if not response.comment:
            _expect(session, phone, invitation, Awaiting.COMMENT, now, settings)
            follow_up = survey_texts(session, invitation, locale, company)["follow_up"]
            return say("sms.follow_up", follow_up=follow_up)
        _forget(session, conversation)
        return say("sms.thanks")

    try:
        pending = conversation is not None and conversation.awaiting in (
            Awaiting.QUESTION, Awaiting.QUESTION_AGAIN)
        response = response_for(session, invitation) if pending else None
        if conversation is not None and response is not None:
            question = questions.next_question(session, invitation, response, locale)
            value = questions.parse(question, body) if question is not None else None
            if question is None or value is not None:
                if value is not None:
                    questions.record(session, invitation, response, question,  # type: ignore[arg-type]
                                     value, now=now, settings=settings)
                return Outcome.ANSWER, next_step(response)
            if conversation.awaiting == Awaiting.QUESTION:
                _expect(session, phone, invitation, Awaiting.QUESTION_AGAIN, now, settings)
                return Outcome.CLARIFY, questions.clarify(question, locale)
            _forget(session, conversation)  # asked twice already: do not loop
            return Outcome.UNPARSED, say("sms.unparsed", url=_survey_url(settings, invitation))
        if conversation is not None and conversation.awaiting == Awaiting.COMMENT:
            # The whole reply is the "why?", even when it starts with a number ("10 because…").
            record_comment(session, invitation, _fit(body), now=now, settings=settings)
            _forget(session, conversation)
            return Outcome.COMMENT, say("sms.thanks")
        if parsed.kind == "score":
            response = record_response(session, invitation, score=parsed.score,
                                       comment=_fit(parsed.comment), source=ResponseSource.SMS,
                                       now=now, settings=settings)
            return Outcome.SCORE, next_step(response)
    except (Conflict, Gone) as exc:
        # Answered meanwhile on the web page, or closed: say so rather than ask again.
        log.info("SMS for invitation %s not recorded: %s", invitation.id, exc.code)
        _forget(session, conversation)
        if isinstance(exc, Gone):
            return Outcome.NO_SURVEY, say("sms.no_survey")
        return Outcome.ALREADY_ANSWERED, say("sms.already_answered")

    if conversation is not None and conversation.awaiting == Awaiting.SCORE:
        _forget(session, conversation)  # asked once already: do not loop
        return Outcome.UNPARSED, say("sms.unparsed", url=_survey_url(settings, invitation))
    _expect(session, phone, invitation, Awaiting.SCORE, now, settings)
    return Outcome.CLARIFY, say("sms.clarify", low=scale[0], high=scale[1])


def _end_surveys(session: Session, phone: str, now: datetime) -> None:
    """STOP ends the surveys in flight on every channel: their reminders are dropped here (and
    dispatch never re-routes a reminder to a channel the survey was not sent on), each with a
    contact-log line naming the rule. The link stays valid if the customer wants to answer."""
    ids = [c for c in session.exec(select(Customer.id).where(Customer.phone == phone)).all()]
    if not ids:
        return
    pending = session.exec(select(Invitation).where(
        Invitation.customer_id.in_(ids),  # type: ignore[union-attr]
        Invitation.remind_at.is_not(None))).all()  # type: ignore[union-attr]
    for inv in pending:
        inv.remind_at = None
        session.add(inv)
        session.add(ContactEvent(
            invitation_id=inv.id, customer_id=inv.customer_id, at=now, kind="reminder",
            action="skip", reason=Reason.OPTED_OUT.value, channel=inv.channel,
            detail=f"{Reason.OPTED_OUT.explanation} Rule: an SMS STOP ends this survey on every "
                   "channel (no reminder by email either) and all SMS."))


def _fit(comment: str | None) -> str | None:
    """Twilio joins long SMS up to 1600 characters, well under the comment limit; a longer
    body (not from Twilio) is cut rather than refused, and kept whole in `inbound_sms`."""
    return comment[:MAX_COMMENT] if comment else comment


def _store(session: Session, message: InboundMessage, phone: str, now: datetime,
           settings: Settings) -> tuple[int | None, InboundSms | None]:
    """Insert the message, or find the one already stored under its MessageSid: (the new
    row's id, None) or (None, the stored row). A new one also takes its phone's turn
    (`_one_at_a_time`).

    `INSERT … ON CONFLICT (message_sid) DO NOTHING RETURNING` decides in one statement (the
    common case, a new message, asks nothing else). On PostgreSQL a concurrent duplicate's
    insert waits on the unique index until the first transaction commits and then inserts
    nothing; the row it then reads carries the first one's reply. The insert is Core and
    returns the id only: the row is updated once at the end (`_outcome_statement`), and an
    ORM object of it would cost its bulk-insert machinery for nothing.
    """
    stmt = built_once(session, "inbound_sms", lambda insert: (
        insert(_SMS).on_conflict_do_nothing(index_elements=["message_sid"])
        .returning(_SMS.c.id, *_one_at_a_time(session))))
    inserted = session.execute(stmt, {
        "message_sid": message.message_sid, "from_number": phone,
        "to_number": message.to_number, "received_at": now,
        # The log keeps what the customer wrote minus personal data, like a comment.
        "body": redact(message.body, settings.redactor)}).first()
    if inserted is not None:
        return inserted[0], None
    existing = _by_sid(session, message.message_sid)
    if existing is None:  # pragma: no cover - the conflicting row was committed before we read
        raise RuntimeError(f"inbound SMS {message.message_sid} conflicted but cannot be read")
    return None, existing


def _outcome_statement(_insert: Any) -> Any:
    # (A column's own name is reserved for SET's automatic parameters: hence `set_…`.)
    return sa.update(_SMS).where(_SMS.c.id == sa.bindparam("row_id")).values(
        {name: sa.bindparam(f"set_{name}") for name in ("invitation_id", "customer_id",
                                                        "outcome", "reply")})


def _one_at_a_time(session: Session) -> list[Any]:
    """Messages from one phone are handled one after the other: "9" and "great agent" sent as
    two quick SMS must see each other (the second is the comment the first one asked for).
    PostgreSQL: a transaction-scoped advisory lock per number, taken by the message's insert
    (a RETURNING column over the row's `from_number`: evaluated only for a row inserted, so a
    duplicate takes none) and so before the conversation is read — by a later statement,
    whose snapshot sees what the lock's previous holder committed. SQLite has one writer and
    the message was already inserted, so it is serial anyway."""
    if session.get_bind().dialect.name != "postgresql":
        return []
    key = sa.literal("inbound-sms:", sa.Text) + _SMS.c.from_number
    return [sa.func.pg_advisory_xact_lock(sa.func.hashtext(key))]


def _by_sid(session: Session, sid: str) -> InboundSms | None:
    return session.exec(select(InboundSms).where(InboundSms.message_sid == sid)).first()


def _read(session: Session, phone: str, now: datetime
          ) -> tuple[SmsConversation | None, Invitation | None, bool]:
    """The phone's conversation; its invitation, else the newest open SMS survey of any
    customer record with this phone, with the survey, customer and interaction (`session.get`
    finds them afterwards); and the phone's SMS opt-out. ONE look-up, which also carries the
    configuration's stamp: each was a round trip of its own, and the statement is built once
    (`_read_statement`) — building it afresh per message cost more CPU than running it."""
    row = session.execute(built_once(session, "inbound_sms_read", _read_statement), {
        "phone": phone, "now": now, "opt_out_address": optouts.canonical(phone)}).one()
    hold(session, row)
    conversation, invitation, _survey, _customer, _interaction, stamp, opted_out = row
    repository.carried_stamp(session, stamp)
    return conversation, invitation, bool(opted_out)


def _read_statement(_insert: Any) -> Any:
    phone = sa.bindparam("phone", type_=sa.String)
    now = sa.bindparam("now", type_=UTCDateTime())
    inv, customer = _INVITATION.alias("open_invitation"), _CUSTOMER.alias("open_customer")
    # Read only when there is no conversation (COALESCE): a reply to what we asked belongs
    # to the survey that asked it, open or not.
    latest_open = (
        sa.select(inv.c.id).join(customer, customer.c.id == inv.c.customer_id)
        .where(customer.c.phone == phone, inv.c.channel == InvitationChannel.SMS.value,
               # Literals, not a list: no expanding parameter to render at each execution.
               inv.c.status.in_([sa.literal(s.value) for s in sorted(OPEN_STATUSES)]),
               inv.c.expires_at > now)
        .order_by(inv.c.send_at.desc(), inv.c.id.desc()).limit(1)
        .correlate(None).scalar_subquery())
    one = sa.select(sa.literal(1).label("one")).subquery("one")  # the row the joins hang on
    invitation_id = col(Invitation.id)
    return (
        sa.select(SmsConversation, Invitation, SurveyDefinition, Customer, Interaction,
                  repository.stamp_column(),
                  optouts.opted_out_column("sms", sa.bindparam("opt_out_address", type_=sa.String)))
        .select_from(one)
        .outerjoin(SmsConversation, sa.and_(col(SmsConversation.phone) == phone,
                                            col(SmsConversation.expires_at) > now))
        .outerjoin(Invitation, invitation_id == sa.func.coalesce(
            col(SmsConversation.invitation_id), latest_open))
        .outerjoin(SurveyDefinition, col(SurveyDefinition.id) == col(Invitation.survey_id))
        .outerjoin(Customer, col(Customer.id) == col(Invitation.customer_id))
        .outerjoin(Interaction, col(Interaction.id) == col(Invitation.interaction_id)))


def _expect(session: Session, phone: str, invitation: Invitation, awaiting: Awaiting,
            now: datetime, settings: Settings) -> None:
    """Remember what we just asked this phone (one row per phone, replaced each time)."""
    # One statement whether the phone has a row or not; the unique phone settles a race.
    session.execute(built_once(session, "sms_conversation", _expect_statement), {
        "phone": phone, "invitation_id": invitation.id, "awaiting": awaiting.value,
        "updated_at": now, "expires_at": now + timedelta(hours=settings.sms_conversation_hours)})


def _expect_statement(insert: Any) -> Any:
    stmt = insert(SmsConversation.__table__)  # type: ignore[attr-defined]
    return stmt.on_conflict_do_update(index_elements=["phone"], set_={
        name: stmt.excluded[name] for name in ("invitation_id", "awaiting", "expires_at",
                                               "updated_at")})


def _forget(session: Session, conversation: SmsConversation | None) -> None:
    if conversation is not None:
        session.delete(conversation)


def _locale(invitation: Invitation | None, customers: list[Customer], settings: Settings) -> str:
    tag = invitation.locale if invitation else (customers[0].locale if customers else None)
    return i18n.resolve(tag or settings.default_locale)


def _survey_url(settings: Settings, invitation: Invitation) -> str:
    return f"{settings.public_url}/s/{invitation.token}"
