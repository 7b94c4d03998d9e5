"""Queries of the privacy domain: every row that holds something about one customer.

This is the one place that knows where customer data lives; a new table holding customer data
adds its query here, and `tests/privacy/test_erase.py` scans every text and JSON column of every
table in the metadata to catch one that was forgotten.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, col, select

from feedback.inbound.models import EmailBounce, InboundSms, SmsConversation
from feedback.insights.models import ResponseTheme, Theme, ThemeReview
from feedback.notifications.models import Notification
from feedback.privacy.models import Erasure
from feedback.recovery.models import RecoveryContactAttempt, RecoveryEvent, RecoveryTask
from outreach import optouts
from outreach.models import ContactEvent, DevOutboxMessage
from surveys.models import Customer, Interaction, Invitation, OptOut, Response


def as_dict(row: SQLModel) -> dict[str, Any]:
    """A row as JSON-ready data: every column, datetimes as ISO text, binary left out."""
    out: dict[str, Any] = {}
    mapper = sa.inspect(row).mapper
    for column in mapper.columns:
        value = getattr(row, mapper.get_property_by_column(column).key)
        if isinstance(value, bytes):
            continue
        out[column.name] = value.isoformat() if isinstance(value, datetime | date) else value
    return out


def addresses(customer: Customer, session: Session) -> list[str]:
    """The customer's phone and e-mail, canonical and as stored (so equality queries can use
    the address indexes), plus addresses of opt-outs filed under them."""
    raw = {a.strip() for a in (customer.phone, customer.email) if a}
    found = raw | {optouts.canonical(a) for a in raw}
    found |= {o.address for o in session.exec(select(OptOut).where(OptOut.customer_id == customer.id))
              if not o.address.startswith(optouts.SUPPRESSION_PREFIX)}
    return sorted(found)


def ids(rows: Iterable[Any]) -> list[int]:
    return [int(r.id) for r in rows if r.id is not None]


def interactions(session: Session, cid: int) -> list[Interaction]:
    return list(session.exec(select(Interaction).where(Interaction.customer_id == cid).order_by(Interaction.id)))


def invitations(session: Session, cid: int, *, lock: bool = False) -> list[Invitation]:
    stmt = select(Invitation).where(Invitation.customer_id == cid).order_by(Invitation.id)
    if lock and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return list(session.exec(stmt))


def responses(session: Session, cid: int) -> list[Response]:
    return list(session.exec(select(Response).where(Response.customer_id == cid).order_by(Response.id)))


def theme_labels(session: Session, response_ids: list[int]) -> list[dict[str, Any]]:
    if not response_ids:
        return []
    rows = session.exec(select(ResponseTheme, Theme.name).join(Theme, Theme.id == ResponseTheme.theme_id)  # type: ignore[arg-type]
                        .where(col(ResponseTheme.response_id).in_(response_ids))).all()
    reviews = {r.response_id: r for r in session.exec(
        select(ThemeReview).where(col(ThemeReview.response_id).in_(response_ids)))}
    return [{"response_id": link.response_id, "theme": name, "source": link.source,
             "confidence": link.confidence, "sentiment": link.sentiment,
             "reviewed_at": reviews[link.response_id].reviewed_at.isoformat()
             if link.response_id in reviews else None} for link, name in rows]


def contact_events(session: Session, cid: int) -> list[ContactEvent]:
    return list(session.exec(select(ContactEvent).where(ContactEvent.customer_id == cid).order_by(ContactEvent.id)))


def outbox_messages(session: Session, addrs: list[str], tokens: list[str]) -> list[DevOutboxMessage]:
    conds = []
    if addrs:
        conds.append(col(DevOutboxMessage.to).in_(addrs))
    if tokens:
        conds.append(col(DevOutboxMessage.marker).in_(tokens))
    if not conds:
        return []
    return list(session.exec(select(DevOutboxMessage).where(sa.or_(*conds)).order_by(DevOutboxMessage.id)))


def inbound_sms(session: Session, cid: int, phones: list[str]) -> list[InboundSms]:
    cond = InboundSms.customer_id == cid
    if phones:
        cond = sa.or_(cond, col(InboundSms.from_number).in_(phones))  # type: ignore[assignment]
    return list(session.exec(select(InboundSms).where(cond).order_by(InboundSms.id)))


def conversations(session: Session, phones: list[str]) -> list[SmsConversation]:
    if not phones:
        return []
    return list(session.exec(select(SmsConversation).where(col(SmsConversation.phone).in_(phones))))


def bounces(session: Session, emails: list[str], invitation_ids: list[int]) -> list[EmailBounce]:
    conds = []
    if emails:
        conds.append(col(EmailBounce.address).in_(emails))
    if invitation_ids:
        conds.append(col(EmailBounce.invitation_id).in_(invitation_ids))
    if not conds:
        return []
    return list(session.exec(select(EmailBounce).where(sa.or_(*conds))))


def opt_outs(session: Session, cid: int, addrs: list[str]) -> list[OptOut]:
    cond = OptOut.customer_id == cid
    if addrs:
        cond = sa.or_(cond, col(OptOut.address).in_(addrs))  # type: ignore[assignment]
    return list(session.exec(select(OptOut).where(cond).order_by(OptOut.id)))


def recovery(session: Session, cid: int) -> tuple[list[RecoveryTask], list[RecoveryEvent],
                                                  list[RecoveryContactAttempt]]:
    tasks = list(session.exec(select(RecoveryTask).where(RecoveryTask.customer_id == cid).order_by(RecoveryTask.id)))
    task_ids = ids(tasks)
    if not task_ids:
        return tasks, [], []
    events = list(session.exec(select(RecoveryEvent).where(col(RecoveryEvent.task_id).in_(task_ids))
                               .order_by(RecoveryEvent.id)))
    attempts = list(session.exec(select(RecoveryContactAttempt)
                                 .where(col(RecoveryContactAttempt.task_id).in_(task_ids))
                                 .order_by(RecoveryContactAttempt.id)))
    return tasks, events, attempts


def notifications(session: Session, addrs: list[str], notification_ids: list[int],
                  needles: list[str]) -> list[Notification]:
    """Messages to the customer (by address), the ones recovery sent them, and staff alerts that
    quote them (by their name, address or comment: a scan of the outbox, which retention keeps
    short)."""
    conds: list[Any] = []
    if addrs:
        conds.append(col(Notification.target).in_(addrs))
    if notification_ids:
        conds.append(col(Notification.id).in_(notification_ids))
    for needle in needles:
        like = f"%{needle}%"
        conds += [col(Notification.body).like(like), col(Notification.subject).like(like),
                  sa.cast(Notification.payload, sa.Text).like(like)]
    if not conds:
        return []
    return list(session.exec(select(Notification).where(sa.or_(*conds))))


def themes_quoting(session: Session, needles: list[str]) -> list[Theme]:
    """Themes whose seed examples quote one of the customer's comments (staff copy them in)."""
    if not needles:
        return []
    conds = [sa.cast(Theme.examples, sa.Text).like(f"%{n}%") for n in needles]
    return list(session.exec(select(Theme).where(sa.or_(*conds))))


def erasure(session: Session, cid: int) -> Erasure | None:
    return session.exec(select(Erasure).where(Erasure.customer_id == cid)).first()


def find_customers(session: Session, *, external_id: str | None, email: str | None,
                   phone: str | None, team: str | None, limit: int = 50,
                   ids: list[int] | None = None) -> list[Customer]:
    stmt = select(Customer)
    if ids is not None:
        stmt = stmt.where(col(Customer.id).in_(ids))
    if external_id:
        stmt = stmt.where(Customer.external_id == external_id)
    if email:
        stmt = stmt.where(sa.func.lower(Customer.email) == email.lower())
    if phone:
        stmt = stmt.where(Customer.phone == phone)
    if team:
        # Team-scoped staff find only customers their team has served.
        stmt = stmt.where(col(Customer.id).in_(
            select(Interaction.customer_id).where(Interaction.team == team)))
    return list(session.exec(stmt.order_by(Customer.id).limit(limit)))
