"""Contact policy: when, whether and how a customer may be contacted. Pure functions.

Time is always passed in (`now`, aware datetimes) so the rules are testable without a clock;
results are aware UTC datetimes. Quiet hours are read on the customer's own wall clock.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezone

ContactChannel = Literal["sms", "email", "link"]
Action = Literal["send", "defer", "skip"]

DEFAULT_QUIET_START = time(21, 0)
DEFAULT_QUIET_END = time(8, 0)
DEFAULT_RETRY_BASE = timedelta(seconds=30)
DEFAULT_RETRY_CAP = timedelta(hours=1)


class Reason(StrEnum):
    """Why a message was (not) sent. Stable values: stored in the database and shown to staff."""

    SENT = "sent"
    QUIET_HOURS = "quiet_hours"
    FATIGUE = "fatigue"
    OPTED_OUT = "opted_out"
    NO_CONTACT = "no_contact"
    EXPIRED = "expired"
    RETRYING = "retrying"
    FAILED = "failed"
    INVALID_RECIPIENT = "invalid_recipient"
    CHANNEL_UNAVAILABLE = "channel_unavailable"
    ALREADY_SENT = "already_sent"
    LINK_ONLY = "link_only"
    CHANNEL_PAUSED = "channel_paused"

    @property
    def explanation(self) -> str:
        return _EXPLANATIONS[self]


_EXPLANATIONS: dict[Reason, str] = {
    Reason.SENT: "The message was accepted by the provider.",
    Reason.QUIET_HOURS: "It is quiet hours in the customer's time zone; the message waits until "
                        "they end.",
    Reason.FATIGUE: "The customer was surveyed recently; not asking again so soon.",
    Reason.OPTED_OUT: "The customer opted out of this channel (or of all messages).",
    Reason.NO_CONTACT: "The customer has no usable phone number or email address.",
    Reason.EXPIRED: "The survey link expired before the message could be sent.",
    Reason.RETRYING: "The provider failed temporarily; the message will be retried.",
    Reason.FAILED: "Sending failed and will not be retried.",
    Reason.INVALID_RECIPIENT: "The provider rejected the phone number or email address.",
    Reason.CHANNEL_UNAVAILABLE: "The channel is not configured; the message went to the "
                                "development outbox.",
    Reason.ALREADY_SENT: "The provider already has this message (found after an interruption); "
                         "it was not sent twice.",
    Reason.LINK_ONLY: "The survey rule asks for a link only; no message is sent.",
    Reason.CHANNEL_PAUSED: "The provider refused our configuration (e.g. credentials); the "
                           "channel is paused and the message waits until it works again.",
}


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with a due message now: send it, defer it until `not_before`, or skip it."""

    action: Action
    reason: Reason | None = None
    not_before: datetime | None = None
    channel: ContactChannel | None = None
    rule: str | None = None  # which rule applied, in words, for the contact log

    @property
    def explanation(self) -> str:
        if self.reason is None:
            return "Send now."
        text = self.reason.explanation
        if self.rule:
            text += f" Rule: {self.rule}."
        if self.not_before is not None:
            text += f" Next attempt at {self.not_before.strftime('%Y-%m-%d %H:%M')} UTC."
        return text


# --- time zones and quiet hours ---------------------------------------------------------


def resolve_zone(tz_name: str | None, default_tz: str = "UTC") -> ZoneInfo:
    """The customer's zone; an empty or unknown name falls back to `default_tz` (which must exist).

    Customer zones come from imported data and are not trusted; the default is configuration,
    so an invalid default is an error rather than a silent UTC.
    """
    name = (tz_name or "").strip()
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass  # ValueError: malformed keys such as "../etc/passwd" or "Asia//Tehran"
    try:
        return ZoneInfo(default_tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"default time zone {default_tz!r} does not exist") from exc


def infer_zone(tz_name: str | None, phone: str | None, now: datetime,
               default_tz: str = "UTC") -> str:
    """The zone to read quiet hours in: the customer's own (when it exists), else the one their
    phone number belongs to, else `default_tz`.

    A number that spans several zones (a US toll-free number, most of Russia's mobiles) gets the
    one that wakes latest — the smallest UTC offset at `now` — so the morning end of quiet hours
    has come everywhere the customer may be. Unknown or unparsable numbers give the default.
    """
    name = (tz_name or "").strip()
    if name:
        try:
            ZoneInfo(name)
            return name
        except (ZoneInfoNotFoundError, ValueError):
            pass
    zones = _phone_zones(phone)
    if not zones:
        return default_tz
    return min(zones, key=lambda z: (now.astimezone(ZoneInfo(z)).utcoffset(), z))


