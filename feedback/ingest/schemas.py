"""Input shapes of the ingest API and the CSV import, with the checks that name the bad field."""

from __future__ import annotations

import locale as pylocale
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from surveys.models import InteractionChannel


def normalise_phone(value: str, region: str | None) -> str:
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"{value!r} is not a phone number (use E.164, e.g. +14155550100)") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError(f"{value!r} is not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


class CustomerIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

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
        try:
            return validate_email(v, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ValueError(f"{v!r} is not a valid email address: {exc}") from exc

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


class InteractionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

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

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        # A timestamp without an offset is ambiguous; we read it as UTC, as most CRMs mean.
        return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)


class InteractionBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    interactions: list[InteractionIn] = Field(min_length=1, max_length=1000)
