"""Dispatch's reads and writes of a batch, set-based. `load`: the claimed invitations with
their customer, survey and interaction channel in one query, every opt-out of their addresses
in a second, the survey versions they were scheduled with in a third — whatever the batch size,
instead of three queries per row. `mark_sent`: the messages a provider accepted, settled in a
handful of statements for the lot instead of four per row."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, select

from outreach import optouts
from outreach.channels.base import SendResult
from outreach.claims import Claim, I, settle_many
from outreach.models import ContactEvent
from outreach.policy import Reason
from surveys.content import wording
from surveys.models import (
    Customer,
    Interaction,
    Invitation,
    InvitationStatus,
    OptOut,
    SurveyDefinition,
    SurveyVersion,
)

# (connection, event type, [(subject, data)], now): the application's integration events, a
# settled batch's in one call.
EventSink = Callable[[Connection, str, list[tuple[str, dict[str, Any]]], datetime], Any]
_E = ContactEvent.__table__  # type: ignore[attr-defined]
_C = Customer.__table__  # type: ignore[attr-defined]
CHUNK = 1000  # rows per look-up, well below either engine's bound-parameter limit


@dataclass(frozen=True)
class Loaded:
    invitation: Invitation
    customer: Customer
    survey: SurveyDefinition
    interaction_channel: str | None
    opted_out: set[str]  # read at send time, not at scheduling time
    opt_out_rule: str  # the opt-out rows behind `opted_out`, in words, for the contact log
    wording: dict[str, str | None]  # the survey version's own words for the invitation's locale


def load(engine: Engine, ids: list[int], suppression_key: str | None) -> dict[int, Loaded]:
    """The rows of `ids` and everything their decisions need, fresh, by invitation id (an id
    that no longer exists is missing). Short reads; no transaction is held afterwards."""
    found: dict[int, Loaded] = {}
    with Session(engine, expire_on_commit=False) as session:
        for i in range(0, len(ids), CHUNK):
            found.update(_chunk(session, ids[i:i + CHUNK], suppression_key))
    return found


def _chunk(session: Session, ids: list[int], key: str | None) -> dict[int, Loaded]:
    rows = session.exec(
        select(Invitation, Customer, SurveyDefinition, Interaction.channel)
        .join(Customer, Customer.id == Invitation.customer_id)  # type: ignore[arg-type]
        .join(SurveyDefinition, SurveyDefinition.id == Invitation.survey_id)  # type: ignore[arg-type]
        .outerjoin(Interaction, Interaction.id == Invitation.interaction_id)  # type: ignore[arg-type]
        .where(Invitation.id.in_(ids))).all()  # type: ignore[union-attr]
    if not rows:
        return {}
    opt_outs = optouts.list_for(session, [a for _, c, _, _ in rows for a in (c.phone, c.email)],
                                key)
    # The wording of the version each invitation was scheduled with (edits since do not change
    # what this customer is asked).
    wanted = {(inv.survey_id, inv.survey_version) for inv, _, _, _ in rows if inv.survey_version}
    versions: dict[tuple[int, int], SurveyVersion] = {}
    if wanted:
        pair = sa.tuple_(SurveyVersion.survey_id, SurveyVersion.version)  # type: ignore[arg-type]
        versions = {(v.survey_id, v.version): v for v in session.exec(
            select(SurveyVersion).where(pair.in_(sorted(wanted))))}
    found = {}
    for inv, customer, survey, interaction_channel in rows:
        own = _own(opt_outs, customer, key)
        opted_out = {"sms", "email"} if any(r.channel == "all" for r in own) else {
            r.channel for r in own} & {"sms", "email"}
        version = versions.get((inv.survey_id, inv.survey_version or 0))
        found[inv.id] = Loaded(inv, customer, survey, interaction_channel, opted_out,
                               optouts.describe(own),
                               wording(version.content if version else None, survey.questions,
                                       inv.locale))
    return found


def _own(rows: list[OptOut], customer: Customer, key: str | None) -> list[OptOut]:
    """The batch's opt-out rows that are this customer's (what `optouts.list_for` of their
    own addresses returns), oldest first."""
    mine = set(optouts.row_addresses([customer.phone, customer.email], key))
    return [r for r in rows if r.address in mine]


@dataclass(frozen=True, slots=True)
class Accepted:
    """The provider took the message; the row is not settled yet (see `mark_sent`)."""

    claimed: Claim
    inv: Invitation
    channel: str
    result: SendResult
    at: datetime  # when the provider answered
    reminder: bool
    reason: Reason


def mark_sent(conn: Connection, accepted: list[Accepted], *, now: datetime,
              reminder_after: timedelta | None, events: EventSink | None) -> set[int]:
    """Mark accepted messages sent: each row only while its claim still holds it (and, for an
    invitation, while it is `sending`: never undo "answered"), then the customers' last
    survey, the contact log and the integration events of the rows won. Returns their ids."""
    common: dict[str, Any] = {"lease_owner": None, "lease_until": None, "updated_at": now,
                              "last_error": None}
    surveys = [a for a in accepted if not a.reminder]
    reminders = [a for a in accepted if a.reminder]
    won: set[int] = set()
    if surveys:
        won |= settle_many(conn, [a.claimed for a in surveys], {
            **common, "status": InvitationStatus.SENT, "attempts": I.c.attempts + 1}, {
            a.claimed.id: {
                "sent_at": a.at, "channel": a.channel,
                "provider_message_id": a.result.provider_id[:100],
                "remind_at": _remind_at(a, reminder_after),
                "status_reason": None if a.reason == Reason.SENT else a.reason.value,
            } for a in surveys})
    if reminders:
        won |= settle_many(conn, [a.claimed for a in reminders], {**common, "remind_at": None},
                           {a.claimed.id: {"reminded_at": a.at} for a in reminders})
    done = [a for a in accepted if a.claimed.id in won]
    sent = [a for a in done if not a.reminder]
    if sent:
        conn.execute(sa.update(_C).where(_C.c.id == sa.bindparam("c_id"))
                     .values(last_surveyed_at=sa.bindparam("c_at")),
                     [{"c_id": a.inv.customer_id, "c_at": a.at} for a in sent])
    if done:
        conn.execute(sa.insert(_E), [event_row(
            a.inv.id, a.inv.customer_id, a.claimed.purpose, "send", a.reason, a.at,  # type: ignore[arg-type]
            channel=a.channel, detail=f"{a.result.provider} {a.result.provider_id}")
            for a in done])
    if events and sent:
        events(conn, "survey.sent", [(f"customer:{a.inv.customer_id}", {
            "invitation_id": a.inv.id, "customer_id": a.inv.customer_id,
            "interaction_id": a.inv.interaction_id, "channel": a.channel,
            "purpose": a.inv.purpose, "sent_at": a.at.isoformat()}) for a in sent], now)
    return won


def _remind_at(a: Accepted, after: timedelta | None) -> datetime | None:
    remind_at = a.at + after if after and a.inv.reminder else None
    return None if remind_at is not None and remind_at >= a.inv.expires_at else remind_at


def event_row(invitation_id: int, customer_id: int, kind: str, action: str, reason: Reason,
              at: datetime, *, channel: str | None = None, detail: str | None = None,
              not_before: datetime | None = None) -> dict[str, Any]:
    """One contact-log row: what was decided about an invitation, and why."""
    return {"invitation_id": invitation_id, "customer_id": customer_id, "at": at, "kind": kind,
            "action": action, "reason": reason.value, "channel": channel,
            "detail": (detail or reason.explanation)[:1000], "not_before": not_before}
