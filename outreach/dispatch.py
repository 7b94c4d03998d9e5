"""Durable dispatch: due invitations (and reminders) are claimed, re-checked against the contact
policy at send time, sent, and settled — each decision recorded in the contact log.

Nothing is sent inside a database transaction: the claim commits first (the row is `sending`
under a lease), then the provider is called, then the outcome is settled in a second short
transaction. A worker that dies between the provider accepting a message and the settle leaves
the row `sending`; when the lease runs out another worker claims it as *recovering* and asks the
provider's history (`Reconciler.find_sent`, by the survey token in the body) before sending —
so a message the provider accepted is never sent twice. Email has no such history: it is resent
with the same deterministic Message-ID, which receiving systems treat as the same message.
"""

from __future__ import annotations

import logging
import random
import time as _time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, select

from outreach import optouts, pauses
from outreach.channels.base import (
    Channel,
    PermanentSendError,
    Reconciler,
    SendResult,
    TransientSendError,
)
from outreach.claims import Claim, I, claim, expire_due, settle
from outreach.messages import Catalog, Invite, Site, compose
from outreach.models import ContactEvent
from outreach.policy import (
    Decision,
    Reason,
    choose_channel,
    decide,
    infer_zone,
    retry_delay,
)
from surveys.content import wording
from surveys.models import (
    Customer,
    Interaction,
    Invitation,
    InvitationStatus,
    SurveyDefinition,
    SurveyVersion,
)

# (connection, event type, subject, data, now): the application's integration events.
EventSink = Callable[[Connection, str, str, dict[str, Any], datetime], Any]

log = logging.getLogger(__name__)
_E = ContactEvent.__table__  # type: ignore[attr-defined]
_C = Customer.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class DispatchPolicy:
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    quiet_channels: frozenset[str] = frozenset({"sms"})  # email waits in the inbox anyway
    fatigue_days: int = 30
    default_tz: str = "UTC"
    reminder_after: timedelta | None = timedelta(hours=24)  # None: no reminders
    lease: timedelta = timedelta(minutes=2)
    retry_base: timedelta = timedelta(seconds=30)
    retry_cap: timedelta = timedelta(hours=1)
    max_attempts: int = 8
    batch_size: int = 50
    pause_probe: timedelta = timedelta(minutes=5)  # a paused channel is tested this often
    suppression_key: str | None = None  # checks erased customers' hashed opt-outs too
    # Claimed rows sent side by side (PostgreSQL only): one row's database round trips and
    # provider call no longer wait for the previous row's. Each row keeps its own short
    # transactions, so nothing else changes.
    concurrency: int = 1

    @classmethod
    def from_settings(cls, s: Any) -> DispatchPolicy:
        return cls(
            quiet_start=s.quiet_hours_start, quiet_end=s.quiet_hours_end,
            quiet_channels=frozenset(s.dispatch_quiet_hours_channels),
            fatigue_days=s.fatigue_days, default_tz=s.default_time_zone,
            reminder_after=(timedelta(hours=s.reminder_after_hours)
                            if s.reminder_after_hours > 0 else None),
            lease=timedelta(seconds=s.lease_seconds),
            retry_base=timedelta(seconds=s.dispatch_retry_base_seconds),
            retry_cap=timedelta(seconds=s.dispatch_retry_cap_seconds),
            max_attempts=s.dispatch_max_attempts, batch_size=s.worker_batch_size,
            concurrency=s.dispatch_concurrency,
            pause_probe=timedelta(minutes=s.dispatch_pause_probe_minutes),
            suppression_key=s.secret_key)


@dataclass
class DispatchReport:
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: str) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1

    def __getitem__(self, outcome: str) -> int:
        return self.counts.get(outcome, 0)


@dataclass(frozen=True)
class _Loaded:
    invitation: Invitation
    customer: Customer
    survey: SurveyDefinition
    interaction_channel: str | None
    opted_out: set[str]  # read at send time, not at scheduling time
    opt_out_rule: str  # the opt-out rows behind `opted_out`, in words, for the contact log
    wording: dict[str, str | None]  # the survey version's own words for the invitation's locale


