"""After-commit follow-ups of an answer, through the durable outbox.

The answer's transaction records the response (and the cheap things beside it) plus one outbox
row of kind `followup` (`queue`): one INSERT, no look-up, so the customer never waits for theme
tagging, event fan-out or recovery. Written in the same transaction, the row exists iff the
answer committed — a process that dies after the commit loses nothing.

The worker's `followups.run` job (every `FEEDBACK_FOLLOWUP_POLL_SECONDS`, 1 s) claims due rows
atomically (`outbox.claim_due`: a conditional UPDATE, SKIP LOCKED on PostgreSQL, so several
workers share them) and runs each in one transaction, in the order `after_response` used to:
theme tagging, then `response.created` (themes included), then recovery. The same transaction
marks the row done, conditional on still holding its lease: a worker that was too slow and
lost its lease rolls its work back. A worker killed mid-run gives the row back when the lease
(`FEEDBACK_FOLLOWUP_LEASE_SECONDS`, 30 s) ends. Every step is idempotent as well, so a
follow-up run twice changes nothing the second time: themes are replaced, the event has an id
fixed by the response (the outbox's unique dedupe key), recovery finds the response's task link
before opening anything, and a score change is noted on the task once.

Bound: **while a worker runs and keeps up, a detractor's recovery task (and the answer's themes
and event) exists within `BOUND_SECONDS` (5 s) of the answer** — the job's interval (1 s,
capped at 5 s by the setting's validation) plus one pass. After a worker crash: the lease
(30 s) plus that. Follow-ups of one response carry one ordering key, so they run in the order
written (the answer before a comment added later, before a score corrected after that).

The steps use the answer's time (`at` in the row) as `now`: a task opened a second later still
carries the moment the customer answered, and a second run produces the same rows.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from feedback.db import transaction
from feedback.insights import service as insights
from feedback.integrations import events
from feedback.notifications.models import NotificationKind
from feedback.notifications.outbox import (
    Claimed,
    backoff,
    claim_due,
    enqueue_many,
    mark_failed,
    mark_sent,
    notification,
)
from feedback.recovery import service as recovery
from feedback.settings import Settings
from surveys.models import Response

log = logging.getLogger(__name__)

BOUND_SECONDS = 5  # a detractor's task exists this long after the answer, while a worker runs
KIND = NotificationKind.FOLLOWUP.value
CREATED, COMMENT, SCORE = "created", "comment", "score"


def queue(session: Session, response: Response, change: str, now: datetime,
          before: int | None = None) -> None:
    """The one outbox row of an answer or of a change to it, in the caller's transaction.

    One row per change (its dedupe key names the change and its time): a comment added later
    or a corrected score gets its own follow-up, the same answer never two."""
    key = f"followup:{response.id}:{change}" + ("" if change == CREATED else f":{now.isoformat()}")
    row = notification(kind=KIND, target=f"response:{response.id}", dedupe_key=key, now=now,
                       payload={"response_id": response.id, "change": change,
                                "at": now.isoformat(), "before": before})
    row["ordering_key"] = f"response:{response.id}"  # a response's follow-ups in order
    enqueue_many(session, [row])


def response_event_id(response_id: int) -> str:
    """`response.created`'s event id, fixed by the response: a second run emits nothing new."""
    return "evt_" + uuid.uuid5(uuid.NAMESPACE_URL, f"feedback:response:{response_id}").hex


def run(session: Session, payload: dict[str, Any], *, settings: Settings) -> None:
    """What follows one answer or one change to it (see the module docstring for the order)."""
    response = session.get(Response, int(payload["response_id"]))
    if response is None:  # erased meanwhile (privacy): nothing left to react to
        return
    now = datetime.fromisoformat(payload["at"])
    change = payload.get("change")
    if change == SCORE and payload.get("before") is not None:
        recovery.on_score_change(session, response, int(payload["before"]), now=now)
    insights.on_response(session, response, now=now, settings=settings)
    # A new answer without a comment has no themes: one look-up fewer for most answers.
    blank = change == CREATED and not (response.comment or "").strip()
    themes = [] if blank else insights.themes_for(session, int(response.id or 0))
    if change == CREATED:
        # Between the two: its themes are tagged, and the recovery task it may open
        # (task.created, same subject) reaches receivers after it.
        events.emit(session, "response.created", events.customer_subject(response.customer_id),
                    events.response_data(response, themes), now,
                    event_id=response_event_id(int(response.id or 0)))
    recovery.on_response(session, response, themes=themes, now=now, settings=settings)


def run_due(engine: Engine, settings: Settings, clock: Callable[[], datetime], *,
            worker: str, limit: int = 50) -> int:
    """One pass: claim up to `limit` due follow-ups, run each in its own transaction. Returns
    how many were claimed (0: nothing was due)."""
    lease = timedelta(seconds=settings.followup_lease_seconds)
    with engine.begin() as conn:
        claimed = claim_due(conn, now=clock(), worker=worker, lease=lease, limit=limit,
                            kinds=(KIND,))
    for note in claimed:
        _run_claimed(engine, settings, clock, note, worker)
    return len(claimed)


class _LeaseLost(Exception):
    """Another worker took the row over (this one was slower than the lease)."""


def _run_claimed(engine: Engine, settings: Settings, clock: Callable[[], datetime],
                 note: Claimed, worker: str) -> None:
    try:
        with transaction(engine) as session:
            run(session, note.payload, settings=settings)
            if not mark_sent(session.connection(), note, worker=worker, now=clock(), via=worker):
                raise _LeaseLost
    except _LeaseLost:  # its work was rolled back; the worker holding the lease does it
        log.warning("follow-up %s: lease lost, left to the worker that holds it", note.dedupe_key)
    except Exception as exc:  # noqa: BLE001 - one bad follow-up must not stop the others
        log.exception("follow-up %s failed (attempt %d)", note.dedupe_key, note.attempts)
        now = clock()
        give_up = note.attempts >= settings.notification_max_attempts
        with engine.begin() as conn:
            mark_failed(conn, note, worker=worker, now=now, error=f"{exc.__class__.__name__}: {exc}",
                        retry_at=None if give_up else now + backoff(note.attempts, 5.0))


def drain(engine: Engine, settings: Settings, clock: Callable[[], datetime], *, worker: str,
          limit: int = 50, max_passes: int | None = None) -> int:
    """Passes until nothing is due (or `max_passes`). Returns how many follow-ups were claimed."""
    total, passes = 0, 0
    while max_passes is None or passes < max_passes:
        n = run_due(engine, settings, clock, worker=worker, limit=limit)
        total, passes = total + n, passes + 1
        if n == 0:
            break
    return total
