"""The one opt-out record: SMS STOP, the email unsubscribe link, a hard bounce and the admin API
all write through `record`, and dispatch asks `opted_out_channels` at send time.

A row is per (channel, address), `channel` being sms, email or all. Addresses are compared in
a canonical form (E.164 phone as given; e-mail lower-cased), so "Ana@Example.com" who
unsubscribed is not mailed again as "ana@example.com".
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from surveys.models import OptOut
from surveys.sql import one_of

CHANNELS = ("sms", "email", "all")


def canonical(address: str) -> str:
    address = address.strip()
    return address.lower() if "@" in address else address


SUPPRESSION_PREFIX = "hmac:"


def suppression_digest(key: str | bytes, address: str) -> str:
    """What an erased customer's opt-out keeps instead of the address: an HMAC (keyed with the
    deployment's secret, so a leaked table cannot be reversed by hashing every phone number)."""
    raw = key.encode() if isinstance(key, str) else key
    digest = hmac.new(raw, canonical(address).encode(), hashlib.sha256).hexdigest()
    return SUPPRESSION_PREFIX + digest


def row_addresses(addresses: Iterable[str | None], key: str | bytes | None) -> list[str]:
    """The `address` values of the opt-out rows that concern these addresses (canonical forms
    and, with `key`, their hashed suppression entries)."""
    plain = {canonical(a) for a in addresses if a}
    hashed = {suppression_digest(key, a) for a in plain} if key else set()
    return sorted(plain | hashed)


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


def opted_out_channels(session: Session, addresses: Iterable[str | None],
                       key: str | bytes | None = None) -> set[str]:
    """The channels (sms, email) closed for any of these addresses; an `all` row closes both.
    With the secret `key`, an erased customer's hashed suppression entries count too."""
    wanted = row_addresses(addresses, key)
    if not wanted:
        return set()
    rows = session.exec(select(OptOut.channel).where(OptOut.address.in_(wanted))).all()  # type: ignore[attr-defined]
    found = set(rows)
    return {"sms", "email"} if "all" in found else found & {"sms", "email"}


def channels_by_address(session: Session, addresses: Iterable[str | None],
                        key: str | bytes | None = None) -> dict[str, set[str]]:
    """Set-based form for a batch (ingest): every opt-out row of these addresses (with `key`,
    of their hashed suppression entries too), as address → channels, in one look-up.

    The addresses go through `one_of` (one JSON parameter on PostgreSQL): an expanding IN of a
    batch's 4000 addresses and digests cost more to compile and send than the look-up itself
    (a tenth of a large import's writing thread)."""
    wanted = row_addresses(addresses, key)
    found: dict[str, set[str]] = {}
    column = OptOut.__table__.c.address  # type: ignore[attr-defined]
    for i in range(0, len(wanted), 5000):  # below either engine's bound-parameter limit
        rows = session.execute(select(OptOut.channel, OptOut.address).where(
            one_of(session, column, wanted[i:i + 5000]))).all()
        for channel, address in rows:
            found.setdefault(address, set()).add(channel)
    return found


def opted_out_column(channel: str, address: Any) -> Any:
    """`is_opted_out` (without a key) as a column, an EXISTS, for a look-up the caller makes
    anyway to carry instead of a round trip of its own. `channel` is sms or email; an `all` row
    closes it too. `address`: the canonical address (`canonical`), a value or the bound
    parameter of a statement built once (the OR, not an IN list: no expanding parameter to
    render at each execution)."""
    _check_channel(channel)
    return sa.exists().where(col(OptOut.address) == address,
                             sa.or_(col(OptOut.channel) == channel, col(OptOut.channel) == "all"))


def is_opted_out(session: Session, channel: str, address: str | None,
                 key: str | bytes | None = None) -> bool:
    """May `address` be contacted on `channel`? No address means there is nothing to send to,
    which is not an opt-out (dispatch records that as "no contact")."""
    return bool(address) and channel in opted_out_channels(session, [address], key)


def suppressed(session: Session, addresses: Iterable[str | None], key: str | bytes) -> bool:
    """Does any of these addresses belong to an erased customer (a hashed suppression entry)?"""
    digests = [suppression_digest(key, a) for a in addresses if a]
    if not digests:
        return False
    return session.exec(select(OptOut.id).where(OptOut.address.in_(digests))).first() is not None  # type: ignore[attr-defined]


def suppress(session: Session, address: str, key: str | bytes, *, channel: str, now: datetime,
             source: str = "erasure") -> OptOut:
    """Replace an address's opt-out by its hashed suppression entry (or add one): the plain
    address is gone, the "do not contact" stays."""
    digest = suppression_digest(key, address)
    session.execute(sa.delete(OptOut).where(OptOut.address == canonical(address)))
    return record(session, channel, digest, source=source, now=now)


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


def list_for(session: Session, addresses: Iterable[str | None],
             key: str | bytes | None = None) -> list[OptOut]:
    """The opt-out rows for these addresses (with `key`, erased customers' hashed ones too)."""
    wanted = sorted(row_addresses(addresses, key))
    if not wanted:
        return []
    return list(session.exec(select(OptOut).where(
        OptOut.address.in_(wanted)).order_by(OptOut.created_at)).all())  # type: ignore[attr-defined]
