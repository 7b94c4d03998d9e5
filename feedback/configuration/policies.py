"""Policies edited in the product: quiet hours, fatigue, SLA targets per team and priority,
business hours per team, holidays, root causes, classification thresholds and branding.

One versioned document (`config_revision`, kind "policies"), like the rules: every save is a
new version with who and when, history is never rewritten. Until an admin saves a first
version the deployment's settings are the policy (the seed).

The product reads policies in two ways, both through the per-process config cache (so a change
applies in every web and worker process at its next read, without a restart):
- `current(session, settings)`: the parsed policy, for what settings never could say (SLA per
  team, one business calendar per team, holidays of a country);
- `effective(session, settings)`: the settings with the policy's global values laid over them,
  so code that has always read `settings.quiet_hours_start` or `settings.thresholds` reads the
  policy without knowing where it came from.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import parseaddr
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session

from feedback.configuration import repository
from feedback.configuration.models import ConfigRevision
from feedback.configuration.policy_schemas import PoliciesDoc, PoliciesIn, PoliciesPatch
from feedback.configuration.schemas import parse
from feedback.recovery.sla import Calendar, parse_business_hours
from feedback.settings import Settings
from outreach.messages import Site
from surveys.errors import Conflict

KIND = "policies"
SEED_ACTOR = "settings (seed)"
# Library holidays are expanded for these years around the day the policy was read: SLA windows
# are days long, and a policy is re-read at every change (and every process start).
_YEARS_BACK, _YEARS_AHEAD = 1, 4


@dataclass(frozen=True)
class PolicySet:
    version: int  # 0: not saved yet, the settings apply
    doc: PoliciesIn
    changed_by: str | None = None
    changed_at: datetime | None = None
    calendars: dict[str, Calendar] = field(default_factory=dict, compare=False)
    targets: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict, compare=False)

    def windows(self, team: str | None, priority: str) -> tuple[timedelta, timedelta]:
        """(first contact, resolution) for a task of this team and priority: the most specific
        target wins (team+priority, team, priority, default)."""
        t = (team or "").casefold()
        for key in ((t, priority), (t, ""), ("", priority), ("", "")):
            if key in self.targets:
                first, resolution = self.targets[key]
                return timedelta(hours=first), timedelta(hours=max(first, resolution))
        raise AssertionError("a policy always has a default SLA target")  # validated on save

    def calendar(self, team: str | None) -> Calendar:
        """The team's business calendar, else the default one, else open around the clock
        (still skipping no day: holidays only count where hours are kept)."""
        return (self.calendars.get((team or "").casefold()) or self.calendars.get("")
                or Calendar())

    @property
    def has_business_hours(self) -> bool:
        return bool(self.calendars)


def seed_document(settings: Settings) -> PoliciesIn:
    """The settings as a policy document: what applies until a first version is saved."""
    first, resolution = settings.recovery_first_contact_hours, settings.recovery_resolution_hours
    sla = [{"team": "", "priority": "", "first_contact_hours": first,
            "resolution_hours": max(first, resolution)}]
    for priority, over in sorted((settings.recovery_priority_windows or {}).items()):
        f = float(over.get("first_contact_hours", first))
        r = float(over.get("resolution_hours", resolution))
        sla.append({"team": "", "priority": priority, "first_contact_hours": f,
                    "resolution_hours": max(f, r)})
    hours = []
    if settings.recovery_business_hours:
        hours.append({"team": "", "hours": dict(settings.recovery_business_hours),
                      "time_zone": settings.recovery_time_zone or settings.default_time_zone or "UTC"})
    t = settings.thresholds
    return parse(PoliciesIn, {  # type: ignore[no-any-return]
        "quiet_hours": {"start": settings.quiet_hours_start.isoformat(),
                        "end": settings.quiet_hours_end.isoformat(),
                        "channels": list(settings.dispatch_quiet_hours_channels)},
        "fatigue_days": settings.fatigue_days, "sla": sla, "business_hours": hours,
        "holidays": {"custom": list(settings.recovery_holidays)},
        "root_causes": list(settings.recovery_root_causes),
        "thresholds": {k: getattr(t, k) for k in (
            "nps_promoter_min", "nps_detractor_max", "csat_satisfied_min",
            "csat_dissatisfied_max", "ces_easy_min", "ces_difficult_max")},
        "branding": {"company_name": settings.company_name,
                     "sender_name": parseaddr(settings.smtp_from)[0]}}, prefix="settings")


def _holidays(doc: PoliciesIn, today: date) -> frozenset[date]:
    days = set(doc.holidays.custom)
    if doc.holidays.country:
        import holidays

        years = range(today.year - _YEARS_BACK, today.year + _YEARS_AHEAD + 1)
        days |= set(holidays.country_holidays(doc.holidays.country,
                                              subdiv=doc.holidays.subdivision or None,
                                              years=years))
    return frozenset(days)


def build(doc: PoliciesIn, *, version: int = 0, changed_by: str | None = None,
          changed_at: datetime | None = None) -> PolicySet:
    # Which years of library holidays to expand, not a time rule: the process's today.
    off = _holidays(doc, datetime.now(UTC).date())
    calendars = {b.team.casefold(): Calendar(tz=ZoneInfo(b.time_zone),
                                             hours=parse_business_hours(b.hours), holidays=off)
                 for b in doc.business_hours}
    targets: dict[tuple[str, str], tuple[float, float]] = {(t.team.casefold(), t.priority): (t.first_contact_hours, t.resolution_hours)
               for t in doc.sla}
    return PolicySet(version=version, doc=doc, changed_by=changed_by, changed_at=changed_at,
                     calendars=calendars, targets=targets)


def _parse(row: ConfigRevision) -> PolicySet:
    return build(PoliciesIn.model_validate(row.body), version=row.version,
                 changed_by=row.changed_by, changed_at=row.changed_at)


_seed_lock = threading.Lock()
_seeds: dict[int, tuple[Settings, PolicySet]] = {}


def _seeded(settings: Settings) -> PolicySet:
    # Settings never change in a process; keep the parsed seed beside the very object.
    with _seed_lock:
        hit = _seeds.get(id(settings))
        if hit is not None and hit[0] is settings:
            return hit[1]
    ps = build(seed_document(settings))
    with _seed_lock:
        _seeds[id(settings)] = (settings, ps)
    return ps


def current(session: Session, settings: Settings) -> PolicySet:
    saved = repository.current(session, KIND, _parse)
    return saved if saved is not None else _seeded(settings)


def overlay(settings: Settings, ps: PolicySet) -> Settings:
    """The settings with the policy's global values laid over them."""
    if ps.version == 0:
        return settings
    d = ps.doc
    default_sla = ps.targets[("", "")]
    priority_windows = {p: {"first_contact_hours": f, "resolution_hours": r}
                        for (team, p), (f, r) in ps.targets.items() if not team and p}
    default_hours = next((b for b in d.business_hours if not b.team), None)
    return settings.model_copy(update={
        "quiet_hours_start": d.quiet_hours.start, "quiet_hours_end": d.quiet_hours.end,
        "dispatch_quiet_hours_channels": list(d.quiet_hours.channels),
        "fatigue_days": d.fatigue_days,
        **d.thresholds.model_dump(),
        "company_name": d.branding.company_name,
        "recovery_root_causes": list(d.root_causes),
        "recovery_first_contact_hours": default_sla[0],
        "recovery_resolution_hours": default_sla[1],
        "recovery_priority_windows": priority_windows,
        "recovery_business_hours": dict(default_hours.hours) if default_hours else {},
        "recovery_time_zone": default_hours.time_zone if default_hours else settings.recovery_time_zone,
        "recovery_holidays": [x.isoformat() for x in d.holidays.custom],
    })


