"""Input shapes of the ingest API and the CSV import, with the checks that name the bad field."""

from __future__ import annotations

import functools
import locale as pylocale
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES
from phonenumbers import phonenumberutil
from phonenumbers.re_util import re_compile
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from feedback.edge import has_control
from surveys.models import InteractionChannel
from surveys.types import utcnow

# An interaction older than this is a typo (or a zero date), one later than a year from now
# would schedule a survey for the distant future.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_AHEAD = timedelta(days=366)


@functools.lru_cache(maxsize=65536)
def normalise_phone(value: str, region: str | None) -> str:
    # Cached: parsing is ~0.2 ms, and a bulk import names the same customers again and again.
    fast = _valid_e164(value)
    if fast is not None:
        return fast
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"{value!r} is not a phone number (use E.164, e.g. +14155550100)") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError(f"{value!r} is not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _valid_e164(value: str) -> str | None:
    """`value` itself when it is already a valid E.164 number that `phonenumbers.parse` would
    keep as it is; None: not sure, take the full path (which also words any refusal).

    Most imports send E.164 already. Parsing it is half the cost of a check (the rest is
    `is_valid_number`, kept): the country code is read off directly (ITU codes are prefix-free)
    and the number built as parse would build it. Left to the full path: national numbers with
    a leading zero (kept as "Italian" zeros) and any a national prefix rule could rewrite."""
    digits = value[1:]
    if not (value[:1] == "+" and digits.isascii() and digits.isdigit() and 7 <= len(digits) <= 15):
        return None
    for k in (1, 2, 3):
        cc = int(digits[:k])
        if cc in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    national = digits[k:]
    meta = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(
        cc, phonenumbers.region_code_for_country_code(cc))
    prefix = meta.national_prefix_for_parsing if meta is not None else None
    if meta is None or national.startswith("0") or (prefix and re.match(prefix, national)):
        return None
    number = phonenumbers.PhoneNumber(country_code=cc, national_number=int(national))
    return value if is_valid_number(number) else None


def is_valid_number(number: phonenumbers.PhoneNumber) -> bool:
    """`phonenumbers.is_valid_number`, with a quarter of its pattern matches; the same answer
    (tests compare the two over every region's example numbers and random digits).

    The library finds the number's region by typing it against each region of its calling code
    (for +1 that is 25 regions), then types it again to validate it; typing tries ten number
    types one by one, fixed line among the last. A number is valid when any type matches, so
    here the common types go first, and a region found by typing is not typed twice. Most of
    an import's rows are new phone numbers: this was half of their validation."""
    cc = number.country_code
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(cc)
    if not regions:
        return False
    nsn = phonenumbers.national_significant_number(number)
    if len(regions) == 1:
        region = regions[0]
        meta = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(cc, region.upper())
        if meta is None or (region != phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY
                            and cc != phonenumbers.country_code_for_valid_region(region)):
            return False
        return _has_type(nsn, meta)
    for region in regions:
        meta = phonenumbers.PhoneMetadata.metadata_for_region(region.upper(), None)
        if meta is None:
            continue
        if meta.leading_digits is not None:
            if re_compile(meta.leading_digits).match(nsn):  # the region; then typed against it
                return (region == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY
                        or cc == phonenumbers.country_code_for_valid_region(region)) and _has_type(nsn, meta)
        elif _has_type(nsn, meta):  # the region, and valid there (the same test the library repeats)
            return True
    return False


def _has_type(nsn: str, meta: Any) -> bool:
    """`_number_type_helper(nsn, meta) != UNKNOWN`: the general pattern, then any number type
    (mobile only when its pattern differs from fixed line's, as the library does)."""
    matches = _matching_desc
    if not matches(nsn, meta.general_desc):
        return False
    kinds = (meta.fixed_line, meta.mobile, meta.toll_free, meta.premium_rate, meta.shared_cost,
             meta.voip, meta.personal_number, meta.pager, meta.uan, meta.voicemail)
    return any(matches(nsn, d) for d in kinds
               if d is not meta.mobile or not meta.same_mobile_and_fixed_line_pattern)


_matching_desc = phonenumberutil._is_number_matching_desc  # noqa: SLF001 - see is_valid_number


# A plain ASCII dot-atom before the @ and an ASCII host name after it: the common address.
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")
_HOST = re.compile(r"[A-Za-z0-9.-]+\Z")


@functools.lru_cache(maxsize=4096)
def _email_domain(domain: str) -> str | None:
    """The normalised domain, or None when the full check would refuse it. Checked once per
    domain: the domain check (IDNA rules per character) is most of an address's cost, and a
    customer list has few domains."""
    try:
        return validate_email("x@" + domain, check_deliverability=False).domain
    except EmailNotValidError:
        return None


@functools.lru_cache(maxsize=65536)
def normalise_email(value: str) -> str:
    # Cached like the phone: a refused address raises, and an exception is never cached.
    local, at, domain = value.rpartition("@")
    # The same result as `validate_email` for a plain address (its local part is kept as
    # written, its domain normalised); anything else — quoted, non-ASCII, too long, a role
    # mailbox it lower-cases, a refused domain — takes the full check and its wording.
    if (at and len(local) <= 64 and len(value) <= 254 and _LOCAL.match(local)
            and _HOST.match(domain) and local.lower() not in CASE_INSENSITIVE_MAILBOX_NAMES):
        normal = _email_domain(domain)
        if normal is not None:
            return f"{local}@{normal}"
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"{value!r} is not a valid email address: {exc}") from exc


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*")
    @classmethod
    def _no_control(cls, v: Any) -> Any:
        # The API refuses these at the edge already; a CSV import comes here directly.
        # Called for every field of every row of an import: the common cases first, no lists.
        if isinstance(v, str):
            bad = has_control(v)
        elif isinstance(v, dict):
            bad = any(isinstance(t, str) and has_control(t) for t in (*v.keys(), *v.values()))
        else:
            return v
        if bad:
            raise ValueError("control characters (such as NUL) are not allowed")
        return v


