"""API shapes of policies: the contact, SLA, calendar, classification and branding rules a CX
team changes without a developer (PUT /api/policies, the /config/policies page, config files).

Each check names its field (`sla[1].resolution_hours: must not be shorter than the first-contact
target`), so the API and the page say exactly what is wrong.
"""

from __future__ import annotations

import re
from datetime import date, time
from functools import cache
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, field_validator, model_validator

from feedback.configuration.schemas import _In, _texts
from feedback.edge import has_control

PRIORITIES = ("normal", "high", "urgent")
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
def _no_control(v: str) -> str:
    if has_control(v):
        raise ValueError("control characters are not allowed")
    return v


_Team = Field(default="", max_length=200, description="empty: every team (the default)")
Team = Annotated[str, AfterValidator(_no_control)]


@cache
def holiday_countries() -> dict[str, tuple[str, ...]]:
    """ISO country code → its subdivision codes, as the `holidays` library knows them."""
    import holidays

    return {c: tuple(s) for c, s in holidays.list_supported_countries().items()}


class QuietHoursIn(_In):
    """No survey goes out between `start` and `end` in the customer's local time (on the
    channels listed; an e-mail waits in the inbox anyway)."""

    start: time = time(21, 0)
    end: time = time(8, 0)
    channels: list[Literal["sms", "email"]] = Field(default=["sms"], max_length=2)


class SlaTargetIn(_In):
    """Hours to first contact and to resolution of a recovery task. The most specific target
    applies: team and priority, then team, then priority, then the default (both empty)."""

    team: Team = _Team
    priority: Literal["", "normal", "high", "urgent"] = ""
    first_contact_hours: float = Field(gt=0, le=24 * 365)
    resolution_hours: float = Field(gt=0, le=24 * 365)

    @model_validator(mode="after")
    def _order(self) -> SlaTargetIn:
        if self.resolution_hours < self.first_contact_hours:
            raise ValueError("resolution_hours: must not be shorter than first_contact_hours")
        return self


class BusinessHoursIn(_In):
    """A team's open hours in its own time zone; SLA clocks count open hours only. A team
    without an entry uses the default (team empty); no entry at all: the clock never stops."""

    team: Team = _Team
    time_zone: str = Field(default="UTC", min_length=1, max_length=64,
                           description="IANA name, e.g. Europe/Berlin")
    hours: dict[str, str] = Field(max_length=7, description=(
        'day or day range → open intervals, e.g. {"mon-fri": "09:00-17:00", "sat": "closed"}'))

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{v!r} is not an IANA time zone (like Europe/Berlin)") from None
        return v

    @field_validator("hours")
    @classmethod
    def _hours(cls, v: dict[str, str]) -> dict[str, str]:
        from feedback.recovery.sla import parse_business_hours

        if not v:
            raise ValueError("give at least one day, e.g. mon-fri = 09:00-17:00")
        try:
            parse_business_hours(v)
        except ValueError as exc:  # its message names the day and the bad span
            raise ValueError(str(exc).removeprefix("recovery_business_hours").lstrip(": ")) from None
        return v


class HolidaysIn(_In):
    """Days the SLA clock stops: a country's (and region's) public holidays, plus own dates."""

    country: str = Field(default="", max_length=3, description="ISO 3166 code, e.g. DE; empty: none")
    subdivision: str = Field(default="", max_length=10, description="e.g. BY for Bavaria")
    custom: list[date] = Field(default_factory=list, max_length=366)

    @field_validator("country", "subdivision")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.strip().upper()

    @model_validator(mode="after")
    def _known(self) -> HolidaysIn:
        known = holiday_countries()
        if self.country and self.country not in known:
            raise ValueError(f"country: {self.country!r} is not a country the holidays library "
                             "knows (ISO codes like US, DE, CN, IR)")
        if self.subdivision:
            if not self.country:
                raise ValueError("subdivision: choose the country first")
            if self.subdivision not in known[self.country]:
                subs = ", ".join(known[self.country][:30]) or "none"
                raise ValueError(f"subdivision: {self.subdivision!r} is not a region of "
                                 f"{self.country} (known: {subs})")
        self.custom = sorted(set(self.custom))
        return self


