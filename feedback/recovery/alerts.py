"""SLA warnings and escalations as outbox rows.

Each notification has a deterministic dedupe key — task, window, kind, channel, recipient — so
whichever worker (or retry) gets there first inserts it and every later insert is a no-op.
The functions here only build the rows; the watcher inserts a whole batch's rows at once, and
reads the leads once per batch (`active_leads`), so a scan costs a few statements per batch
rather than per task.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from feedback.auth.models import Role, User
from feedback.notifications.outbox import notification
from feedback.recovery.models import RecoveryTask
from surveys.models import Customer

WINDOW_LABEL = {"first_contact": "first contact", "resolution": "resolution"}


def active_leads(session: Session) -> list[User]:
    return list(session.exec(select(User).where(User.role == Role.LEAD, User.active.is_(True))  # type: ignore[attr-defined]
                             .order_by(User.id)).all())  # type: ignore[arg-type]


def leads_for(leads: list[User], team: str | None) -> list[User]:
    """The team's leads; every lead when the team has none (someone must hear of a breach)."""
    own = [u for u in leads if team and u.team == team]
    return own or leads


def _facts(session: Session, task: RecoveryTask, window: str, settings: Any) -> dict[str, Any]:
    owner = session.get(User, task.owner_id) if task.owner_id else None
    customer = session.get(Customer, task.customer_id)
    due: datetime = getattr(task, f"{window}_due_at")
    return {
        "task_id": task.id, "url": f"{settings.public_url}/queue/{task.id}", "window": window,
        "due_at": due.isoformat(), "priority": task.priority, "status": task.status,
        "team": task.team, "agent": task.agent, "owner": owner.name if owner else None,
        "owner_email": owner.email if owner else None,
        "customer": customer.name if customer else None, "customer_id": task.customer_id,
        "kind": task.kind, "score": task.score, "opened_at": task.opened_at.isoformat(),
    }


def _when(iso: str) -> str:
    """"Tue 1 Dec 2026, 14:05 UTC": how a person reads a deadline (the payload keeps ISO)."""
    at = datetime.fromisoformat(iso)
    return f"{at:%a} {at.day} {at:%b %Y, %H:%M} UTC"


def _email_body(f: dict[str, Any], headline: str) -> str:
    return (f"{headline}\n\nTask #{f['task_id']} · priority {f['priority']} · status {f['status']}\n"
            f"Customer: {f['customer'] or f['customer_id']} · {f['kind'].upper()} {f['score']}\n"
            f"Team: {f['team'] or '—'} · owner: {f['owner'] or 'nobody yet'}\n"
            f"Opened: {_when(f['opened_at'])}\n"
            f"{WINDOW_LABEL[f['window']].capitalize()} due: {_when(f['due_at'])}\n\n"
            f"Open it: {f['url']}\n")


def warning(session: Session, task: RecoveryTask, window: str, *, now: datetime, settings: Any,
            leads: list[User]) -> list[dict[str, Any]]:
    """80 % of a window has passed: tell the owner (or, with no owner, the team's leads)."""
    f = _facts(session, task, window, settings)
    owner = session.get(User, task.owner_id) if task.owner_id else None
    people = [owner] if owner and owner.active else leads_for(leads, task.team)
    subject = f"Recovery task #{task.id}: {WINDOW_LABEL[window]} due soon"
    headline = (f"The {WINDOW_LABEL[window]} deadline of this recovery task is close "
                f"({int(settings.recovery_warn_fraction * 100)} % of the window has passed).")
    return [notification(kind="email", target=person.email, now=now, subject=subject,
                         body=_email_body(f, headline), payload={"event": "recovery.sla_warning", **f},
                         dedupe_key=f"recovery:{task.id}:{window}:warning:email:{person.email}")
            for person in people]


def escalation(session: Session, task: RecoveryTask, window: str, *, now: datetime,
               settings: Any, leads: list[User]) -> list[dict[str, Any]]:
    """A deadline passed: email the team's leads (and the owner, and any configured address).
    Webhooks and Slack hear of it as the `task.sla_breached` event (feedback/integrations),
    which the history entry of the breach emits."""
    f = _facts(session, task, window, settings)
    label = WINDOW_LABEL[window]
    subject = f"SLA breach: recovery task #{task.id} missed its {label} deadline"
    headline = f"This recovery task missed its {label} deadline and needs a lead's attention."
    emails = [u.email for u in leads_for(leads, task.team)] + list(settings.recovery_escalation_emails)
    if f["owner_email"]:
        emails.append(f["owner_email"])
    event = {"event": "recovery.sla_breach", "occurred_at": now.isoformat(), **f}
    rows = [notification(kind="email", target=email, now=now, subject=subject,
                         body=_email_body(f, headline), payload=event,
                         dedupe_key=f"recovery:{task.id}:{window}:escalation:email:{email}")
            for email in dict.fromkeys(emails)]  # each address once, in order
    return rows
