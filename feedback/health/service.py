"""Pipeline health: the checks that page a human, and the alerts they open and resolve.

Each pass (the `health.check` job, any number of workers) evaluates every rule at `now`:
- channel_config:{channel} — dispatch paused a channel the provider refused (bad credentials);
- failure_rate:{channel} — too large a share of recent send attempts failed or were retried;
- dispatch_stalled — invitations due for a while and nothing sent (a dead worker);
- ingest_silence:{source} — no interaction arrived for N hours (an upstream outage);
- followups_behind — answers' follow-ups (themes, recovery task) wait far past their bound:
  no worker runs them, or they cannot keep up, so detractors get no task.
A rule that holds opens its alert once (the database settles races, see models); opening and
resolving each emit a `pipeline.alert` integration event (Standard-Webhooks-signed and retried
like every event; FEEDBACK_DISPATCH_ALERT_WEBHOOK_URL is a subscription to it) and queue an
e-mail to every active admin through the one notification outbox. Open alerts show on admins' home page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from feedback.auth.models import Role, User
from feedback.health.models import PipelineAlert
from feedback.health.schemas import alert_json
from feedback.integrations import events
from feedback.notifications.models import Notification, NotificationKind, NotificationStatus
from feedback.notifications.outbox import enqueue_many, notification
from outreach import health as dispatch_health
from outreach import pauses
from outreach.models import ContactEvent
from surveys.models import Interaction
from surveys.sql import insert_ignore

log = logging.getLogger(__name__)
_A = PipelineAlert.__table__  # type: ignore[attr-defined]
_E = ContactEvent.__table__  # type: ignore[attr-defined]
_X = Interaction.__table__  # type: ignore[attr-defined]
_N = Notification.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Finding:
    key: str
    kind: str
    summary: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Pass:
    opened: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    open: list[str] = field(default_factory=list)


# --- the rules --------------------------------------------------------------------------------


def findings(session: Session, settings: Any, now: datetime) -> tuple[list[Finding], set[str]]:
    """What is wrong now, and the alert keys the rules looked at (the others are left alone)."""
    found: list[Finding] = []
    checked: set[str] = set()
    conn = session.connection()
    for channel in ("sms", "email"):
        checked.add(f"channel_config:{channel}")
    for p in pauses.active(conn).values():
        found.append(Finding(
            f"channel_config:{p.channel}", "channel_config",
            f"{p.channel.upper()} is paused: the provider refused our configuration ({p.reason})"[:500],
            {"channel": p.channel, "reason": p.reason, "code": p.code,
             "paused_at": p.paused_at.isoformat()}))
    found += _failure_rate(conn, settings, now, checked)
    checked.add("dispatch_stalled")
    stall = dispatch_health.check(conn, now, timedelta(minutes=settings.dispatch_stall_minutes))
    if stall.stalled:
        found.append(Finding("dispatch_stalled", "dispatch_stalled",
                             f"Dispatch stalled: {stall.due} invitations due and nothing sent "
                             f"since {stall.last_sent_at or 'ever'}", stall.as_dict()))
    found += _ingest_silence(conn, settings, now, checked)
    found += _followups_behind(conn, settings, now, checked)
    return found, checked


def _failure_rate(conn: Any, settings: Any, now: datetime, checked: set[str]) -> list[Finding]:
    since = now - timedelta(minutes=settings.health_failure_window_minutes)
    failing = sa.case((_E.c.action.in_(["fail", "retry"]), 1), else_=0)
    rows = conn.execute(
        sa.select(_E.c.channel, sa.func.count(), sa.func.sum(failing))
        .where(_E.c.at >= since, _E.c.at <= now, _E.c.action.in_(["send", "fail", "retry"]),
               _E.c.channel.in_(["sms", "email"]))
        .group_by(_E.c.channel)).all()
    out = []
    for channel in ("sms", "email"):
        checked.add(f"failure_rate:{channel}")
    for channel, total, failed in rows:
        failed = int(failed or 0)
        if total >= settings.health_failure_min_attempts and failed / total >= settings.health_failure_rate:
            out.append(Finding(
                f"failure_rate:{channel}", "failure_rate",
                f"{channel.upper()} failure rate {failed}/{total} "
                f"({100 * failed // total} %) in the last {settings.health_failure_window_minutes} min",
                {"channel": channel, "failed": failed, "attempts": int(total)}))
    return out


def _ingest_silence(conn: Any, settings: Any, now: datetime, checked: set[str]) -> list[Finding]:
    out = []
    for source, hours in sorted(settings.health_ingest_silence_hours.items()):
        if not hours or hours <= 0:
            continue
        key = f"ingest_silence:{source}"
        checked.add(key)
        stmt = sa.select(sa.func.max(_X.c.created_at))
        if source != "*":
            stmt = stmt.where(_X.c.channel == source)
        last = conn.execute(stmt).scalar()
        if last is None:
            continue  # nothing ever arrived from this source: a new install, not an outage
        if last.tzinfo is None:  # SQLite's max() bypasses the column type
            last = datetime.fromisoformat(str(last)).replace(tzinfo=now.tzinfo)
        if now - last >= timedelta(hours=hours):
            label = "any source" if source == "*" else f"channel {source}"
            out.append(Finding(key, "ingest_silence",
                               f"No interactions ingested from {label} for {hours:g} h "
                               f"(last at {last.isoformat()})",
                               {"source": source, "hours": hours, "last_at": last.isoformat()}))
    return out


def _followups_behind(conn: Any, settings: Any, now: datetime, checked: set[str]) -> list[Finding]:
    checked.add("followups_behind")
    limit = timedelta(minutes=settings.health_followup_lag_minutes)
    waiting = [NotificationStatus.PENDING.value, NotificationStatus.SENDING.value]
    # Rows still retrying after a failure wait on purpose (next_attempt_at moved): only rows
    # whose time has come count, from the moment they became due.
    count, oldest = conn.execute(
        sa.select(sa.func.count(), sa.func.min(_N.c.next_attempt_at))
        .where(_N.c.kind == NotificationKind.FOLLOWUP.value, _N.c.status.in_(waiting),
               _N.c.next_attempt_at <= now - limit)).one()
    if not count:
        return []
    if oldest.tzinfo is None:  # SQLite's min() bypasses the column type
        oldest = datetime.fromisoformat(str(oldest)).replace(tzinfo=now.tzinfo)
    return [Finding("followups_behind", "followups_behind",
                    f"{count} answer(s) wait for their follow-up (themes, recovery task) for over "
                    f"{settings.health_followup_lag_minutes:g} min (oldest due {oldest.isoformat()}):"
                    " is a worker running?",
                    {"waiting": int(count), "oldest_due_at": oldest.isoformat()})]


# --- opening and resolving ---------------------------------------------------------------------


def run_checks(session: Session, settings: Any, now: datetime) -> Pass:
    """One pass in the caller's transaction: open what is wrong, resolve what cleared."""
    result = Pass()
    found, checked = findings(session, settings, now)
    wrong = {f.key for f in found}
    for finding in found:
        if open_alert(session, finding, settings, now):
            result.opened.append(finding.key)
        result.open.append(finding.key)
    for key in sorted(checked - wrong):
        if resolve(session, key, settings, now, by="health check"):
            result.resolved.append(key)
    return result