def effective(session: Session, settings: Settings) -> Settings:
    return overlay(settings, current(session, settings))


def site_of(settings: Settings, ps: PolicySet) -> Site:
    """What messages to customers are branded with."""
    b = ps.doc.branding
    return Site(public_url=settings.public_url, company=b.company_name,
                secret_key=settings.secret_key, logo_url=b.logo_url, colour=b.colour,
                sender_name=b.sender_name)


def site(session: Session, settings: Settings) -> Site:
    return site_of(settings, current(session, settings))


def company_seen(url: str, settings: Settings) -> str:
    """The company name as this process last read the policies (no database read: page
    templates render on the event loop, where waiting for a connection would stall every
    request). Any handler that reads the policies refreshes it — saving them does."""
    ps = repository.peek(url, KIND)
    return (ps if ps is not None else _seeded(settings)).doc.branding.company_name


def live(engine: Engine, settings: Settings) -> tuple[Settings, Site]:
    """For the worker's long-lived dispatcher: the settings and branding as of now (it asks
    before each pass, so a saved policy applies at the next tick without a restart)."""
    from feedback.db import transaction

    with transaction(engine, write=False) as session:
        ps = current(session, settings)
        return overlay(settings, ps), site_of(settings, ps)


# --- editing ---------------------------------------------------------------------------------

_SECTIONS = ("quiet_hours", "fatigue_days", "sla", "business_hours", "holidays", "root_causes",
             "thresholds", "branding")


def save(session: Session, body: PoliciesDoc, *, by: str, now: datetime,
         settings: Settings) -> PolicySet:
    """A new version of the whole document (409 if `base_version` is stale)."""
    cur = current(session, settings)
    if body.base_version is not None and body.base_version != cur.version:
        raise Conflict(f"the policies changed since version {body.base_version} (now version "
                       f"{cur.version}, by {cur.changed_by}); reload and edit again",
                       field="base_version", code="policies_changed")
    doc = PoliciesIn.model_validate(body.model_dump(exclude={"base_version", "note"}))
    before, after = cur.doc.model_dump(mode="json"), doc.model_dump(mode="json")
    changed = [k for k in _SECTIONS if before[k] != after[k]]
    summary = ("changed " + ", ".join(s.replace("_", " ") for s in changed)) if changed else "no change"
    if body.note:
        summary = f"{summary} — {body.note}"
    version = cur.version + 1
    if not repository.insert_revision(session, KIND, version, after, by=by, now=now,
                                      summary=summary):
        raise Conflict("someone else saved the policies at the same moment; reload and edit again",
                       code="policies_changed")
    from feedback.auth import audit

    audit.record(session, now, actor=by, action="config.policies", target=f"version {version}",
                 detail={"summary": summary, "sections": changed})
    return build(doc, version=version, changed_by=by, changed_at=now)


def patch(session: Session, body: PoliciesPatch, *, by: str, now: datetime,
          settings: Settings) -> PolicySet:
    """A new version with only the given sections changed."""
    cur = current(session, settings)
    merged = {**cur.doc.model_dump(mode="json"), **body.sections(),
              "base_version": body.base_version, "note": body.note}
    return save(session, parse(PoliciesDoc, merged), by=by, now=now, settings=settings)


def policies_json(ps: PolicySet) -> dict[str, Any]:
    return {"version": ps.version, "source": "database" if ps.version else "settings",
            "changed_by": ps.changed_by,
            "changed_at": ps.changed_at.isoformat() if ps.changed_at else None,
            "policies": ps.doc.model_dump(mode="json")}