class Dispatcher:
    def __init__(self, engine: Engine, channels: Mapping[str, Channel], catalog: Catalog,
                 site: Site, policy: DispatchPolicy, *, worker: str,
                 clock: Callable[[], datetime], rng: random.Random | None = None,
                 events: EventSink | None = None) -> None:
        self.engine, self.channels, self.catalog, self.site = engine, channels, catalog, site
        # The application's integration events (outreach may not import it): called with the
        # settle transaction's connection, so the event exists iff the new state committed.
        self.events = events
        self.policy, self.worker, self.clock = policy, worker, clock
        self.rng = rng or random.Random()
        self._started = False
        self._full = False  # the last pass claimed a whole batch: more may be due
        self._paused: dict[str, pauses.Pause] = {}
        # SQLite has one writer: rows side by side would only queue for its lock.
        self._side_by_side = (policy.concurrency > 1 and engine.dialect.name == "postgresql")
        self._pool: ThreadPoolExecutor | None = None

    # --- the passes -----------------------------------------------------------------------

    def drain(self, budget: timedelta = timedelta(seconds=30)) -> DispatchReport:
        """Pass after pass while a pass found a full batch due: a campaign of 100k surveys goes
        out as fast as the channels take it, not 50 per tick of the schedule. The time budget
        hands the worker back to its other jobs now and then (the next tick carries on); other
        workers claim their own batches meanwhile (the claim skips leased rows)."""
        total = DispatchReport()
        deadline = _time.monotonic() + budget.total_seconds()
        while True:
            report = self.run_once()
            for outcome, n in report.counts.items():
                total.counts[outcome] = total.counts.get(outcome, 0) + n
            if not self._full or _time.monotonic() >= deadline:
                return total

    def run_once(self) -> DispatchReport:
        """One pass: due invitations, then due reminders, each up to a batch."""
        report = DispatchReport()
        self._full = False
        for purpose in ("invitation", "reminder"):
            with self.engine.begin() as conn:
                if not self._started:
                    pauses.probe_now(conn, self.clock())
                    self._started = True
                self._paused = pauses.active(conn)
                claims = claim(conn, purpose, now=self.clock(), worker=self.worker,  # type: ignore[arg-type]
                               lease=self.policy.lease, limit=self.policy.batch_size)
            self._full = self._full or len(claims) >= self.policy.batch_size
            # While a channel is paused its rows go one by one: the first is the probe, and
            # once it goes through the rest follow in the same pass (side by side, they would
            # all have seen the pause and waited for the next one).
            if self._side_by_side and len(claims) > 1 and not self._paused:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(self.policy.concurrency,
                                                    thread_name_prefix="dispatch")
                outcomes = list(self._pool.map(self._one, claims))
            else:
                outcomes = [self._one(claimed) for claimed in claims]
            for outcome in outcomes:
                report.add(outcome)
        return report

    def _one(self, claimed: Claim) -> str:
        try:
            return self._process(claimed)
        except Exception:  # noqa: BLE001 - one bad row must not stop the batch
            # The lease stays: the row comes back (as recovering) when it runs out.
            log.exception("dispatch of invitation %s failed unexpectedly", claimed.id)
            return "error"

    def expire(self) -> int:
        now = self.clock()
        with self.engine.begin() as conn:
            expired = expire_due(conn, now=now, limit=self.policy.batch_size * 20)
            for inv_id, customer_id, channel, old in expired:
                self._event(conn, inv_id, customer_id, "invitation", "skip", Reason.EXPIRED, now,
                            channel=channel, detail=f"expired while {old}")
        return len(expired)

    # --- one claimed row ---------------------------------------------------------------------

    def _process(self, claimed: Claim) -> str:
        loaded = self._load(claimed.id)
        inv, customer = loaded.invitation, loaded.customer
        now = self.clock()
        reminder = claimed.purpose == "reminder"
        opted_out = loaded.opted_out
        if reminder and inv.channel in opted_out:
            # A reminder belongs to the survey as it was sent: the customer closed that channel
            # (an SMS STOP ends the survey), so it is dropped, never re-routed to the other one.
            return self._not_now(claimed, inv, Decision(
                "skip", Reason.OPTED_OUT, channel=inv.channel,  # type: ignore[arg-type]
                rule=f"a reminder only follows its survey's channel ({inv.channel}); "
                     f"{loaded.opt_out_rule}"), now)
        channel = self._channel(inv, customer, opted_out)
        if claimed.recovering and channel != "link":
            # Before any policy decision: a deferral would turn the row back into a plain
            # scheduled one, and the message the dead worker got accepted would go out again.
            recovered = self._reconcile(claimed, loaded, channel, now)
            if recovered is not None:
                return recovered
        if channel in self._paused and not self._probe(channel, now):
            return self._hold(claimed, inv, channel, self._paused[channel].probe_at, now,
                              self._paused[channel].reason)
        quiet = channel in self.policy.quiet_channels
        decision = decide(
            now, phone=customer.phone, email=customer.email, opted_out=opted_out,
            preferred=channel if channel != "link" else "auto", expires_at=inv.expires_at,
            # The reminder belongs to a survey already counted; the fatigue rule is for new
            # surveys ("survey"), not for a purpose-made follow-up (recovery's, which keeps its
            # own one-per-fatigue-window rule when it schedules one).
            last_surveyed_at=(None if reminder or inv.purpose != "survey"
                              else customer.last_surveyed_at),
            fatigue_days=self.policy.fatigue_days,
            tz_name=infer_zone(customer.time_zone, customer.phone, now, self.policy.default_tz),
            default_tz=self.policy.default_tz,
            quiet_start=self.policy.quiet_start if quiet else time(0),
            quiet_end=self.policy.quiet_end if quiet else time(0))
        if decision.action != "send":
            if decision.reason == Reason.OPTED_OUT:
                decision = replace(decision, rule=loaded.opt_out_rule or None)
            return self._not_now(claimed, inv, decision, now)
        assert decision.channel in ("sms", "email")
        message = compose(self.catalog, self.site, Invite(
            invitation_id=inv.id, token=inv.token, channel=decision.channel,  # type: ignore[arg-type]
            to=self._address(customer, decision.channel),
            locale=inv.locale, kind=loaded.survey.kind, low=loaded.survey.scale_min,
            high=loaded.survey.scale_max, customer_id=customer.id, customer_name=customer.name,
            interaction_channel=loaded.interaction_channel, reminder=reminder,
            custom_question=loaded.wording["question"],
            custom_low_label=loaded.wording["low_label"],
            custom_high_label=loaded.wording["high_label"],
            custom_sms_question=loaded.wording["sms_question"]))
        try:
            result = self.channels[decision.channel].send(message)
        except TransientSendError as exc:
            return self._retry(claimed, inv, decision.channel, exc, self.clock(), reminder)
        except PermanentSendError as exc:
            if exc.kind == "config":
                return self._pause(claimed, inv, decision.channel, exc, self.clock())
            return self._failed(claimed, inv, decision.channel, exc, self.clock(), reminder)
        if decision.channel in self._paused:  # the probe went through: the channel works again
            with self.engine.begin() as conn:
                held = pauses.resume(conn, decision.channel, self.clock())
            self._paused.pop(decision.channel, None)
            log.warning("channel %s works again; %d held invitations are due", decision.channel, held)
        reason = Reason.CHANNEL_UNAVAILABLE if result.provider == "dev" else Reason.SENT
        return self._sent(claimed, inv, decision.channel, result, self.clock(), reminder, reason)

    # --- paused channels (see outreach.pauses) ------------------------------------------------

    def _probe(self, channel: str, now: datetime) -> bool:
        with self.engine.begin() as conn:
            return pauses.take_probe(conn, channel, now=now, probe_after=self.policy.pause_probe)

    def _pause(self, claimed: Claim, inv: Invitation, channel: str, exc: PermanentSendError,
               now: datetime) -> str:
        """The provider refused our configuration: no customer's survey is at fault, so the
        invitation is held, not failed, and the channel pauses until it works again."""
        with self.engine.begin() as conn:
            pauses.pause(conn, channel, reason=f"{exc.kind}: {exc.reason}", code=exc.code, now=now,
                         probe_after=self.policy.pause_probe)
            self._paused = pauses.active(conn)
        log.error("channel %s paused: the provider refused our configuration (%s)", channel,
                  exc.reason)
        return self._hold(claimed, inv, channel, now + self.policy.pause_probe, now, exc.reason)

    def _hold(self, claimed: Claim, inv: Invitation, channel: str, until: datetime,
              now: datetime, why: str) -> str:
        until = max(until, now)
        values: dict[str, Any] = {"lease_owner": None, "lease_until": None, "updated_at": now}
        if claimed.purpose == "reminder":
            values["remind_at"] = until
        else:
            values.update(status=InvitationStatus.SCHEDULED, send_at=until, channel=channel,
                          status_reason=pauses.HELD)
        with self.engine.begin() as conn:
            if settle(conn, claimed, **values):
                self._event(conn, inv.id, inv.customer_id, claimed.purpose, "defer",  # type: ignore[arg-type]
                            Reason.CHANNEL_PAUSED, now, channel=channel, not_before=until,
                            detail=f"{Reason.CHANNEL_PAUSED.explanation} ({why})"[:1000])
        return "held"

    def _reconcile(self, claimed: Claim, loaded: _Loaded, channel: str, now: datetime) -> str | None:
        """Settle as sent if the provider already has this message; None if it has not (or the
        channel keeps no history: email is resent with the same Message-ID)."""
        sender = self.channels[channel]
        if not isinstance(sender, Reconciler):
            return None
        inv, reminder = loaded.invitation, claimed.purpose == "reminder"
        since = (inv.remind_at or now) if reminder else inv.send_at
        try:
            found = sender.find_sent(self._address(loaded.customer, channel), since, inv.token)
        except TransientSendError as exc:
            return self._retry(claimed, inv, channel, exc, now, reminder)
        if not found:
            return None
        result = SendResult(getattr(sender, "provider", channel), found)
        return self._sent(claimed, inv, channel, result, now, reminder, Reason.ALREADY_SENT)

    @staticmethod
    def _address(customer: Customer, channel: str) -> str:
        address = customer.phone if channel == "sms" else customer.email
        assert address, "choose_channel only picks a channel the customer has an address for"
        return address

    def _load(self, invitation_id: int) -> _Loaded:
        """The row and everything its decision needs, fresh: two queries, no transaction held."""
        with Session(self.engine, expire_on_commit=False) as session:
            inv, customer, survey, interaction_channel = session.exec(
                select(Invitation, Customer, SurveyDefinition, Interaction.channel)
                .join(Customer, Customer.id == Invitation.customer_id)  # type: ignore[arg-type]
                .join(SurveyDefinition, SurveyDefinition.id == Invitation.survey_id)  # type: ignore[arg-type]
                .outerjoin(Interaction, Interaction.id == Invitation.interaction_id)  # type: ignore[arg-type]
                .where(Invitation.id == invitation_id)).one()
            rows = optouts.list_for(session, [customer.phone, customer.email],
                                    self.policy.suppression_key)
            # The wording of the version the invitation was scheduled with (edits since do
            # not change what this customer is asked).
            version = (session.get(SurveyVersion, (survey.id, inv.survey_version))
                       if inv.survey_version else None)
        opted_out = {"sms", "email"} if any(r.channel == "all" for r in rows) else {
            r.channel for r in rows} & {"sms", "email"}
        return _Loaded(inv, customer, survey, interaction_channel, opted_out,
                       optouts.describe(rows),
                       wording(version.content if version else None, survey.questions, inv.locale))

    @staticmethod
    def _channel(inv: Invitation, customer: Customer, opted_out: set[str]) -> str:
        # The planned channel is a preference: if its route closed since scheduling (opt-out,
        # number removed) the other one is used; "link" was planned when no route existed.
        preferred = inv.channel if inv.channel in ("sms", "email") else "auto"
        return choose_channel(customer.phone, customer.email, opted_out, preferred)

    # --- outcomes (each one short transaction, only while this claim holds the row) ----------

    def _not_now(self, claimed: Claim, inv: Invitation, decision: Decision, now: datetime) -> str:
        reason = decision.reason or Reason.FAILED
        kind = claimed.purpose
        values: dict[str, Any] = {"lease_owner": None, "lease_until": None, "updated_at": now}
        if kind == "reminder":
            # A reminder is not worth waking anyone for; any reason not to send drops it.
            values["remind_at"] = None
            if decision.action == "defer":
                values["remind_at"] = decision.not_before
        elif decision.action == "defer":
            values.update(status=InvitationStatus.SCHEDULED, send_at=decision.not_before,
                          status_reason=reason.value)
        else:
            expired = reason == Reason.EXPIRED
            values.update(status=InvitationStatus.EXPIRED if expired else InvitationStatus.SUPPRESSED,
                          status_reason=reason.value, remind_at=None)
            if decision.channel == "link":
                values["channel"] = "link"
        with self.engine.begin() as conn:
            if settle(conn, claimed, **values):
                self._event(conn, inv.id, inv.customer_id, kind, decision.action, reason, now,  # type: ignore[arg-type]
                            channel=decision.channel, detail=decision.explanation,
                            not_before=decision.not_before)
        log.info("invitation %s %s: %s %s", inv.id, kind, decision.action, reason.value)
        return "deferred" if decision.action == "defer" else "suppressed"

    def _sent(self, claimed: Claim, inv: Invitation, channel: str, result: SendResult,
              now: datetime, reminder: bool, reason: Reason) -> str:
        values: dict[str, Any] = {"lease_owner": None, "lease_until": None, "updated_at": now,
                                  "last_error": None}
        if reminder:
            values.update(reminded_at=now, remind_at=None)
        else:
            remind_at = (now + self.policy.reminder_after
                         if self.policy.reminder_after and inv.reminder else None)
            if remind_at is not None and remind_at >= inv.expires_at:
                remind_at = None
            values.update(status=InvitationStatus.SENT, sent_at=now, channel=channel,
                          provider_message_id=result.provider_id[:100], remind_at=remind_at,
                          attempts=I.c.attempts + 1,
                          status_reason=None if reason == Reason.SENT else reason.value)
        with self.engine.begin() as conn:
            if not settle(conn, claimed, **values):
                log.warning("invitation %s changed while %s was being sent (lease lost or "
                            "answered meanwhile); left as it is", inv.id, result.provider_id)
                return "lost_lease"
            if not reminder:
                conn.execute(sa.update(_C).where(_C.c.id == inv.customer_id)
                             .values(last_surveyed_at=now))
            self._event(conn, inv.id, inv.customer_id, claimed.purpose, "send", reason, now,  # type: ignore[arg-type]
                        channel=channel, detail=f"{result.provider} {result.provider_id}")
            if self.events and not reminder:
                self.events(conn, "survey.sent", f"customer:{inv.customer_id}", {
                    "invitation_id": inv.id, "customer_id": inv.customer_id,
                    "interaction_id": inv.interaction_id, "channel": channel,
                    "purpose": inv.purpose, "sent_at": now.isoformat()}, now)
        return "reminded" if reminder else ("reconciled" if reason == Reason.ALREADY_SENT
                                            else "sent")

    def _retry(self, claimed: Claim, inv: Invitation, channel: str, exc: TransientSendError,
               now: datetime, reminder: bool) -> str:
        attempts = inv.attempts + 1
        if attempts >= self.policy.max_attempts:
            return self._failed(claimed, inv, channel, PermanentSendError(
                f"gave up after {attempts} attempts: {exc.reason}", exc.code), now, reminder)
        retry_at = now + retry_delay(attempts, self.policy.retry_base, self.policy.retry_cap,
                                     self.rng, retry_after=exc.retry_after)
        values: dict[str, Any] = {"attempts": attempts, "last_error": exc.reason[:1000],
                                  "updated_at": now, "lease_owner": None, "lease_until": None}
        if exc.maybe_sent:
            # It may have reached the provider: keep it "sending" with the lease ending at the
            # retry time, so the next claim reconciles before sending again.
            values["lease_until"] = retry_at
            if reminder:
                values["remind_at"] = retry_at
        elif reminder:
            values["remind_at"] = retry_at
        else:
            values.update(status=InvitationStatus.SCHEDULED, send_at=retry_at)
        with self.engine.begin() as conn:
            if settle(conn, claimed, **values):
                self._event(conn, inv.id, inv.customer_id, claimed.purpose, "retry",  # type: ignore[arg-type]
                            Reason.RETRYING, now, channel=channel, detail=exc.reason[:1000],
                            not_before=retry_at)
        log.info("invitation %s: transient failure (%s); retry at %s", inv.id, exc.reason, retry_at)
        return "retried"

    def _failed(self, claimed: Claim, inv: Invitation, channel: str, exc: PermanentSendError,
                now: datetime, reminder: bool) -> str:
        reason = {"invalid_recipient": Reason.INVALID_RECIPIENT,
                  "opted_out": Reason.OPTED_OUT}.get(exc.kind, Reason.FAILED)
        detail = f"{exc.kind}: {exc.reason}"[:500]
        values: dict[str, Any] = {"lease_owner": None, "lease_until": None, "updated_at": now,
                                  "last_error": exc.reason[:1000]}
        if reminder:
            values["remind_at"] = None
        else:
            values.update(status=InvitationStatus.FAILED, status_reason=detail,
                          attempts=inv.attempts + 1)
        with self.engine.begin() as conn:
            if not settle(conn, claimed, **values):
                return "lost_lease"
            self._event(conn, inv.id, inv.customer_id, claimed.purpose, "fail", reason, now,  # type: ignore[arg-type]
                        channel=channel, detail=detail)
            if self.events and not reminder:
                self.events(conn, "survey.failed", f"customer:{inv.customer_id}", {
                    "invitation_id": inv.id, "customer_id": inv.customer_id,
                    "interaction_id": inv.interaction_id, "channel": channel,
                    "purpose": inv.purpose, "reason": reason.value, "detail": detail}, now)
            if exc.opted_out:
                # The provider knows of an opt-out we did not (e.g. STOP to another of our
                # numbers): record it so no later survey tries again.
                self._record_provider_opt_out(conn, inv, channel, now)
        log.warning("invitation %s %s failed: %s", inv.id, claimed.purpose, detail)
        return "failed"

    def _record_provider_opt_out(self, conn: Connection, inv: Invitation, channel: str,
                                 now: datetime) -> None:
        with Session(bind=conn) as session:
            customer = session.get(Customer, inv.customer_id)
            address = customer and (customer.phone if channel == "sms" else customer.email)
            if address:
                optouts.record(session, channel, address, source="provider", now=now,
                               customer_id=inv.customer_id, note="reported by the provider")
                session.flush()

    @staticmethod
    def _event(conn: Connection, invitation_id: int, customer_id: int, kind: str, action: str,
               reason: Reason, now: datetime, *, channel: str | None = None,
               detail: str | None = None, not_before: datetime | None = None) -> None:
        conn.execute(sa.insert(_E).values(
            invitation_id=invitation_id, customer_id=customer_id, at=now, kind=kind,
            action=action, reason=reason.value, channel=channel,
            detail=(detail or reason.explanation)[:1000], not_before=not_before))
