"""The contact-centre formulas, as pure functions of counts and sums (SQL adds them up).

    FCR            = contacts resolved on first contact ÷ contacts                       × 100
    AHT            = (talk + hold + wrap) ÷ handled contacts
    ASA            = total wait of answered contacts ÷ answered contacts
    answer rate    = handled ÷ (offered − short abandons)                                × 100
    abandonment    = (offered − short abandons − handled) ÷ (offered − short abandons)   × 100
    first response = total time to first reply ÷ async contacts with a reply
    blocked share  = blocked ÷ (offered + blocked)                                       × 100

A short abandon (≤ 5 s) is left out of both rates, so answer rate + abandonment = 100 %.
AHT only counts handled contacts, so abandons (short or not) never dilute it. A blocked contact
(busy signal, queue full) never entered the queue: it is in neither rate, only in the blocked
share, whose base is every attempt to reach the queue. Percentages come
with a Wilson interval and means with a Student-t interval (`surveys.kpis`), so the operations
figures carry the same margins of error as the dashboard.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from surveys import kpis
from surveys.kpis import Estimate


@dataclass
class QueueCounts:
    """Sufficient statistics of a set of contacts (see `repository.queue_measures`)."""

    contacts: int = 0
    offered: int = 0  # entered a queue: abandoned or handled
    handled: int = 0  # offered and not abandoned
    abandoned: int = 0  # every abandon, short ones included
    short_abandons: int = 0  # abandoned within SHORT_ABANDON_SECONDS
    wait_n: int = 0  # handled contacts whose wait is known
    wait_sum: float = 0.0
    wait_sumsq: float = 0.0
    handle_n: int = 0  # handled contacts whose talk time is known
    handle_sum: float = 0.0
    handle_sumsq: float = 0.0
    transfers_n: int = 0
    transfers_sum: float = 0.0
    transferred: int = 0  # contacts with at least one transfer
    resolved_n: int = 0  # agent said yes or no
    resolved_yes: int = 0
    frt_n: int = 0
    frt_sum: float = 0.0
    frt_sumsq: float = 0.0
    blocked: int = 0  # turned away before the queue (busy): not offered

    def add(self, other: QueueCounts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + (getattr(other, name) or 0))

    @classmethod
    def from_row(cls, values: Sequence[float | None]) -> QueueCounts:
        names = list(cls.__dataclass_fields__)
        return cls(**{n: (v or 0) for n, v in zip(names, values, strict=True)})


def _mean(n: int, total: float, sumsq: float) -> Estimate:
    """Mean seconds with a t interval, clipped at 0 (a duration is never negative)."""
    est = kpis.ces(n, total, sumsq, scale=None)
    if est.low is not None and est.low < 0:
        est = Estimate(est.value, est.moe, 0.0, est.high, est.n)
    return est


def fcr(resolved_first: int, contacts: int) -> Estimate:
    """First-contact resolution, %."""
    return kpis.proportion(resolved_first, contacts)


def aht(handled: int, handle_sum: float, handle_sumsq: float) -> Estimate:
    """Average handle time, seconds: (talk + hold + wrap) ÷ handled contacts."""
    return _mean(handled, handle_sum, handle_sumsq)


def asa(answered: int, wait_sum: float, wait_sumsq: float) -> Estimate:
    """Average speed of answer, seconds: total wait of answered contacts ÷ answered."""
    return _mean(answered, wait_sum, wait_sumsq)


def answer_rate(offered: int, short_abandons: int, handled: int) -> Estimate:
    _check(offered, short_abandons, handled)
    return kpis.proportion(handled, offered - short_abandons)


def abandonment_rate(offered: int, short_abandons: int, handled: int) -> Estimate:
    """(offered − short abandons − handled) ÷ (offered − short abandons), %."""
    _check(offered, short_abandons, handled)
    return kpis.proportion(offered - short_abandons - handled, offered - short_abandons)


def _check(offered: int, short_abandons: int, handled: int) -> None:
    if min(offered, short_abandons, handled) < 0 or short_abandons + handled > offered:
        raise ValueError(f"need short abandons + handled <= offered (got {short_abandons} + "
                         f"{handled} > {offered})")


def blocked_share(offered: int, blocked: int) -> Estimate:
    """Blocked/busy share, %: contacts turned away before the queue ÷ every attempt to reach
    it (offered + blocked)."""
    if min(offered, blocked) < 0:
        raise ValueError(f"need offered, blocked >= 0 (got {offered}, {blocked})")
    return kpis.proportion(blocked, offered + blocked)


def first_response(n: int, total: float, sumsq: float) -> Estimate:
    """Mean time to the first reply on async channels (chat, e-mail, tickets), seconds."""
    return _mean(n, total, sumsq)


def summary(c: QueueCounts) -> dict[str, object]:
    """Every KPI of a set of contacts, JSON-ready (an Estimate's value is None without data)."""
    return {
        "contacts": c.contacts, "offered": c.offered, "handled": c.handled,
        "abandoned": c.abandoned, "short_abandons": c.short_abandons, "blocked": c.blocked,
        "aht": aht(c.handle_n, c.handle_sum, c.handle_sumsq).to_dict(),
        "asa": asa(c.wait_n, c.wait_sum, c.wait_sumsq).to_dict(),
        "answer_rate": answer_rate(c.offered, c.short_abandons, c.handled).to_dict(),
        "abandonment": abandonment_rate(c.offered, c.short_abandons, c.handled).to_dict(),
        "blocked_share": blocked_share(c.offered, c.blocked).to_dict(),
        "fcr_agent": fcr(c.resolved_yes, c.resolved_n).to_dict(),
        "transfer_rate": kpis.proportion(c.transferred, c.transfers_n).to_dict(),
        "transfers_per_contact": (round(c.transfers_sum / c.transfers_n, 3)
                                  if c.transfers_n else None),
        "first_response": first_response(c.frt_n, c.frt_sum, c.frt_sumsq).to_dict(),
    }


# --- inferred FCR ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    key: Hashable  # the contact's id
    customer: Hashable
    reason: str | None
    at: datetime


def inferred_resolution(contacts: Iterable[Contact], *, window: timedelta,
                        now: datetime) -> dict[Hashable, bool | None]:
    """Resolved (True) when the same customer does not contact us again on the same reason
    within `window` after this contact; None when that cannot be known yet (the window is
    still open at `now`) or the contact has no reason. The window is elapsed time on UTC
    instants, so midnight and daylight-saving changes do not move it.

    This is the reference implementation; `repository.inferred_counts` is the same rule in
    SQL and the tests hold the two to each other."""
    out: dict[Hashable, bool | None] = {}
    by_thread: dict[tuple[Hashable, str], list[Contact]] = defaultdict(list)
    for c in contacts:
        if c.reason is None:
            out[c.key] = None
        else:
            by_thread[(c.customer, c.reason)].append(c)
    for thread in by_thread.values():
        thread.sort(key=lambda c: c.at)
        for i, c in enumerate(thread):
            nxt = thread[i + 1].at if i + 1 < len(thread) else None
            if nxt is not None and nxt - c.at < window:
                out[c.key] = False
            elif c.at + window > now:
                out[c.key] = None
            else:
                out[c.key] = True
    return out
