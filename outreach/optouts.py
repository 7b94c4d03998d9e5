"""The one opt-out record: SMS STOP, the email unsubscribe link, a hard bounce and the admin API
all write through `record`, and dispatch asks `opted_out_channels` at send time.

A row is per (channel, address), `channel` being sms, email or all. Addresses are compared in
a canonical form (E.164 phone as given; e-mail lower-cased), so "Ana@Example.com" who
unsubscribed is not mailed again as "ana@example.com".
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from surveys.models import OptOut

CHANNELS = ("sms", "email", "all")


def canonical(address: str) -> str:
    address = address.strip()
    return address.lower() if "@" in address else address


def _check_channel(channel: str) -> None:
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(CHANNELS)}, not {channel!r}")


def record(session: Session, channel: str, address: str, *, source: str, now: datetime,
           customer_id: int | None = None, note: str | None = None) -> OptOut:
    """Opt `address` out of `channel`. Idempotent: a second STOP (or a STOP racing an
    unsubscribe click on another process) keeps the first row."""
    _check_channel(channel)
    address = canonical(address)
    existing = find(session, channel, address)
    if existing is not None:
        return existing
    row = OptOut(channel=channel, address=address, source=source, note=note,
                 customer_id=customer_id, created_at=now)
    try:
        # A savepoint, so losing the race to the unique constraint does not abort the caller's
        # transaction (PostgreSQL would refuse every later statement).
        with session.begin_nested():
            session.add(row)
            session.flush()
    except sa.exc.IntegrityError:
        found = find(session, channel, address)
        if found is None:
            raise
        return found
    return row


def remove(session: Session, channel: str, address: str) -> int:
    """Opt back in (SMS START, admin API). Returns how many rows were removed. Removing `sms`
    also removes an `all` row for the address: the customer asked to hear from us by SMS."""
    _check_channel(channel)
    channels = list(CHANNELS) if channel == "all" else [channel, "all"]
    result = session.execute(sa.delete(OptOut).where(
        OptOut.address == canonical(address), OptOut.channel.in_(channels)))  # type: ignore[attr-defined]
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def find(session: Session, channel: str, address: str) -> OptOut | None:
    return session.exec(select(OptOut).where(
        OptOut.channel == channel, OptOut.address == canonical(address))).first()


def opted_out_channels(session: Session, addresses: Iterable[str | None]) -> set[str]:
    """The channels (sms, email) closed for any of these addresses; an `all` row closes both."""
    wanted = sorted({canonical(a) for a in addresses if a})
    if not wanted:
        return set()
    rows = session.exec(select(OptOut.channel).where(OptOut.address.in_(wanted))).all()  # type: ignore[attr-defined]
    found = set(rows)
    return {"sms", "email"} if "all" in found else found & {"sms", "email"}


def is_opted_out(session: Session, channel: str, address: str | None) -> bool:
    """May `address` be contacted on `channel`? No address means there is nothing to send to,
    which is not an opt-out (dispatch records that as "no contact")."""
    return bool(address) and channel in opted_out_channels(session, [address])


_SOURCES = {"sms": "an SMS STOP", "unsubscribe_link": "the email unsubscribe link",
            "provider": "the provider (opted out elsewhere)", "api": "staff (admin API)",
            "bounce": "a hard bounce"}


def describe(rows: Iterable[OptOut]) -> str:
    """Which opt-out rule closed which channel, for the contact log: "sms closed by an SMS STOP
    on 2026-12-01; all channels closed by the email unsubscribe link on …"."""
    parts = []
    for row in rows:
        what = "all channels" if row.channel == "all" else row.channel
        how = _SOURCES.get(row.source, row.source)
        parts.append(f"{what} closed by {how} on {row.created_at:%Y-%m-%d}")
    return "; ".join(parts)


def list_for(session: Session, addresses: Iterable[str | None]) -> list[OptOut]:
    wanted = sorted({canonical(a) for a in addresses if a})
    if not wanted:
        return []
    return list(session.exec(select(OptOut).where(
        OptOut.address.in_(wanted)).order_by(OptOut.created_at)).all())  # type: ignore[attr-defined]
