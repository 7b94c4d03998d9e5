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

from datetime import datetime
from typing import Any

from sqlmodel import Session

from feedback.auth.permissions import EVERY_TEAM
from feedback.privacy import erasure
from feedback.privacy import repository as repo
from feedback.privacy.erasure import ERASED, MIN_NEEDLE, ErasureResult  # noqa: F401
from surveys.errors import Conflict, NotFound, ValidationFailed
from surveys.models import Customer


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


def erase(session: Session, customer_id: int, *, reason: str, actor: str, now: datetime,
          key: str, suppress_all: bool = True) -> ErasureResult:
    """Erase one customer (GDPR art. 17). See the module docstring for what happens where.
    `suppress_all=False` (retention) keeps only the opt-outs they had, hashed. The work is
    `erasure.erase_many` on a batch of one: the retention purge runs the same code on many."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("reason is required (e.g. the request's ticket number)", field="reason")
    if len(reason) > 500:
        raise ValidationFailed("reason is longer than 500 characters", field="reason")
    customer_or_404(session, customer_id)
    results, busy = erasure.erase_many(session, [customer_id], reason=reason, actor=actor,
                                       now=now, key=key, suppress_all=suppress_all)
    if busy:
        raise Conflict("a message to this customer is being sent right now; retry in a minute",
                       code="sending", extra={"invitation_ids": busy[int(customer_id)]})
    return results[0]


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