def _phone_zones(phone: str | None) -> list[str]:
    if not phone or not phone.strip():
        return []
    try:
        number = phonenumbers.parse(phone.strip(), None)
    except phonenumbers.NumberParseException:
        return []
    found = []
    for zone in phone_timezone.time_zones_for_number(number):
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            continue  # "Etc/Unknown", or a zone this system's tzdata lacks
        found.append(zone)
    return found


def in_quiet_hours(wall: time, quiet_start: time, quiet_end: time) -> bool:
    """Is this local wall-clock time inside [quiet_start, quiet_end)? Handles midnight wrap."""
    if quiet_start == quiet_end:
        return False  # an empty window: quiet hours disabled
    if quiet_start < quiet_end:
        return quiet_start <= wall < quiet_end
    return wall >= quiet_start or wall < quiet_end


def next_allowed_send(
    now: datetime,
    tz_name: str | None,
    quiet_start: time = DEFAULT_QUIET_START,
    quiet_end: time = DEFAULT_QUIET_END,
    *,
    default_tz: str = "UTC",
) -> datetime:
    """The earliest instant ≥ `now` that is outside quiet hours on the customer's wall clock.

    `now` itself if it is allowed; otherwise the moment quiet hours end. DST is handled by
    working with real instants: when the end time falls in a spring-forward gap the window ends
    when the clocks jump; when it occurs twice (fall back) the first occurrence counts.
    """
    _require_aware(now, "now")
    zone = resolve_zone(tz_name, default_tz)
    start, end = _wall(quiet_start), _wall(quiet_end)
    now_utc = now.astimezone(UTC)
    if not in_quiet_hours(_local_wall(now_utc, zone), start, end):
        return now_utc
    local_day = now_utc.astimezone(zone).date()
    # The end lies on today's or tomorrow's local date (a day more covers odd DST days).
    for offset in range(3):
        for candidate in _instants_at(local_day + timedelta(days=offset), end, zone):
            if candidate > now_utc and not in_quiet_hours(_local_wall(candidate, zone), start, end):
                return candidate
    raise AssertionError("quiet hours never end")  # unreachable for any non-empty window


def _instants_at(day: date, wall: time, zone: ZoneInfo) -> list[datetime]:
    """UTC instants at which the wall clock of `zone` reads `wall` on `day`, earliest first.

    Two in a fall-back overlap, one normally; in a spring-forward gap the wall time never
    occurs, and the first instant after the gap (the transition itself) is returned.
    """
    naive = datetime.combine(day, wall)
    found = []
    for fold in (0, 1):
        instant = naive.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == naive:  # round-trips: it exists
            found.append(instant)
    if found:
        return sorted(set(found))
    # In a gap fold=1 maps to an instant before the transition and fold=0 to one after;
    # step minute by minute (gaps are whole minutes, at most a few hours) to the transition.
    probe = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    limit = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    probe = probe.replace(second=0, microsecond=0)
    while probe < limit and probe.astimezone(zone).replace(tzinfo=None) < naive:
        probe += timedelta(minutes=1)
    return [probe]


def _local_wall(instant: datetime, zone: ZoneInfo) -> time:
    return instant.astimezone(zone).time().replace(tzinfo=None)


def _wall(t: time) -> time:
    if t.tzinfo is not None:
        raise ValueError("quiet hours are local wall-clock times: pass naive `time`s")
    return t


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


# --- fatigue, channel choice, retries -------------------------------------------------------


def fatigue_ok(last_surveyed_at: datetime | None, now: datetime, days: int) -> bool:
    """May this customer be surveyed again? At most one survey per `days` (0 disables)."""
    _require_aware(now, "now")
    if last_surveyed_at is None or days <= 0:
        return True
    _require_aware(last_surveyed_at, "last_surveyed_at")
    return now - last_surveyed_at >= timedelta(days=days)


