"""Durable dispatch: due invitations (and reminders) are claimed, re-checked against the contact
policy at send time, sent, and settled — each decision recorded in the contact log.

Nothing is sent inside a database transaction: the claim commits first (the row is `sending`
under a lease), then the provider is called, then the outcome is settled in a second short
transaction. A worker that dies between the provider accepting a message and the settle leaves
the row `sending`; when the lease runs out another worker claims it as *recovering* and asks the
provider's history (`Reconciler.find_sent`, by the survey token in the body) before sending —
so a message the provider accepted is never sent twice. Email has no such history: it is resent
with the same deterministic Message-ID, which receiving systems treat as the same message.

A claimed batch is read set-based (`dispatch_rows.load`: three queries for the batch, not three
per row) and the accepted messages are marked sent a group at a time (`dispatch_rows.mark_sent`,
one transaction a group of up to `concurrency` rows, none waiting more than SETTLE_WITHIN). Two
rows of one customer never share a wave: the second is read after the first settled.
"""

from __future__ import annotations

import logging
import random
import time as _time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from outreach import optouts, pauses
from outreach.channels.base import (
    Channel,
    PermanentSendError,
    Reconciler,
    SendResult,
    TransientSendError,
)
from outreach.claims import Claim, claim, expire_due, settle
from outreach.dispatch_rows import Accepted, EventSink, Loaded, event_row, load, mark_sent
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
from surveys.models import Customer, Invitation, InvitationStatus

log = logging.getLogger(__name__)
SETTLE_WITHIN = 0.25  # seconds an accepted message waits at most for its group to be written
_E = ContactEvent.__table__  # type: ignore[attr-defined]


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
            for outcome in self._batch(claims):
                report.add(outcome)
        return report

    def _batch(self, claims: list[Claim]) -> list[str]:
        """A claimed batch, read set-based (`dispatch_rows.load`). A customer's rows go one per
        wave: the second is read and decided only once the first settled, so it sees the
        survey the first one sent (the fatigue rule) exactly as one by one."""
        outcomes: list[str] = []
        while claims:
            try:
                loaded = load(self.engine, [c.id for c in claims], self.policy.suppression_key)
            except Exception:  # noqa: BLE001 - the leases stay: the rows come back later
                log.exception("reading %d claimed invitations failed", len(claims))
                return outcomes + ["error"] * len(claims)
            wave: list[tuple[Claim, Loaded]] = []
            later: list[Claim] = []
            customers: set[int] = set()
            for c in claims:
                row = loaded.get(c.id)
                if row is None:
                    log.error("claimed invitation %s no longer exists", c.id)
                    outcomes.append("error")
                elif row.customer.id in customers:
                    later.append(c)
                else:
                    customers.add(row.customer.id)  # type: ignore[arg-type]
                    wave.append((c, row))
            outcomes += self._wave(wave)
            claims = later
        return outcomes

    def _wave(self, rows: list[tuple[Claim, Loaded]]) -> list[str]:
        # While a channel is paused its rows go one by one: the first is the probe, and once it
        # goes through the rest follow in the same pass (side by side, they would all have seen
        # the pause and waited for the next one). One by one, each row is settled at once.
        if not (self._side_by_side and len(rows) > 1 and not self._paused):
            outcomes = []
            for claimed, loaded in rows:
                got = self._attempt_safely(claimed, loaded)
                outcomes += self._settle_sent([got]) if isinstance(got, Accepted) else [got]
            return outcomes
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.policy.concurrency, thread_name_prefix="dispatch")
        # Side by side: the rows' provider calls run in the pool while this thread marks the
        # accepted ones sent in groups, one transaction each: a group is written once it holds
        # as many rows as run at once, when its oldest has waited SETTLE_WITHIN, or when no
        # send is left — a settle follows its send by a fraction of a second (a crash in
        # between is a recovered row the provider's history settles), at a few statements a
        # group instead of four a row.
        outcomes: list[str] = []
        accepted: list[Accepted] = []
        oldest = 0.0
        waiting = {self._pool.submit(self._attempt_safely, c, row) for c, row in rows}
        while waiting:
            timeout = (max(0.0, oldest + SETTLE_WITHIN - _time.monotonic()) if accepted
                       else None)
            done, waiting = wait(waiting, timeout=timeout, return_when=FIRST_COMPLETED)
            for future in done:
                got = future.result()
                if not isinstance(got, Accepted):
                    outcomes.append(got)
                    continue
                if not accepted:
                    oldest = _time.monotonic()
                accepted.append(got)
            if accepted and (not waiting or len(accepted) >= self.policy.concurrency
                             or _time.monotonic() >= oldest + SETTLE_WITHIN):
                outcomes += self._settle_sent(accepted)
                accepted = []
        return outcomes

    def _attempt_safely(self, claimed: Claim, loaded: Loaded) -> str | Accepted:
        try:
            return self._attempt(claimed, loaded)
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

    def _attempt(self, claimed: Claim, loaded: Loaded) -> str | Accepted:
        """Everything up to the provider's answer: an outcome already settled (not now, held,
        failed, retried, reconciled), or the message the provider accepted."""
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
        return Accepted(claimed, inv, decision.channel, result, self.clock(), reminder, reason)

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

    def _reconcile(self, claimed: Claim, loaded: Loaded, channel: str, now: datetime) -> str | None:
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
        [outcome] = self._settle_sent([Accepted(claimed, inv, channel, result, now, reminder,
                                                 Reason.ALREADY_SENT)])
        return outcome

    @staticmethod
    def _address(customer: Customer, channel: str) -> str:
        address = customer.phone if channel == "sms" else customer.email
        assert address, "choose_channel only picks a channel the customer has an address for"
        return address

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

    def _settle_sent(self, accepted: list[Accepted]) -> list[str]:
        if not accepted:
            return []
        try:
            return self._mark_sent(accepted)
        except Exception:  # noqa: BLE001 - the leases stay
            # The rows stay `sending`: when the lease runs out they are claimed as recovering
            # and the provider's history says they went (never sent twice).
            log.exception("marking %d sent invitations failed", len(accepted))
            return ["error"] * len(accepted)

    def _mark_sent(self, accepted: list[Accepted]) -> list[str]:
        with self.engine.begin() as conn:
            won = mark_sent(conn, accepted, now=self.clock(),
                            reminder_after=self.policy.reminder_after, events=self.events)
        outcomes = []
        for a in accepted:
            if a.claimed.id not in won:
                log.warning("invitation %s changed while %s was being sent (lease lost or "
                            "answered meanwhile); left as it is", a.inv.id, a.result.provider_id)
                outcomes.append("lost_lease")
            elif a.reminder:
                outcomes.append("reminded")
            else:
                outcomes.append("reconciled" if a.reason == Reason.ALREADY_SENT else "sent")
        return outcomes

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
                self.events(conn, "survey.failed", [(f"customer:{inv.customer_id}", {
                    "invitation_id": inv.id, "customer_id": inv.customer_id,
                    "interaction_id": inv.interaction_id, "channel": channel,
                    "purpose": inv.purpose, "reason": reason.value, "detail": detail})], now)
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
        conn.execute(sa.insert(_E).values(**event_row(
            invitation_id, customer_id, kind, action, reason, now, channel=channel,
            detail=detail, not_before=not_before)))

