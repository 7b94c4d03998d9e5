"""Erasure of many customers at once, set-based: what `service.erase` does for one customer,
as a fixed number of statements per batch (`UPDATE … WHERE customer_id IN (…)`) instead of a
few per row. The retention purge erases its idle customers through it in batches, and the API's
erasure of one customer is a batch of one, so both follow exactly the same rules (see the
`service` module docstring) and leave the same audit trail: one `Erasure` row per customer
with what was done to their rows.

A row that belongs to two customers of one batch (an address both used) is counted for the
first of them by id, as erasing them one after the other would.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from feedback.inbound.models import EmailBounce, InboundSms, SmsConversation
from feedback.privacy import repository as repo
from feedback.privacy.models import Erasure
from feedback.recovery.models import RecoveryContactAttempt, RecoveryEvent, RecoveryTask
from outreach import optouts
from outreach.models import ContactEvent, DevOutboxMessage
from surveys.models import (
    OPEN_STATUSES,
    Customer,
    Interaction,
    Invitation,
    OptOut,
    Response,
    ResponseAnswer,
)
from surveys.sql import dialect_insert

ERASED = "erased"
MIN_NEEDLE = 4  # shorter strings (a name "Al") would match unrelated staff alerts
CHUNK = 1000  # ids or needles per IN list / OR: well inside both drivers' parameter limits
OPEN = sorted(s.value for s in OPEN_STATUSES)


def _t(model: Any) -> sa.Table:
    return model.__table__  # type: ignore[no-any-return]


def _chunks(values: Sequence[Any]) -> Iterable[list[Any]]:
    for i in range(0, len(values), CHUNK):
        yield list(values[i:i + CHUNK])


@dataclass
class ErasureResult:
    customer_id: int
    erased_at: datetime
    already: bool
    counts: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"customer_id": self.customer_id, "erased_at": self.erased_at.isoformat(),
                "already_erased": self.already, "counts": self.counts}


@dataclass
class Batch:
    """What the batch's customers hold, read once; `owner` says whose a shared row is."""

    ids: list[int]
    addrs: dict[int, list[str]]
    counts: dict[int, dict[str, int]] = field(default_factory=dict)

    def count(self, cid: int | None, name: str, n: int = 1) -> None:
        if cid is not None and n:
            c = self.counts.setdefault(cid, {})
            c[name] = c.get(name, 0) + n

    def all_addrs(self, phones: bool | None = None) -> list[str]:
        found = {a for addrs in self.addrs.values() for a in addrs
                 if phones is None or ("@" not in a) == phones}
        return sorted(found)

    def owner(self, address: str | None) -> int | None:
        return next((cid for cid in self.ids if address and address in self.addrs[cid]), None)


def _update(session: Session, table: sa.Table, column: Any, ids: Sequence[int],
            *where: Any, **values: Any) -> None:
    for chunk in _chunks(ids):
        session.execute(sa.update(table).where(column.in_(chunk), *where).values(**values))


def _rows(session: Session, stmt: Any, column: Any, ids: Sequence[Any]) -> list[Any]:
    out: list[Any] = []
    for chunk in _chunks(sorted(set(ids))):
        out += list(session.execute(stmt.where(column.in_(chunk))))
    return out


