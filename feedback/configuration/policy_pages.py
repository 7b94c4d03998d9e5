"""Admin page of policies: /config/policies — one form of labelled fields per section (no JSON
to type), saved as a new version with who and when; leads see the same page read-only.

The form's rows (SLA targets, business hours) are numbered fields (`sla-0-team`, …) with a few
blank rows to add to; a row left blank is dropped, so removing one is emptying it.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from feedback.auth.guards import provide_principal
from feedback.auth.permissions import allow
from feedback.configuration import policies, repository
from feedback.configuration.endpoints import actor
from feedback.configuration.policy_schemas import PRIORITIES, PoliciesDoc, holiday_countries
from feedback.configuration.schemas import parse
from feedback.deps import Conf, Db, Now
from surveys.errors import DomainError, ValidationFailed

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
BLANK_ROWS = 2
_THRESHOLDS = ("nps_promoter_min", "nps_detractor_max", "csat_satisfied_min",
               "csat_dissatisfied_max", "ces_easy_min", "ces_difficult_max")
_MAX_ROWS = 500


def _lines(text: str) -> list[str]:
    return [x.strip() for x in text.replace("\r", "").split("\n") if x.strip()]


def _hours(text: str, field: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for n, line in enumerate(_lines(text), start=1):
        if "=" not in line:
            raise ValidationFailed(f"{field}, line {n}: write days = hours, like "
                                   "mon-fri = 09:00-17:00", field=field)
        k, v = line.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _rows(data: dict[str, str], prefix: str) -> list[int]:
    found = set()
    for key in data:
        parts = key.split("-", 2)
        if len(parts) == 3 and parts[0] == prefix and parts[1].isdigit() and len(parts[1]) < 4:
            found.add(int(parts[1]))
    return sorted(found)[:_MAX_ROWS]


def doc_from_form(data: dict[str, str]) -> PoliciesDoc:
    """The form as a policy document; a bad field is refused naming it."""
    sla: list[dict[str, str]] = []
    for i in _rows(data, "sla"):
        row = {k: data.get(f"sla-{i}-{k}", "").strip() for k in (
            "team", "priority", "first_contact_hours", "resolution_hours")}
        if not row["first_contact_hours"] and not row["resolution_hours"]:
            continue  # a blank (or emptied) row
        sla.append(row)
    hours: list[dict[str, Any]] = []
    for i in _rows(data, "hours"):
        text = data.get(f"hours-{i}-hours", "")
        if not _lines(text):
            continue
        hours.append({"team": data.get(f"hours-{i}-team", "").strip(),
                      "time_zone": data.get(f"hours-{i}-time_zone", "").strip() or "UTC",
                      "hours": _hours(text, f"business_hours[{len(hours)}].hours")})
    body: dict[str, Any] = {
        "quiet_hours": {"start": data.get("quiet_start", ""), "end": data.get("quiet_end", ""),
                        "channels": [c for c in ("sms", "email") if data.get(f"quiet_{c}") == "on"]},
        "fatigue_days": data.get("fatigue_days", ""),
        "sla": sla, "business_hours": hours,
        "holidays": {"country": data.get("holiday_country", ""),
                     "subdivision": data.get("holiday_subdivision", ""),
                     "custom": _lines(data.get("holiday_custom", ""))},
        "root_causes": _lines(data.get("root_causes", "")),
        "thresholds": {k: data.get(k, "") for k in _THRESHOLDS},
        "branding": {k: data.get(f"brand_{k}", "").strip() for k in (
            "company_name", "logo_url", "colour", "sender_name")},
        "note": data.get("note", ""),
    }
    base = data.get("base_version", "").strip()
    if base.isdigit() and len(base) < 10:
        body["base_version"] = int(base)
    return parse(PoliciesDoc, body)  # type: ignore[no-any-return]


def form_values(ps: policies.PolicySet) -> dict[str, str]:
    d = ps.doc
    out = {"quiet_start": d.quiet_hours.start.strftime("%H:%M"),
           "quiet_end": d.quiet_hours.end.strftime("%H:%M"),
           "fatigue_days": str(d.fatigue_days), "holiday_country": d.holidays.country,
           "holiday_subdivision": d.holidays.subdivision,
           "holiday_custom": "\n".join(x.isoformat() for x in d.holidays.custom),
           "root_causes": "\n".join(d.root_causes), "base_version": str(ps.version), "note": ""}
    for c in ("sms", "email"):
        out[f"quiet_{c}"] = "on" if c in d.quiet_hours.channels else ""
    for i, t in enumerate(d.sla):
        out.update({f"sla-{i}-team": t.team, f"sla-{i}-priority": t.priority,
                    f"sla-{i}-first_contact_hours": f"{t.first_contact_hours:g}",
                    f"sla-{i}-resolution_hours": f"{t.resolution_hours:g}"})
    for i, b in enumerate(d.business_hours):
        out.update({f"hours-{i}-team": b.team, f"hours-{i}-time_zone": b.time_zone,
                    f"hours-{i}-hours": "\n".join(f"{k} = {v}" for k, v in b.hours.items())})
    out.update({k: str(getattr(d.thresholds, k)) for k in _THRESHOLDS})
    out.update({f"brand_{k}": getattr(d.branding, k) for k in (
        "company_name", "logo_url", "colour", "sender_name")})
    return out


def _page(request: Request[Any, Any, Any], db: Db, settings: Conf, *,
          form: dict[str, str] | None = None, error: DomainError | None = None,
          notice: str | None = None) -> Template:
    ps = policies.current(db, settings)
    f = form or form_values(ps)
    sla_rows = max(len(_rows(f, "sla")), len(ps.doc.sla)) + BLANK_ROWS
    hour_rows = max(len(_rows(f, "hours")), len(ps.doc.business_hours)) + BLANK_ROWS
    return Template(template_name="configuration/policies.html",
                    status_code=error.status_code if error else 200, context={
        "ps": ps, "f": f, "sla_rows": range(sla_rows), "hour_rows": range(hour_rows),
        "priorities": PRIORITIES, "countries": sorted(holiday_countries()),
        "thresholds": _THRESHOLDS,
        "history": repository.history(db, policies.KIND, limit=20),
        "error": error.message if error else None, "notice": notice,
        "can_write": provide_principal(request).can("config.write")})


@get("/config/policies", sync_to_thread=True, guards=[allow("config.read")],
     include_in_schema=False)
def policies_page(request: Request[Any, Any, Any], db: Db, settings: Conf) -> Template:
    done = request.query_params.get("done", "")
    return _page(request, db, settings,
                 notice=done if done.isdigit() and len(done) < 10 else None)


@post("/config/policies", sync_to_thread=True, guards=[allow("config.write")],
      include_in_schema=False)
def save_policies_form(request: Request[Any, Any, Any], db: Db, now: Now, settings: Conf,
                       data: Form) -> Template | Redirect:
    try:
        ps = policies.save(db, doc_from_form(data), by=actor(request), now=now, settings=settings)
    except DomainError as exc:
        return _page(request, db, settings, form=data, error=exc)
    return Redirect(f"/config/policies?done={ps.version}", status_code=303)


routes = [policies_page, save_policies_form]
