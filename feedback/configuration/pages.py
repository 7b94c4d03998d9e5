"""Admin pages of configuration: /config/rules — the ordered distribution rules, a form per
rule, move/remove, the history, and the "test this interaction" box (a GET: it changes nothing).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlmodel import select

from feedback.auth.guards import provide_principal
from feedback.auth.permissions import allow
from feedback.configuration import repository, service
from feedback.configuration.endpoints import actor
from feedback.configuration.schemas import RuleIn, RuleProbe, RuleSetIn, parse
from feedback.deps import Conf, Db, Now
from surveys.errors import DomainError, NotFound, ValidationFailed
from surveys.models import InteractionChannel, SurveyDefinition

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
_LISTS = ("channel", "team", "queue", "agent", "contact_reason", "customer_tier")
VIA = ["auto", "sms", "email", "link", "none"]


def _split(text: str) -> list[str]:
    return [p.strip() for p in text.replace("\n", ",").split(",") if p.strip()]


def _metadata(text: str, field: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if "=" not in line:
            raise ValidationFailed(f"{field}, line {n}: write key=value", field=field)
        k, v = line.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def rule_from_form(data: dict[str, str]) -> RuleIn:
    """The form's fields as a rule; a bad one is refused naming the field."""
    when: dict[str, Any] = {k: _split(data.get(k, "")) for k in _LISTS}
    when["metadata"] = _metadata(data.get("metadata", ""), "when.metadata")
    body: dict[str, Any] = {
        "name": data.get("name", ""), "enabled": data.get("enabled") == "on", "when": when,
        "survey": data.get("survey", "nps"), "via": data.get("via", "auto"),
        "reminder": data.get("reminder") == "on"}
    for key in ("delay_minutes", "expiry_days", "sample_percent"):
        raw = data.get(key, "").strip()
        if raw:
            body[key] = raw
    return parse(RuleIn, body)  # type: ignore[no-any-return]


def _form_values(rule: RuleIn | None) -> dict[str, str]:
    rule = rule or RuleIn()
    out = {k: ", ".join(getattr(rule.when, k)) for k in _LISTS}
    out["metadata"] = "\n".join(f"{k}={v}" for k, v in rule.when.metadata.items())
    out.update(name=rule.name, survey=rule.survey, via=rule.via,
               delay_minutes="" if rule.delay_minutes is None else str(rule.delay_minutes),
               expiry_days="" if rule.expiry_days is None else str(rule.expiry_days),
               sample_percent=f"{rule.sample_percent:g}",
               enabled="on" if rule.enabled else "", reminder="on" if rule.reminder else "")
    return out


def _page(request: Request[Any, Any, Any], db: Db, settings: Conf, *, error: str | None = None,
          form: dict[str, str] | None = None, editing: int | None = None,
          status: int = 200, notice: str | None = None) -> Template:
    rules = service.rule_set(db, settings)
    q = request.query_params
    probe = None
    probe_form = {k: q.get(k, "") for k in ("external_id", "channel", "team", "queue", "agent",
                                             "contact_reason", "customer_tier", "metadata")}
    if q.get("test"):
        try:
            data: dict[str, Any] = {k: v.strip() or None for k, v in probe_form.items()
                                    if k != "metadata"}
            data["channel"] = data["channel"] or "phone"
            data["external_id"] = data["external_id"] or "probe"
            data["metadata"] = _metadata(probe_form["metadata"], "metadata")
            probe = service.decision_json(service.resolve_rules(
                db, [parse(RuleProbe, data)], settings=settings)[0])
        except DomainError as exc:
            error, status = exc.message, exc.status_code
    return Template(template_name="configuration/rules.html", status_code=status, context={
        "rules": rules, "source": "database" if rules.version else "environment",
        "history": repository.history(db, service.KIND, limit=20),
        "surveys": [s.key for s in db.exec(select(SurveyDefinition).order_by(
            SurveyDefinition.key)).all()],
        "via_choices": VIA, "channels": [c.value for c in InteractionChannel],
        "form": form or _form_values(None), "editing": editing,
        "edit_values": {r.id: _form_values(r) for r in rules.rules},
        "probe": probe, "probe_form": probe_form, "error": error, "notice": notice,
        "can_write": provide_principal(request).can("config.write"),
        "defaults": {"delay": settings.dispatch_delay_minutes,
                     "expiry": settings.invitation_expiry_days}})


@get("/config/rules", sync_to_thread=True, guards=[allow("config.read")], include_in_schema=False)
def rules_page(request: Request[Any, Any, Any], db: Db, settings: Conf) -> Template:
    done = request.query_params.get("done")
    return _page(request, db, settings, notice=(done or "")[:40] or None)


def _saved(rs: service.RuleSet) -> Redirect:
    return Redirect(f"/config/rules?done=version+{rs.version}", status_code=303)


@post("/config/rules", sync_to_thread=True, guards=[allow("config.write")], include_in_schema=False)
def add_rule_form(request: Request[Any, Any, Any], db: Db, now: Now, settings: Conf,
                  data: Form) -> Template | Redirect:
    try:
        rs = service.add_rule(db, rule_from_form(data), position=None, by=actor(request),
                              now=now, settings=settings)
    except DomainError as exc:
        return _page(request, db, settings, error=exc.message, form=data, status=exc.status_code)
    return _saved(rs)


@post("/config/rules/{rule_id:int}", sync_to_thread=True, guards=[allow("config.write")],
      include_in_schema=False)
def edit_rule_form(rule_id: int, request: Request[Any, Any, Any], db: Db, now: Now,
                   settings: Conf, data: Form) -> Template | Redirect:
    try:
        rs = service.replace_rule(db, rule_id, rule_from_form(data), by=actor(request), now=now,
                                  settings=settings)
    except DomainError as exc:
        return _page(request, db, settings, error=exc.message, editing=rule_id,
                     status=exc.status_code)
    return _saved(rs)


@post("/config/rules/{rule_id:int}/delete", sync_to_thread=True, guards=[allow("config.write")],
      include_in_schema=False)
def delete_rule_form(rule_id: int, request: Request[Any, Any, Any], db: Db, now: Now,
                     settings: Conf) -> Redirect:
    return _saved(service.replace_rule(db, rule_id, None, by=actor(request), now=now,
                                       settings=settings))


@post("/config/rules/{rule_id:int}/move", sync_to_thread=True, guards=[allow("config.write")],
      include_in_schema=False)
def move_rule_form(rule_id: int, request: Request[Any, Any, Any], db: Db, now: Now,
                   settings: Conf, data: Form) -> Redirect:
    cur = service.rule_set(db, settings)
    rules = list(cur.rules)
    at = next((i for i, r in enumerate(rules) if r.id == rule_id), None)
    if at is None:
        raise NotFound(f"no rule {rule_id}", code="unknown_rule")
    to = at - 1 if data.get("direction") == "up" else at + 1
    if 0 <= to < len(rules):
        rules[at], rules[to] = rules[to], rules[at]
    rs = service.save_rules(db, RuleSetIn(rules=rules, base_version=cur.version),
                            by=actor(request), now=now, settings=settings)
    return _saved(rs)


routes = [rules_page, add_rule_form, edit_rule_form, delete_rule_form, move_rule_form]
