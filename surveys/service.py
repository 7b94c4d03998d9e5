"""Survey domain services: customers, interactions, invitations and answers.

Services take the session and `now`; they never commit (the caller owns the transaction) and
never send anything (dispatch reads the invitation rows later).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.session import make_transient_to_detached
from sqlmodel import Session, select

from surveys.errors import Conflict, Gone, NotFound, ValidationFailed
from surveys.models import (
    OPEN_STATUSES,
    Customer,
    Interaction,
    Invitation,
    InvitationStatus,
    Response,
    SurveyDefinition,
)
from surveys.redaction import Redactor, redact
from surveys.scoring import SCALES, SurveyKind, Thresholds, classify, validate_score
from surveys.sql import built_once, insert_ignore

MAX_COMMENT = 4000
_RESPONSE = Response.__table__  # type: ignore[attr-defined]
_INVITATION = Invitation.__table__  # type: ignore[attr-defined]


def new_token() -> str:
    """192 random bits, URL-safe: unguessable, and short enough for an SMS link."""
    return secrets.token_urlsafe(24)


def ensure_builtin_surveys(session: Session) -> dict[str, SurveyDefinition]:
    """One definition per kind, keyed by its kind; the questions come from the locale catalogs
    unless a deployment stores its own wording in `questions`."""
    existing = {s.key: s for s in session.exec(select(SurveyDefinition)).all()}
    for kind in SurveyKind:
        if kind.value not in existing:
            scale = SCALES[kind]
            survey = SurveyDefinition(
                key=kind.value, kind=kind.value, scale_min=scale.low, scale_max=scale.high
            )
            session.add(survey)
            existing[kind.value] = survey
    session.flush()
    return existing


def survey_by_key(session: Session, key: str) -> SurveyDefinition:
    # Cached for the transaction: a batch ingest asks for the same two or three surveys
    # thousands of times.
    cache = session.info.setdefault("surveys_by_key", {})
    if key not in cache:
        survey = session.exec(select(SurveyDefinition).where(SurveyDefinition.key == key)).first()
        if survey is None:
            raise ValidationFailed(f"unknown survey {key!r}", field="survey")
        cache[key] = survey
    return cache[key]


@dataclass
class CustomerData:
    external_id: str | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    locale: str | None = None
    time_zone: str | None = None
    tier: str | None = None


def upsert_customer(session: Session, data: CustomerData, now: datetime) -> Customer:
    """Find the customer by external id, else by phone, else by email; update what was given.

    With an external id the row is claimed by `INSERT … ON CONFLICT DO NOTHING` first, so two
    requests naming a new customer at once both end up with the one row (no unique-violation
    500 for the slower one)."""
    customer = None
    if data.external_id:
        insert_ignore(session, Customer.__table__,  # type: ignore[attr-defined]
                      {"external_id": data.external_id, "created_at": now, "updated_at": now},
                      ["external_id"])
        customer = session.exec(
            select(Customer).where(Customer.external_id == data.external_id)
        ).one()
    else:
        for column, value in ((Customer.phone, data.phone), (Customer.email, data.email)):
            if value and customer is None:
                customer = session.exec(
                    select(Customer).where(column == value, Customer.external_id.is_(None))  # type: ignore[union-attr]
                ).first()
    if customer is None:
        customer = Customer(external_id=data.external_id, created_at=now, updated_at=now)
        session.add(customer)
    for field in ("name", "email", "phone", "locale", "time_zone", "tier"):
        value = getattr(data, field)
        if value is not None and getattr(customer, field) != value:
            setattr(customer, field, value)
            customer.updated_at = now
    session.flush()
    return customer


@dataclass
class InteractionData:
    external_id: str
    channel: str
    occurred_at: datetime
    agent: str | None = None
    team: str | None = None
    queue: str | None = None
    meta: dict[str, Any] | None = None
    # Optional operational columns (offered_at, talk_seconds, …): only those sent are written.
    operations: dict[str, Any] | None = None


def upsert_interaction(
    session: Session, customer: Customer, data: InteractionData, now: datetime
) -> tuple[Interaction, bool]:
    """Idempotent on the external id: a retried webhook updates, never duplicates.

    The insert decides who was first (`ON CONFLICT DO NOTHING`): of two identical requests at
    once, one creates and the other updates. An external id already recorded for another
    customer is refused (409) — moving the interaction would orphan its survey."""
    created = insert_ignore(session, Interaction.__table__, {  # type: ignore[attr-defined]
        "external_id": data.external_id, "customer_id": customer.id, "channel": data.channel,
        "occurred_at": data.occurred_at, "metadata": data.meta or {}, "created_at": now,
        "updated_at": now}, ["external_id"]) == 1
    interaction = session.exec(
        select(Interaction).where(Interaction.external_id == data.external_id)
    ).one()
    if interaction.customer_id != customer.id:
        owner = session.get(Customer, interaction.customer_id)
        was = (owner.external_id if owner and owner.external_id else f"#{interaction.customer_id}")
        now_named = customer.external_id or f"#{customer.id}"
        raise Conflict(
            f"interaction {data.external_id} belongs to customer {was}; this request names "
            f"customer {now_named}: send it with the same customer, or use a new external_id",
            field="customer", code="customer_mismatch",
            extra={"interaction_customer": was, "requested_customer": now_named})
    for field in ("channel", "occurred_at", "agent", "team", "queue"):
        value = getattr(data, field)
        if value is not None:
            setattr(interaction, field, value)
    if data.meta is not None:
        interaction.meta = data.meta
    for field, value in (data.operations or {}).items():
        if value is not None:
            setattr(interaction, field, value)
    interaction.updated_at = now
    session.add(interaction)
    session.flush()
    return interaction, created


def invitation_for(
    session: Session, interaction_id: int, purpose: str = "survey"
) -> Invitation | None:
    return session.exec(
        select(Invitation).where(
            Invitation.interaction_id == interaction_id, Invitation.purpose == purpose
        )
    ).first()


def create_invitation(
    session: Session,
    *,
    customer: Customer,
    survey: SurveyDefinition,
    channel: str,
    send_at: datetime,
    expires_at: datetime,
    now: datetime,
    interaction: Interaction | None = None,
    locale: str = "en",
    purpose: str = "survey",
    status: str = InvitationStatus.SCHEDULED,
    status_reason: str | None = None,
    reminder: bool = True,
) -> Invitation:
    invitation = Invitation(
        token=new_token(),
        purpose=purpose,
        customer_id=customer.id,  # type: ignore[arg-type]
        interaction_id=interaction.id if interaction else None,
        survey_id=survey.id,  # type: ignore[arg-type]
        survey_version=survey.version or None,  # the wording it is sent with, kept for good
        channel=channel,
        locale=locale,
        status=status,
        status_reason=status_reason,
        reminder=reminder,
        send_at=send_at,
        expires_at=expires_at,
        created_at=now,
        updated_at=now,
    )
    session.add(invitation)
    session.flush()
    return invitation


def invitation_by_token(session: Session, token: str) -> Invitation:
    return invitation_by_token_carrying(session, token, ())[0]


def invitation_by_token_carrying(session: Session, token: str,
                                 also: Sequence[Any]) -> tuple[Invitation, tuple[Any, ...]]:
    """`invitation_by_token`, and the values of `also` from the same look-up (see
    `invitation_carrying`)."""
    # Tokens are url-safe base64; anything else cannot be one, so do not even query.
    if not token or len(token) > 64 or not all(c.isalnum() or c in "-_" for c in token):
        raise NotFound("survey not found", code="unknown_token")
    found = invitation_carrying(session, also, Invitation.token == token)
    if found is None:
        raise NotFound("survey not found", code="unknown_token")
    return found


def invitation_with_context(session: Session, *where: Any, order_by: Any = ()) -> Invitation | None:
    """The first invitation matching `where` (in `order_by` order), fetched in ONE look-up with
    everything an answer or the page needs: the survey, the customer and the interaction come
    with it, and `session.get` finds them afterwards without asking again."""
    found = invitation_carrying(session, (), *where, order_by=order_by)
    return found[0] if found is not None else None


def invitation_carrying(session: Session, also: Sequence[Any], *where: Any,
                        order_by: Any = ()) -> tuple[Invitation, tuple[Any, ...]] | None:
    """`invitation_with_context`, plus the values of `also` — further columns, typically scalar
    subqueries of another part (a cache's stamp, an opt-out) that the request would otherwise
    ask in a round trip of their own. None when no invitation matches."""
    row = session.exec(
        select(Invitation, SurveyDefinition, Customer, Interaction, *also)  # type: ignore[call-overload]
        .join(SurveyDefinition, SurveyDefinition.id == Invitation.survey_id)  # type: ignore[arg-type]
        .join(Customer, Customer.id == Invitation.customer_id)  # type: ignore[arg-type]
        .outerjoin(Interaction, Interaction.id == Invitation.interaction_id)  # type: ignore[arg-type]
        .where(*where).order_by(*order_by).limit(1)).first()
    if row is None:
        return None
    hold(session, row)
    return row[0], tuple(row[4:])


def hold(session: Session, row: Any) -> None:
    """Keep a look-up's objects for the transaction: the session's identity map holds them
    weakly, and a later `session.get` must find them without asking again."""
    session.info.setdefault("held", []).append(row)


def is_expired(invitation: Invitation, now: datetime) -> bool:
    return invitation.status == InvitationStatus.EXPIRED or (
        invitation.status != InvitationStatus.ANSWERED and invitation.expires_at <= now
    )


def mark_opened(invitation: Invitation, now: datetime) -> None:
    if invitation.opened_at is None:
        invitation.opened_at = now
    if invitation.status in (
        InvitationStatus.SENT,
        InvitationStatus.DELIVERED,
        InvitationStatus.SCHEDULED,
    ):
        invitation.status = InvitationStatus.OPENED
        invitation.updated_at = now


def response_for(session: Session, invitation: Invitation) -> Response | None:
    return session.exec(select(Response).where(Response.invitation_id == invitation.id)).first()


def clean_comment(comment: str | None, field: str = "comment",
                  redactor: Redactor | None = None) -> str | None:
    """The comment as it may be stored: bounded, and with personal data (e-mail, phone, card,
    IBAN, configured patterns) replaced by placeholders — the raw text is never written."""
    if comment is None:
        return None
    comment = comment.replace("\x00", "").strip()
    if len(comment) > MAX_COMMENT:
        raise ValidationFailed(f"{field} is longer than {MAX_COMMENT} characters", field=field)
    return redact(comment, redactor) or None


def submit_response(
    session: Session,
    invitation: Invitation,
    *,
    score: object,
    comment: str | None,
    source: str,
    now: datetime,
    thresholds: Thresholds,
    redactor: Redactor | None = None,
    resolved: bool | None = None,
) -> Response:
    """Record the answer to an invitation — exactly once. `resolved` is the customer's
    optional answer to "was your issue resolved?" (None: not asked or not answered).

    The insert itself decides who answered first (`ON CONFLICT (invitation_id) DO NOTHING`):
    of two concurrent submits (double tap, SMS and web at once) one row goes in and the other
    request gets a 409 as soon as the first commits — no error inside the transaction, no
    savepoint, nothing for the loser to undo.
    """
    survey = session.get(SurveyDefinition, invitation.survey_id)
    assert survey is not None
    kind = SurveyKind(survey.kind)
    score_value = validate_score(kind, score)
    comment = clean_comment(comment, redactor=redactor)
    if invitation.status == InvitationStatus.ANSWERED:
        raise Conflict("this survey has already been answered", code="already_answered")
    if is_expired(invitation, now):
        raise Gone("this survey has closed", code="expired")
    interaction = (
        session.get(Interaction, invitation.interaction_id) if invitation.interaction_id else None
    )
    values = dict(
        invitation_id=invitation.id,
        customer_id=invitation.customer_id,
        interaction_id=invitation.interaction_id,
        survey_id=survey.id,
        kind=kind.value,
        score=score_value,
        classification=classify(kind, score_value, thresholds).value,
        comment=comment,
        comment_at=now if comment else None,
        source=source,
        locale=invitation.locale,
        team=interaction.team if interaction else None,
        agent=interaction.agent if interaction else None,
        channel=interaction.channel if interaction else None,
        queue=interaction.queue if interaction else None,
        purpose=invitation.purpose,
        resolved=resolved,
        submitted_at=now,
    )
    stmt = built_once(session, "submit_response", lambda insert: (
        insert(_RESPONSE).on_conflict_do_nothing(index_elements=["invitation_id"])
        .returning(*_RESPONSE.c)))
    row = session.execute(stmt, values).first()
    if row is None:
        raise Conflict("this survey has already been answered", code="already_answered")
    response = _persistent(session, Response(**row._mapping))
    # A statement built once, not the unit of work's UPDATE at the next flush (its change
    # tracking and statement assembly cost the answer paths more CPU than the round trip);
    # the object is told the values as the database's.
    session.execute(built_once(session, "invitation_answered", _answered_statement),
                    {"invitation_id": invitation.id, "now": now})
    for name, value in (("status", InvitationStatus.ANSWERED), ("answered_at", now),
                        ("remind_at", None), ("updated_at", now)):
        set_committed_value(invitation, name, value)
    return response


def _answered_statement(_insert: Any) -> Any:
    return sa.update(_INVITATION).where(_INVITATION.c.id == sa.bindparam("invitation_id")).values(
        status=InvitationStatus.ANSWERED.value, answered_at=sa.bindparam("now"), remind_at=None,
        updated_at=sa.bindparam("now"))


def _persistent(session: Session, obj: Any) -> Any:
    """`obj`, made of a row just inserted by a Core statement (returning every column), as the
    session's persistent object of that row, without a query. The ORM's own insert … returning
    an entity did the same through its bulk-insert machinery: on the answer paths more CPU
    than the statement's round trip."""
    make_transient_to_detached(obj)
    session.add(obj)
    return obj


def add_comment(
    session: Session, invitation: Invitation, comment: str | None, now: datetime, window: timedelta,
    redactor: Redactor | None = None,
) -> Response:
    """The "why?" after the score. Allowed while the comment is empty, or to correct it within
    a short window — never a second response."""
    response = response_for(session, invitation)
    if response is None:
        raise Conflict("answer the question before adding a comment", code="not_answered")
    comment = clean_comment(comment, redactor=redactor)
    if response.comment and now - response.submitted_at > window:
        raise Conflict("this answer can no longer be changed", code="comment_locked")
    if comment is not None:
        response.comment = comment
        response.comment_at = now
        session.add(response)
    return response


def open_invitations_for_customer(
    session: Session, customer_id: int, channel: str | None = None
) -> list[Invitation]:
    stmt = select(Invitation).where(
        Invitation.customer_id == customer_id,
        Invitation.status.in_([s.value for s in OPEN_STATUSES]),  # type: ignore[attr-defined]
    )
    if channel:
        stmt = stmt.where(Invitation.channel == channel)
    return list(session.exec(stmt.order_by(sa.desc(Invitation.send_at))).all())  # type: ignore[arg-type]


def change_score(
    session: Session, invitation: Invitation, score: object, now: datetime, window: timedelta,
    thresholds: Thresholds,
) -> tuple[Response, int]:
    """Correct a mis-tapped score within `window` of answering: the same response, new score
    and classification. Returns the response and the score it had before."""
    response = response_for(session, invitation)
    if response is None:
        raise Conflict("answer the question before changing it", code="not_answered")
    if now - response.submitted_at > window:
        raise Conflict("this answer can no longer be changed", code="answer_locked")
    kind = SurveyKind(response.kind)
    value = validate_score(kind, score)
    before = response.score
    # Conditional on the score read above: of two changes racing, the second sees its row gone.
    changed = session.execute(
        sa.update(Response).where(Response.id == response.id, Response.score == before)  # type: ignore[arg-type]
        .values(score=value, classification=classify(kind, value, thresholds).value))
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("this answer was changed meanwhile; reload the page", code="answer_changed")
    session.refresh(response)
    return response, before