class ThresholdsIn(_In):
    """Where a score counts as promoter/detractor (NPS), satisfied/dissatisfied (CSAT, 1-5),
    easy/difficult (CES, 1-7). A negative class opens a recovery task."""

    nps_promoter_min: int = Field(default=9, ge=0, le=10)
    nps_detractor_max: int = Field(default=6, ge=0, le=10)
    csat_satisfied_min: int = Field(default=4, ge=1, le=5)
    csat_dissatisfied_max: int = Field(default=2, ge=1, le=5)
    ces_easy_min: int = Field(default=5, ge=1, le=7)
    ces_difficult_max: int = Field(default=3, ge=1, le=7)

    @model_validator(mode="after")
    def _order(self) -> ThresholdsIn:
        for _kind, low, high in (("nps", "nps_detractor_max", "nps_promoter_min"),
                                ("csat", "csat_dissatisfied_max", "csat_satisfied_min"),
                                ("ces", "ces_difficult_max", "ces_easy_min")):
            if getattr(self, low) >= getattr(self, high):
                raise ValueError(f"{low}: must be below {high} ({getattr(self, high)})")
        return self


class BrandingIn(_In):
    company_name: str = Field(default="Acme", min_length=1, max_length=120)
    logo_url: str = Field(default="", max_length=500, description="https:// address of an image")
    colour: str = Field(default="", max_length=7, description="hex like #1a73e8; empty: default")
    sender_name: str = Field(default="", max_length=120,
                             description="the e-mail's From name; empty: the company name")

    @field_validator("company_name", "sender_name")
    @classmethod
    def _name(cls, v: str) -> str:
        if has_control(v) or any(c in v for c in '<>"'):
            raise ValueError('control characters, <, > and " are not allowed')
        return v

    @field_validator("logo_url")
    @classmethod
    def _url(cls, v: str) -> str:
        from feedback.configuration.branding import logo_origin

        if v and (logo_origin(v) is None or has_control(v) or any(c in v for c in '<>"\' ;,')):
            raise ValueError("must be an http(s):// address without spaces or quotes")
        return v

    @field_validator("colour")
    @classmethod
    def _colour(cls, v: str) -> str:
        if v and not _HEX.match(v):
            raise ValueError(f"{v!r} is not a hex colour like #1a73e8")
        return v.lower()


class PoliciesIn(_In):
    """Every policy at once (PUT /api/policies replaces the whole document: a new version)."""

    quiet_hours: QuietHoursIn = Field(default_factory=QuietHoursIn)
    fatigue_days: int = Field(default=30, ge=0, le=365, description=(
        "days a customer is not surveyed again after a survey (0: no limit)"))
    sla: list[SlaTargetIn] = Field(min_length=1, max_length=500)
    business_hours: list[BusinessHoursIn] = Field(default_factory=list, max_length=200)
    holidays: HolidaysIn = Field(default_factory=HolidaysIn)
    root_causes: list[str] = Field(min_length=1, max_length=60)
    thresholds: ThresholdsIn = Field(default_factory=ThresholdsIn)
    branding: BrandingIn = Field(default_factory=BrandingIn)

    @field_validator("root_causes")
    @classmethod
    def _causes(cls, v: list[str]) -> list[str]:
        out = _texts(v)
        if not out:
            raise ValueError("give at least one root cause")
        return out

    @field_validator("sla")
    @classmethod
    def _sla(cls, v: list[SlaTargetIn]) -> list[SlaTargetIn]:
        seen: set[tuple[str, str]] = set()
        for t in v:
            key = (t.team.casefold(), t.priority)
            if key in seen:
                raise ValueError(f"two targets for team {t.team or '(every team)'!r} and "
                                 f"priority {t.priority or '(every priority)'!r}")
            seen.add(key)
        if ("", "") not in seen:
            raise ValueError("add a default target (team and priority empty)")
        return v

    @field_validator("business_hours")
    @classmethod
    def _teams(cls, v: list[BusinessHoursIn]) -> list[BusinessHoursIn]:
        teams = [b.team.casefold() for b in v]
        if len(set(teams)) != len(teams):
            raise ValueError("each team has at most one calendar")
        return v


class PoliciesDoc(PoliciesIn):
    """PUT /api/policies: the document plus the edit's bookkeeping."""

    base_version: int | None = Field(default=None, ge=0, description=(
        "the version this edit started from: 409 if someone saved since"))
    note: str = Field(default="", max_length=500)


class PoliciesPatch(_In):
    """POST /api/policies: change only the sections given (a new version)."""

    quiet_hours: QuietHoursIn | None = None
    fatigue_days: int | None = Field(default=None, ge=0, le=365)
    sla: list[SlaTargetIn] | None = Field(default=None, min_length=1, max_length=500)
    business_hours: list[BusinessHoursIn] | None = Field(default=None, max_length=200)
    holidays: HolidaysIn | None = None
    root_causes: list[str] | None = Field(default=None, min_length=1, max_length=60)
    thresholds: ThresholdsIn | None = None
    branding: BrandingIn | None = None
    base_version: int | None = Field(default=None, ge=0)
    note: str = Field(default="", max_length=500)

    def sections(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump(mode="json").items()
                if v is not None and k not in ("base_version", "note")}