def open_alert(session: Session, finding: Finding, settings: Any, now: datetime) -> bool:
    """Open the incident unless it is open already (then only note it was seen). True if new."""
    new = insert_ignore(session, _A, {
        "key": finding.key, "open_key": finding.key, "kind": finding.kind,
        "summary": finding.summary[:500], "detail": finding.detail, "opened_at": now,
        "last_seen_at": now}, ["open_key"])
    if not new:
        session.execute(sa.update(_A).where(_A.c.open_key == finding.key)
                        .values(last_seen_at=now, summary=finding.summary[:500],
                                detail=finding.detail))
        return False
    alert = session.exec(select(PipelineAlert).where(PipelineAlert.open_key == finding.key)).one()
    log.error("pipeline alert opened: %s", finding.summary)
    _notify(session, alert, "opened", settings, now)
    return True


def resolve(session: Session, key: str, settings: Any, now: datetime, *, by: str) -> bool:
    """Resolve the open incident with this key, if any (only one resolver wins a race)."""
    row = session.execute(sa.update(_A).where(_A.c.open_key == key)
                          .values(open_key=None, resolved_at=now, resolved_by=by[:200])
                          .returning(_A.c.id)).first()
    if row is None:
        return False
    alert = session.get(PipelineAlert, row[0])
    assert alert is not None
    session.refresh(alert)
    log.warning("pipeline alert resolved (%s): %s", by, alert.summary)
    _notify(session, alert, "resolved", settings, now)
    return True


def resolve_by_id(session: Session, alert_id: int, settings: Any, now: datetime, *,
                  by: str) -> PipelineAlert | None:
    """An admin resolves an alert. A paused channel resumes with it: the held invitations go
    out (if the configuration is still wrong, the next message pauses it again)."""
    alert = session.get(PipelineAlert, alert_id)
    if alert is None:
        return None
    if alert.open_key is not None:
        if alert.kind == "channel_config":
            pauses.resume(session.connection(), alert.key.split(":", 1)[1], now)
        resolve(session, alert.open_key, settings, now, by=by)
        session.refresh(alert)
    return alert


def _notify(session: Session, alert: PipelineAlert, state: str, settings: Any, now: datetime) -> None:
    key = f"pipeline-alert:{alert.id}:{state}"
    # The subject is the alert's key: its "opened" reaches each endpoint before its "resolved".
    events.emit(session, "pipeline.alert", f"alert:{alert.key}"[:150],
                {"state": state, "alert": alert_json(alert)}, now)
    rows = []
    admins = session.exec(select(User.email).where(User.role == Role.ADMIN,
                                                   User.active.is_(True))).all()  # type: ignore[attr-defined]
    subject = f"[{'ALERT' if state == 'opened' else 'resolved'}] {alert.summary}"[:300]
    body = (f"{alert.summary}\n\nOpened {alert.opened_at.isoformat()}"
            + (f", resolved {alert.resolved_at.isoformat()} by {alert.resolved_by}"
               if alert.resolved_at else "")
            + f"\n\nOpen alerts: {settings.public_url}/\n")
    rows += [notification(kind="email", target=email, dedupe_key=f"{key}:email:{email}", now=now,
                          subject=subject, body=body) for email in admins if email]
    enqueue_many(session, rows)
