"""Rules of the privacy domain: find, export and erase one customer.

Erasure, in one transaction (the caller commits):
- the customer's open invitations are cancelled (status `suppressed`), after their rows are
  locked, and the call refuses (409) while a worker holds a lease on one of them — so once the
  call returns no message can go out to them; dispatch also re-reads the customer at send time,
  and an erased customer has no address left;
- every address they had becomes a hashed suppression entry (`opt_out` with an HMAC digest,
  channel `all`): a later interaction naming that phone or e-mail schedules nothing;
- name, phone, e-mail, external id, tier and the interaction metadata are removed from their
  rows; comments, SMS bodies and replies, message bodies, recovery notes and contact texts
  are blanked; dev outbox messages, SMS conversations and bounces are deleted; staff alerts
  that quote them are blanked;
- scores, classifications, timestamps, teams and agents stay, so every KPI and trend is the
  same before and after (rollups hold no personal data);
- an `Erasure` row records who, when, why and how many rows; erasing again changes nothing but
  re-scrubs rows that arrived meanwhile (an SMS received after the call, say).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from feedback.auth.permissions import EVERY_TEAM
from feedback.privacy import repository as repo
from feedback.privacy.models import Erasure
from outreach import optouts
from surveys.errors import Conflict, NotFound, ValidationFailed
from surveys.models import OPEN_STATUSES, Customer, InvitationStatus
from surveys.sql import insert_ignore

ERASED = "erased"
MIN_NEEDLE = 4  # shorter strings (a name "Al") would match unrelated staff alerts


def customer_or_404(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"customer {customer_id} not found", code="unknown_customer")
    return customer


def export(session: Session, customer_id: int, now: datetime) -> dict[str, Any]:
    """Everything held about one customer, as one JSON-ready document (GDPR art. 15)."""
    customer = customer_or_404(session, customer_id)
    cid = int(customer_id)
    addrs = repo.addresses(customer, session)
    phones = [a for a in addrs if "@" not in a]
    invitations = repo.invitations(session, cid)
    responses = repo.responses(session, cid)
    tasks, events, attempts = repo.recovery(session, cid)
    erasure = repo.erasure(session, cid)
    notif_ids = [a.notification_id for a in attempts if a.notification_id]
    d = repo.as_dict
    return {
        "exported_at": now.isoformat(),
        "customer": d(customer),
        "erasure": d(erasure) if erasure else None,
        "interactions": [d(r) for r in repo.interactions(session, cid)],
        "invitations": [d(r) for r in invitations],
        "messages": [d(r) for r in repo.outbox_messages(session, addrs, [i.token for i in invitations])],
        "notifications": [d(r) for r in repo.notifications(session, addrs, notif_ids, [])],
        "delivery_events": [d(r) for r in repo.bounces(session, [a for a in addrs if "@" in a],
                                                      repo.ids(invitations))],
        "contact_log": [d(r) for r in repo.contact_events(session, cid)],
        "responses": [d(r) for r in responses],
        "theme_labels": repo.theme_labels(session, repo.ids(responses)),
        "inbound_sms": [d(r) for r in repo.inbound_sms(session, cid, phones)],
        "sms_conversations": [d(r) for r in repo.conversations(session, phones)],
        "opt_outs": [d(r) for r in repo.opt_outs(session, cid, addrs)],
        "recovery_tasks": [{**d(t), "timeline": [d(e) for e in events if e.task_id == t.id],
                            "contact_attempts": [d(a) for a in attempts if a.task_id == t.id]}
                           for t in tasks],
    }


@dataclass
class ErasureResult:
    customer_id: int
    erased_at: datetime
    already: bool
    counts: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"customer_id": self.customer_id, "erased_at": self.erased_at.isoformat(),
                "already_erased": self.already, "counts": self.counts}


def erase(session: Session, customer_id: int, *, reason: str, actor: str, now: datetime,
          key: str, suppress_all: bool = True) -> ErasureResult:
    """Erase one customer (GDPR art. 17). See the module docstring for what happens where.
    `suppress_all=False` (retention) keeps only the opt-outs they had, hashed."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("reason is required (e.g. the request's ticket number)", field="reason")
    if len(reason) > 500:
        raise ValidationFailed("reason is longer than 500 characters", field="reason")
    customer = customer_or_404(session, customer_id)
    cid = int(customer_id)
    invitations = repo.invitations(session, cid, lock=True)
    busy = [i.id for i in invitations if i.lease_until is not None and i.lease_until > now
            and i.status in OPEN_STATUSES]
    if busy:
        raise Conflict("a message to this customer is being sent right now; retry in a minute",
                       code="sending", extra={"invitation_ids": busy})
    counts: dict[str, int] = {}

    def count(name: str, n: int) -> None:
        if n:
            counts[name] = counts.get(name, 0) + n

    addrs = repo.addresses(customer, session)
    phones = [a for a in addrs if "@" not in a]
    emails = [a for a in addrs if "@" in a]
    responses = repo.responses(session, cid)
    tasks, events, attempts = repo.recovery(session, cid)
    comments = [r.comment for r in responses if r.comment]
    needles = [n for n in [customer.name, *addrs, *comments] if n and len(n) >= MIN_NEEDLE]

    # 1. Nothing more goes out: open invitations cancelled, addresses suppressed by digest.
    for inv in invitations:
        if inv.status in OPEN_STATUSES:
            inv.status, inv.status_reason = InvitationStatus.SUPPRESSED, "customer erased"
            count("invitations_cancelled", 1)
        if inv.remind_at is not None:
            inv.remind_at = None
        inv.updated_at = now
        session.add(inv)
    old_optouts = repo.opt_outs(session, cid, addrs)
    closed = {o.address: o.channel for o in old_optouts
              if not o.address.startswith(optouts.SUPPRESSION_PREFIX)}
    for row in old_optouts:
        if row.customer_id == cid:
            row.customer_id, row.note = None, None
            session.add(row)
    session.flush()
    targets = addrs if suppress_all else sorted(closed)
    for address in sorted({optouts.canonical(a) for a in targets}):
        optouts.suppress(session, address, key, channel="all" if suppress_all else closed.get(address, "all"),
                         now=now)
        count("suppressions", 1)

    # 2. Outgoing messages and logs that carry their address or words.
    for msg in repo.outbox_messages(session, addrs, [i.token for i in invitations]):
        session.delete(msg)
        count("outbox_messages_deleted", 1)
    notif_ids = [a.notification_id for a in attempts if a.notification_id]
    for n in repo.notifications(session, addrs, notif_ids, needles):
        if n.target and n.target in addrs:
            n.target = ERASED
            if n.status == "pending":
                n.status, n.next_attempt_at, n.last_error = "failed", None, "customer erased"
        n.subject, n.body, n.payload = ERASED, None, {}
        session.add(n)
        count("notifications_scrubbed", 1)
    for sms in repo.inbound_sms(session, cid, phones):
        sms.from_number, sms.body, sms.reply = ERASED, "", None
        session.add(sms)
        count("inbound_sms_scrubbed", 1)
    for conv in repo.conversations(session, phones):
        session.delete(conv)
    for bounce in repo.bounces(session, emails, repo.ids(invitations)):
        session.delete(bounce)
        count("bounces_deleted", 1)
    for event in repo.contact_events(session, cid):
        if event.detail:
            event.detail = None
            session.add(event)

    # 3. Their own rows: identity gone, numbers kept.
    for r in responses:
        if r.comment:
            r.comment = None
            session.add(r)
            count("comments_removed", 1)
    for theme in repo.themes_quoting(session, comments):
        theme.examples = [e for e in theme.examples if not any(c in e for c in comments)]
        session.add(theme)
    for interaction in repo.interactions(session, cid):
        if interaction.meta:
            interaction.meta = {}
            session.add(interaction)
    for task in tasks:
        task.resolution_note = None
        session.add(task)
    for event_row in events:
        if event_row.note:
            event_row.note = None
            session.add(event_row)
            count("recovery_notes_removed", 1)
    for attempt in attempts:
        attempt.note = attempt.message = attempt.address = None
        session.add(attempt)
    for name in ("name", "email", "phone", "external_id", "tier", "time_zone"):
        setattr(customer, name, None)
    customer.updated_at = now
    session.add(customer)
    session.flush()

    first = insert_ignore(session, Erasure.__table__, {  # type: ignore[attr-defined]
        "customer_id": cid, "actor": actor[:200], "reason": reason, "counts": counts,
        "erased_at": now}, ["customer_id"]) == 1
    record = repo.erasure(session, cid)
    assert record is not None
    return ErasureResult(cid, record.erased_at, already=not first, counts=counts)


def _team_filter(team: Any) -> tuple[bool, str | None]:
    """(visible at all, team to filter by) for a permission-table team scope."""
    if team is EVERY_TEAM:
        return True, None
    return team is not None, team


def find(session: Session, *, external_id: str | None, email: str | None, phone: str | None,
         team: Any, phone_region: str | None) -> list[Customer]:
    """Customers matching every given key; the phone is read like an ingested one (E.164).
    `team` is the caller's scope (`team_scope`): a team-scoped caller finds only customers
    an interaction of their team touched."""
    external_id, email, phone = (v.strip() if v else None for v in (external_id, email, phone))
    if not (external_id or email or phone):
        raise ValidationFailed("give external_id, email or phone", field="external_id")
    for name, value in (("external_id", external_id), ("email", email), ("phone", phone)):
        if value and (len(value) > 320 or not value.isprintable()):
            raise ValidationFailed(f"{name} is not a valid search value", field=name)
    if phone:
        from feedback.ingest.schemas import normalise_phone

        try:
            phone = normalise_phone(phone, phone_region)
        except ValueError as exc:
            raise ValidationFailed(f"phone: {exc}", field="phone") from None
    any_team, only = _team_filter(team)
    if not any_team:
        return []
    return repo.find_customers(session, external_id=external_id, email=email, phone=phone,
                               team=only)


def visible(session: Session, customer_id: int, team: Any) -> Customer:
    """The customer, if a caller of scope `team` may see them; else 404 (a 403 would confirm
    to another team that the customer exists)."""
    customer = customer_or_404(session, customer_id)
    any_team, only = _team_filter(team)
    if not any_team or (only and not repo.find_customers(
            session, external_id=None, email=None, phone=None, team=only, ids=[customer_id])):
        raise NotFound(f"customer {customer_id} not found", code="unknown_customer")
    return customer