def erase_many(session: Session, customer_ids: Iterable[int], *, reason: str, actor: str,
               now: datetime, key: str, suppress_all: bool = True
               ) -> tuple[list[ErasureResult], dict[int, list[int]]]:
    """Erase these customers in the caller's transaction. Returns the results (customers that
    do not exist are left out) and the customers skipped because a worker holds a lease on a
    message to them right now, with those invitations' ids (erase them a minute later)."""
    session.flush()  # the statements below bypass the ORM: nothing pending may be lost
    wanted = sorted({int(c) for c in customer_ids})
    customers = {c.id: c for c in session.exec(
        select(Customer).where(col(Customer.id).in_(wanted)))} if wanted else {}
    INV = _t(Invitation)
    lock = session.get_bind().dialect.name == "postgresql"
    inv_stmt = sa.select(INV.c.id, INV.c.customer_id, INV.c.token, INV.c.status,
                         INV.c.lease_until).order_by(INV.c.id)
    if lock:
        inv_stmt = inv_stmt.with_for_update()
    invitations = _rows(session, inv_stmt, INV.c.customer_id, list(customers))
    busy: dict[int, list[int]] = {}
    for i in invitations:
        if i.lease_until is not None and i.lease_until > now and i.status in OPEN:
            busy.setdefault(i.customer_id, []).append(i.id)
    ids = [cid for cid in sorted(customers) if cid not in busy]
    if not ids:
        return [], busy
    invitations = [i for i in invitations if i.customer_id not in busy]

    OPT = _t(OptOut)
    filed = _rows(session, sa.select(OPT.c.customer_id, OPT.c.address), OPT.c.customer_id, ids)
    addrs: dict[int, list[str]] = {}
    for cid in ids:
        c = customers[cid]
        raw = {a.strip() for a in (c.phone, c.email) if a}
        found = raw | {optouts.canonical(a) for a in raw}
        found |= {o.address for o in filed if o.customer_id == cid
                  and not o.address.startswith(optouts.SUPPRESSION_PREFIX)}
        addrs[cid] = sorted(found)
    b = Batch(ids, addrs)
    R, TASK, EV, ATT = _t(Response), _t(RecoveryTask), _t(RecoveryEvent), _t(RecoveryContactAttempt)
    responses = _rows(session, sa.select(R.c.id, R.c.customer_id, R.c.comment), R.c.customer_id, ids)
    tasks = _rows(session, sa.select(TASK.c.id, TASK.c.customer_id), TASK.c.customer_id, ids)
    task_owner = {t.id: t.customer_id for t in tasks}
    events = _rows(session, sa.select(EV.c.id, EV.c.task_id, EV.c.note), EV.c.task_id,
                   list(task_owner))
    attempts = _rows(session, sa.select(ATT.c.task_id, ATT.c.notification_id), ATT.c.task_id,
                     list(task_owner))
    comments = {cid: [r.comment for r in responses if r.customer_id == cid and r.comment]
                for cid in ids}
    needles = {cid: [n for n in [customers[cid].name, *addrs[cid], *comments[cid]]
                     if n and len(n) >= MIN_NEEDLE] for cid in ids}

    # 1. Nothing more goes out: open invitations cancelled, addresses suppressed by digest.
    for inv in invitations:
        if inv.status in OPEN:
            b.count(inv.customer_id, "invitations_cancelled")
    # One write per invitation: the open ones cancelled, every one's reminder dropped.
    still_open = INV.c.status.in_(OPEN)
    _update(session, INV, INV.c.customer_id, ids,
            status=sa.case((still_open, "suppressed"), else_=INV.c.status),
            status_reason=sa.case((still_open, "customer erased"), else_=INV.c.status_reason),
            remind_at=None, updated_at=now)
    old = _rows(session, sa.select(OPT.c.customer_id, OPT.c.address, OPT.c.channel),
                OPT.c.address, b.all_addrs()) + filed_with_channel(session, OPT, ids)
    _update(session, OPT, OPT.c.customer_id, ids, customer_id=None, note=None)
    suppressed: set[str] = set()
    for cid in ids:
        mine = [o for o in old if o.customer_id == cid or o.address in addrs[cid]]
        closed = {o.address: o.channel for o in mine
                  if not o.address.startswith(optouts.SUPPRESSION_PREFIX)
                  and o.address not in suppressed}
        targets = addrs[cid] if suppress_all else sorted(closed)
        for address in sorted({optouts.canonical(a) for a in targets}):
            optouts.suppress(session, address, key, now=now,
                             channel="all" if suppress_all else closed.get(address, "all"))
            suppressed.add(address)
            b.count(cid, "suppressions")

    # 2. Outgoing messages and logs that carry their address or words.
    _erase_messages(session, b, invitations, attempts, task_owner, needles)

    # 3. Their own rows: identity gone, numbers kept.
    for r in responses:
        if r.comment:
            b.count(r.customer_id, "comments_removed")
    _update(session, R, R.c.customer_id, ids, R.c.comment.is_not(None), comment=None)
    # Short-text answers to extra questions are words like comments; yes/no and choices stay.
    ANS = _t(ResponseAnswer)
    for chunk in _chunks(ids):
        session.execute(sa.delete(ANS).where(ANS.c.question_type == "text", ANS.c.response_id.in_(
            sa.select(R.c.id).where(R.c.customer_id.in_(chunk)))))
    every_comment = [c for cid in ids for c in comments[cid]]
    for theme in repo.themes_quoting(session, every_comment):
        theme.examples = [e for e in theme.examples if not any(c in e for c in every_comment)]
        session.add(theme)
    ITX = _t(Interaction)
    # Only rows that hold something are written (as the ORM would): an erasure of a
    # customer with many contacts should not rewrite every one of them.
    _update(session, ITX, ITX.c.customer_id, ids,
            sa.cast(ITX.c.metadata, sa.Text) != "{}", metadata={})
    _update(session, TASK, TASK.c.customer_id, ids, TASK.c.resolution_note.is_not(None),
            resolution_note=None)
    for e in events:
        if e.note:
            b.count(task_owner[e.task_id], "recovery_notes_removed")
    _update(session, EV, EV.c.task_id, list(task_owner), EV.c.note.is_not(None), note=None)
    _update(session, ATT, ATT.c.task_id, list(task_owner),
            sa.or_(ATT.c.note.is_not(None), ATT.c.message.is_not(None),
                   ATT.c.address.is_not(None)), note=None, message=None, address=None)
    CUS = _t(Customer)
    _update(session, CUS, CUS.c.id, ids, name=None, email=None, phone=None, external_id=None,
            tier=None, time_zone=None, updated_at=now)
    session.flush()
    # The ORM's copies of these rows (the caller's customer, say) are stale now.
    session.expire_all()
    return _record(session, b, reason=reason, actor=actor, now=now), busy


