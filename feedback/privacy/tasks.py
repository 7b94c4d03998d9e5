"""The retention purge: a daily job that forgets what is older than the configured windows.

Three passes, each in batches of `retention_batch_size` rows, each batch its own transaction
(short locks; a killed worker loses at most one batch, and the next run goes on from there):
- comments (`retention_comment_days` after they were written) are removed from responses;
- message bodies (`retention_message_days`): dev outbox messages are deleted, the bodies and
  replies of inbound SMS and of delivered or failed notifications are blanked;
- customers with no activity for `retention_customer_days` are anonymised like an erasure
  (actor "retention"), except that only the opt-outs they had survive, hashed — set-based,
  a batch of customers per transaction.
Every pass selects only rows that still hold something, so the job is idempotent, and no pass
touches a score, a classification or a rollup: every KPI stays the same.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col

from feedback.db import transaction
from feedback.inbound.models import InboundSms
from feedback.notifications.models import Notification
from feedback.privacy import erasure
from feedback.recovery.models import RecoveryContactAttempt
from feedback.worker import Job, JobContext
from outreach.models import DevOutboxMessage
from surveys.models import Customer, Interaction, Response

log = logging.getLogger(__name__)
PURGED = "purged"


@dataclass
class PurgeReport:
    comments: int = 0
    outbox_messages: int = 0
    inbound_sms: int = 0
    notifications: int = 0
    contact_messages: int = 0
    customers: int = 0
    customers_skipped: int = 0  # a message to them was being sent: next run

    def as_json(self) -> dict[str, int]:
        return asdict(self)


def _batches(engine: Engine, select_ids: sa.Select[Any], apply: Any, batch: int,
             max_batches: int) -> int:
    """Select up to `batch` ids still to purge, apply the change to them, commit; repeat.

    Keyset-paged on the id (every selection is ordered by it): each batch starts after the
    last one instead of re-reading the rows already purged from the start of the table."""
    done, last, id_col = 0, 0, select_ids.selected_columns[0]
    for _ in range(max_batches):
        with transaction(engine) as session:
            ids = [int(i) for i in session.execute(
                select_ids.where(id_col > last).limit(batch)).scalars()]
            if ids:
                apply(session, ids)
                last = ids[-1]
        done += len(ids)
        if len(ids) < batch:
            break
    return done


def purge(engine: Engine, settings: Any, now: datetime, *, max_batches: int = 1000) -> PurgeReport:
    report, batch = PurgeReport(), settings.retention_batch_size

    def run(select_ids: sa.Select[Any], apply: Any) -> int:
        return _batches(engine, select_ids, apply, batch, max_batches)

    if settings.retention_comment_days:
        cutoff = now - timedelta(days=settings.retention_comment_days)
        report.comments = run(
            sa.select(Response.id).where(col(Response.comment).is_not(None),
                                         sa.func.coalesce(Response.comment_at, Response.submitted_at) < cutoff)
            .order_by(Response.id),
            lambda s, ids: s.execute(sa.update(Response).where(col(Response.id).in_(ids))
                                     .values(comment=None)))
    if settings.retention_message_days:
        cutoff = now - timedelta(days=settings.retention_message_days)
        report.outbox_messages = run(
            sa.select(DevOutboxMessage.id).where(DevOutboxMessage.created_at < cutoff)
            .order_by(DevOutboxMessage.id),
            lambda s, ids: s.execute(sa.delete(DevOutboxMessage)
                                     .where(col(DevOutboxMessage.id).in_(ids))))
        report.inbound_sms = run(
            sa.select(InboundSms.id).where(InboundSms.received_at < cutoff,
                                           InboundSms.from_number != PURGED).order_by(InboundSms.id),
            lambda s, ids: s.execute(sa.update(InboundSms).where(col(InboundSms.id).in_(ids))
                                     .values(from_number=PURGED, body="", reply=None)))
        report.notifications = run(
            sa.select(Notification.id).where(Notification.created_at < cutoff,
                                             col(Notification.status).in_(["sent", "failed"]),
                                             Notification.target != PURGED)
            .order_by(Notification.id),
            lambda s, ids: s.execute(sa.update(Notification).where(col(Notification.id).in_(ids))
                                     .values(target=PURGED, body=None, subject=None, payload={})))
        report.contact_messages = run(
            sa.select(RecoveryContactAttempt.id).where(
                RecoveryContactAttempt.at < cutoff,
                sa.or_(col(RecoveryContactAttempt.message).is_not(None),
                       col(RecoveryContactAttempt.address).is_not(None)))
            .order_by(RecoveryContactAttempt.id),
            lambda s, ids: s.execute(sa.update(RecoveryContactAttempt)
                                     .where(col(RecoveryContactAttempt.id).in_(ids))
                                     .values(message=None, address=None)))
    if settings.retention_customer_days:
        _purge_customers(engine, settings, now, report, max_batches)
    return report


def _purge_customers(engine: Engine, settings: Any, now: datetime, report: PurgeReport,
                     max_batches: int) -> None:
    """Idle customers, a batch per transaction, each batch erased set-based
    (`erasure.erase_many`: a fixed number of statements per batch, one `Erasure` row each, as a
    request to erase them one by one would leave). Keyset-paged on the id, so a customer skipped
    because a message to them is being sent waits for the next run, not for a re-read."""
    cutoff = now - timedelta(days=settings.retention_customer_days)
    # NOT EXISTS, not NOT IN (…): an index leading with interaction.customer_id answers it per candidate
    # instead of hashing every recent contact for each batch.
    recent = sa.exists().where(Interaction.customer_id == Customer.id,
                               Interaction.occurred_at >= cutoff)
    stale = (sa.select(Customer.id)
             .where(sa.or_(col(Customer.name).is_not(None), col(Customer.email).is_not(None),
                           col(Customer.phone).is_not(None), col(Customer.external_id).is_not(None)),
                    Customer.updated_at < cutoff,
                    sa.or_(col(Customer.last_surveyed_at).is_(None), Customer.last_surveyed_at < cutoff),
                    ~recent)
             .order_by(Customer.id))
    reason = f"retention: no activity for {settings.retention_customer_days} days"
    last = 0
    for _ in range(max_batches):
        with transaction(engine) as session:
            ids = [int(i) for i in session.execute(
                stale.where(Customer.id > last).limit(settings.retention_batch_size)).scalars()]
            if ids:
                # An earlier erasure record (a request, or a purge of a row that has since come
                # back to life) is kept; the scrub itself runs again.
                done, busy = erasure.erase_many(session, ids, reason=reason, actor="retention",
                                                now=now, key=settings.secret_key,
                                                suppress_all=False)
                report.customers += len(done)
                report.customers_skipped += len(busy)
                last = ids[-1]
        if len(ids) < settings.retention_batch_size:
            break


def retention_purge(ctx: JobContext) -> PurgeReport:
    report = purge(ctx.engine, ctx.settings, ctx.now())
    if any(report.as_json().values()):
        log.info("retention purge: %s", report.as_json())
    return report


JOBS = [Job("privacy.retention_purge", retention_purge, cron={"hour": 3, "minute": 17})]