class CustomerIn(_In):

    external_id: str | None = Field(default=None, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    locale: str | None = Field(default=None, max_length=20)
    time_zone: str | None = Field(default=None, max_length=64)
    tier: str | None = Field(default=None, max_length=40)

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        if not v:
            return None
        return normalise_email(v)

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None, info: ValidationInfo) -> str | None:
        if not v:
            return None
        return normalise_phone(v, (info.context or {}).get("phone_region"))

    @field_validator("locale")
    @classmethod
    def _locale(cls, v: str | None) -> str | None:
        """A language tag the system knows ("fa", "zh-CN", "pt-BR"); a typo like "xx" would
        otherwise be kept and the customer silently written to in the fallback language."""
        if not v:
            return None
        lang, _, region = v.replace("_", "-").partition("-")
        if not lang.isalpha() or lang.lower() not in pylocale.locale_alias or (
                region and not region.isalnum()):
            raise ValueError(f"{v!r} is not a known language tag (e.g. en, fa, zh-CN)")
        return lang.lower() + (f"-{region.upper()}" if region else "")

    @field_validator("time_zone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        if not v:
            return None
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{v!r} is not an IANA time zone (e.g. Asia/Shanghai)") from exc
        return v


DAY = 86_400
OPERATION_FIELDS = ("offered_at", "answered_at", "wait_seconds", "talk_seconds", "hold_seconds",
                    "wrap_seconds", "abandoned", "transfers", "resolved", "contact_reason",
                    "first_response_seconds", "blocked")


def _window(now: datetime) -> str:
    # Worded only for a refusal: formatting it for every timestamp was a tenth of validation.
    return f"must be between {EARLIEST:%Y-%m-%d} and {now + LATEST_AHEAD:%Y-%m-%d}"


class InteractionIn(_In):

    external_id: str = Field(min_length=1, max_length=200)
    channel: InteractionChannel
    occurred_at: datetime
    agent: str | None = Field(default=None, max_length=200)
    team: str | None = Field(default=None, max_length=200)
    queue: str | None = Field(default=None, max_length=200)
    metadata: dict[str, Any] | None = None
    customer: CustomerIn
    survey: str | None = Field(default=None, description="survey key (nps, csat, ces); else the rules decide")
    survey_channel: str | None = Field(default=None, pattern="^(auto|sms|email|link|none)$")

    # Operational facts (optional): see "Operational KPIs" in the README.
    offered_at: datetime | None = None
    answered_at: datetime | None = None
    wait_seconds: int | None = Field(default=None, ge=0, le=DAY, validate_default=True)
    talk_seconds: int | None = Field(default=None, ge=0, le=DAY)
    hold_seconds: int | None = Field(default=None, ge=0, le=DAY)
    wrap_seconds: int | None = Field(default=None, ge=0, le=DAY)
    abandoned: bool | None = None
    transfers: int | None = Field(default=None, ge=0, le=50)
    resolved: bool | None = None
    contact_reason: str | None = Field(default=None, max_length=200)
    first_response_seconds: int | None = Field(default=None, ge=0, le=31 * DAY)
    blocked: bool | None = None

    @field_validator("occurred_at", "offered_at", "answered_at")
    @classmethod
    def _aware(cls, v: datetime | None, info: ValidationInfo) -> datetime | None:
        if v is None:
            return None
        now = (info.context or {}).get("now") or utcnow()
        try:
            # A timestamp without an offset is ambiguous; we read it as UTC, as most CRMs mean.
            v = v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)
        except OverflowError:  # e.g. 0001-01-01T00:30:00+01:00 is before year 1 in UTC
            raise ValueError(_window(now)) from None
        if not EARLIEST <= v <= now + LATEST_AHEAD:
            raise ValueError(_window(now))
        return v

    @field_validator("contact_reason")
    @classmethod
    def _reason(cls, v: str | None) -> str | None:
        if v and any(ord(ch) < 32 for ch in v):
            raise ValueError("contact_reason must not contain control characters")
        return v or None

    # Cross-field checks sit on the later field (pydantic validates in declaration order), so
    # each error is reported at a field name, which the CSV import turns into its column.
    @field_validator("answered_at")
    @classmethod
    def _answered(cls, v: datetime | None, info: ValidationInfo) -> datetime | None:
        offered = info.data.get("offered_at")
        if v is not None and offered is not None:
            if v < offered:
                raise ValueError("must not be before offered_at")
            if (v - offered).total_seconds() > DAY:
                raise ValueError(f"is more than {DAY} seconds after offered_at")
        return v

    @field_validator("wait_seconds")
    @classmethod
    def _wait(cls, v: int | None, info: ValidationInfo) -> int | None:
        offered, answered = info.data.get("offered_at"), info.data.get("answered_at")
        if offered is None or answered is None:
            return v
        wait = int((answered - offered).total_seconds())
        if v is not None and abs(v - wait) > 1:
            raise ValueError(f"{v} disagrees with answered_at - offered_at ({wait} s): send "
                             "one or the other")
        return wait

    @field_validator("abandoned")
    @classmethod
    def _abandoned(cls, v: bool | None, info: ValidationInfo) -> bool | None:
        if v:
            if info.data.get("answered_at") is not None:
                raise ValueError("an abandoned contact was never answered: drop answered_at")
            if any(info.data.get(k) for k in ("talk_seconds", "hold_seconds", "wrap_seconds")):
                raise ValueError("an abandoned contact has no talk, hold or wrap time")
        return v

    @field_validator("blocked")
    @classmethod
    def _blocked(cls, v: bool | None, info: ValidationInfo) -> bool | None:
        if v:
            queued = [k for k in ("answered_at", "talk_seconds", "hold_seconds", "wrap_seconds")
                      if info.data.get(k)]
            if info.data.get("abandoned") or info.data.get("wait_seconds"):
                queued.insert(0, "abandoned" if info.data.get("abandoned") else "wait_seconds")
            if queued:
                raise ValueError(f"a blocked contact never reached the queue: drop {queued[0]}")
        return v

    def operations(self) -> dict[str, Any]:
        """The operational columns of `interaction`, as given (None = not sent)."""
        return {name: getattr(self, name) for name in OPERATION_FIELDS}


class InteractionBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    interactions: list[InteractionIn] = Field(min_length=1, max_length=1000)