def filed_with_channel(session: Session, OPT: sa.Table, ids: list[int]) -> list[Any]:
    return _rows(session, sa.select(OPT.c.customer_id, OPT.c.address, OPT.c.channel),
                 OPT.c.customer_id, ids)


def _erase_messages(session: Session, b: Batch, invitations: list[Any], attempts: list[Any],
                    task_owner: dict[int, int], needles: dict[int, list[str]]) -> None:
    token_owner = {i.token: i.customer_id for i in invitations}
    OUT = _t(DevOutboxMessage)
    msgs = _rows(session, sa.select(OUT.c.id, OUT.c.to, OUT.c.marker), OUT.c.to, b.all_addrs())
    msgs += _rows(session, sa.select(OUT.c.id, OUT.c.to, OUT.c.marker), OUT.c.marker,
                  list(token_owner))
    gone = {}
    for m in msgs:
        gone[m.id] = b.owner(m.to) or token_owner.get(m.marker)
    for owner in gone.values():
        b.count(owner, "outbox_messages_deleted")
    for chunk in _chunks(sorted(gone)):
        session.execute(sa.delete(OUT).where(OUT.c.id.in_(chunk)))

    notif_owner = {a.notification_id: task_owner[a.task_id] for a in attempts
                   if a.notification_id}
    every_needle = sorted({n for cid in b.ids for n in needles[cid]})
    found: dict[int, Any] = {}
    for chunk in _chunks(every_needle) if every_needle else [[]]:
        for n in repo.notifications(session, b.all_addrs(), sorted(notif_owner), chunk):
            found[n.id] = n
    all_addrs = set(b.all_addrs())
    for n in sorted(found.values(), key=lambda n: n.id):
        text = f"{n.subject or ''} {n.body or ''} {n.payload or ''}".lower()
        owner = (b.owner(n.target) or notif_owner.get(n.id)
                 or next((cid for cid in b.ids if any(x.lower() in text for x in needles[cid])),
                         b.ids[0]))
        if n.target and n.target in all_addrs:
            n.target = ERASED
            if n.status == "pending":
                n.status, n.next_attempt_at, n.last_error = "failed", None, "customer erased"
        n.subject, n.body, n.payload = ERASED, None, {}
        session.add(n)
        b.count(owner, "notifications_scrubbed")

    SMS = _t(InboundSms)
    phones = b.all_addrs(phones=True)
    sms = _rows(session, sa.select(SMS.c.id, SMS.c.customer_id, SMS.c.from_number),
                SMS.c.customer_id, b.ids)
    sms += _rows(session, sa.select(SMS.c.id, SMS.c.customer_id, SMS.c.from_number),
                 SMS.c.from_number, phones)
    scrubbed = {s.id: (s.customer_id if s.customer_id in b.addrs else b.owner(s.from_number))
                for s in sms}
    for owner in scrubbed.values():
        b.count(owner, "inbound_sms_scrubbed")
    _update(session, SMS, SMS.c.id, sorted(scrubbed), from_number=ERASED, body="", reply=None)
    CONV = _t(SmsConversation)
    for chunk in _chunks(phones):
        session.execute(sa.delete(CONV).where(CONV.c.phone.in_(chunk)))
    BOUNCE = _t(EmailBounce)
    inv_owner = {i.id: i.customer_id for i in invitations}
    bounces = _rows(session, sa.select(BOUNCE.c.id, BOUNCE.c.address, BOUNCE.c.invitation_id),
                    BOUNCE.c.address, b.all_addrs(phones=False))
    bounces += _rows(session, sa.select(BOUNCE.c.id, BOUNCE.c.address, BOUNCE.c.invitation_id),
                     BOUNCE.c.invitation_id, list(inv_owner))
    deleted = {x.id: b.owner(x.address) or inv_owner.get(x.invitation_id) for x in bounces}
    for owner in deleted.values():
        b.count(owner, "bounces_deleted")
    for chunk in _chunks(sorted(deleted)):
        session.execute(sa.delete(BOUNCE).where(BOUNCE.c.id.in_(chunk)))
    EVT = _t(ContactEvent)
    _update(session, EVT, EVT.c.customer_id, b.ids, EVT.c.detail.is_not(None), detail=None)


def _record(session: Session, b: Batch, *, reason: str, actor: str, now: datetime
            ) -> list[ErasureResult]:
    """One `Erasure` row per customer; an earlier one (erased before) is kept as it was."""
    E = _t(Erasure)
    rows = [{"customer_id": cid, "actor": actor[:200], "reason": reason,
             "counts": b.counts.get(cid, {}), "erased_at": now} for cid in b.ids]
    stmt = (dialect_insert(session, E).on_conflict_do_nothing(index_elements=["customer_id"])
            .returning(E.c.customer_id))
    first = {int(r[0]) for r in session.execute(stmt, rows).all()}
    records = {r.customer_id: r.erased_at for r in _rows(
        session, sa.select(E.c.customer_id, E.c.erased_at), E.c.customer_id, b.ids)}
    return [ErasureResult(cid, records[cid], already=cid not in first,
                          counts=b.counts.get(cid, {})) for cid in b.ids]