def choose_channel(
    phone: str | None,
    email: str | None,
    opted_out: set[str] | frozenset[str],
    preferred: str | None = None,
) -> ContactChannel:
    """SMS when there is a phone and no SMS opt-out, else email, else only a link.

    `opted_out` holds channel names ("sms", "email"); "all" blocks both. A `preferred` channel
    ("sms"/"email"; "auto" or None for the default order) is used when usable, otherwise the
    other one: a survey rule expresses a preference, not a reason to skip the customer.
    "link" means no message is sent (the link can still be shown to an agent).
    """
    blocked = {c.strip().lower() for c in opted_out}
    usable: dict[str, bool] = {
        "sms": bool(phone and phone.strip()) and not blocked & {"sms", "all"},
        "email": bool(email and email.strip()) and not blocked & {"email", "all"},
    }
    pref = (preferred or "auto").strip().lower()
    if pref == "link":
        return "link"
    if pref not in ("auto", "sms", "email"):
        raise ValueError(f"unknown channel preference {preferred!r}")
    order = ["sms", "email"] if pref in ("auto", "sms") else ["email", "sms"]
    for channel in order:
        if usable[channel]:
            return channel  # type: ignore[return-value]
    return "link"


def link_only_reason(phone: str | None, email: str | None) -> Reason:
    """Why `choose_channel` said "link": nothing to contact, or every contact opted out."""
    has_contact = bool(phone and phone.strip()) or bool(email and email.strip())
    return Reason.OPTED_OUT if has_contact else Reason.NO_CONTACT


def retry_delay(
    attempt: int,
    base: timedelta = DEFAULT_RETRY_BASE,
    cap: timedelta = DEFAULT_RETRY_CAP,
    rng: random.Random | None = None,
    *,
    retry_after: float | None = None,
) -> timedelta:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base·2^(attempt-1))].

    Full jitter spreads the retries of many messages that failed together (a provider outage)
    instead of sending them back in synchronized waves. A provider's `retry_after` hint (seconds)
    is a floor, itself capped so a bogus header cannot park a message for days.
    """
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    ceiling = cap.total_seconds()
    # Cap the exponent before computing it: 2**attempt for a large attempt would overflow floats.
    exponent = min(attempt - 1, 62)
    upper = min(ceiling, base.total_seconds() * (2.0 ** exponent))
    delay = (rng or random).uniform(0.0, upper)
    if retry_after is not None and retry_after > 0:
        delay = max(delay, min(retry_after, ceiling))
    return timedelta(seconds=delay)


# --- the combined pre-send check -------------------------------------------------------------


def decide(
    now: datetime,
    *,
    phone: str | None,
    email: str | None,
    opted_out: set[str] | frozenset[str],
    preferred: str | None = None,
    expires_at: datetime | None = None,
    last_surveyed_at: datetime | None = None,
    fatigue_days: int = 0,
    tz_name: str | None = None,
    default_tz: str = "UTC",
    quiet_start: time = DEFAULT_QUIET_START,
    quiet_end: time = DEFAULT_QUIET_END,
) -> Decision:
    """The policy checks for a due message, in order: expiry, fatigue, channel, quiet hours.

    Quiet hours only defer; if the deferral would pass the expiry the message is skipped as
    expired now rather than sent late or held for nothing.
    """
    _require_aware(now, "now")
    if expires_at is not None:
        _require_aware(expires_at, "expires_at")
        if now >= expires_at:
            return Decision("skip", Reason.EXPIRED)
    if not fatigue_ok(last_surveyed_at, now, fatigue_days):
        return Decision("skip", Reason.FATIGUE)
    channel = choose_channel(phone, email, opted_out, preferred)
    if channel == "link":
        reason = (Reason.LINK_ONLY if (preferred or "").strip().lower() == "link"
                  else link_only_reason(phone, email))
        return Decision("skip", reason, channel="link")
    allowed = next_allowed_send(now, tz_name, quiet_start, quiet_end, default_tz=default_tz)
    if allowed > now:
        if expires_at is not None and allowed >= expires_at:
            return Decision("skip", Reason.EXPIRED, channel=channel)
        return Decision("defer", Reason.QUIET_HOURS, not_before=allowed, channel=channel)
    return Decision("send", channel=channel)
