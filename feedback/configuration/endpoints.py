"""The configuration JSON API: distribution rules (`/api/rules`), surveys (`/api/surveys`) and
policies (`/api/policies`).

Reads are for leads and admins; changes are admins' (`config.read` / `config.write` in the
permission table). Every change is a new version, recorded with who made it (and in the audit
log); `base_version` refuses an edit made on a stale copy instead of overwriting.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, delete, get, post, put
from litestar.params import JSONBody, Parameter

from feedback.auth.guards import provide_principal
from feedback.auth.permissions import allow
from feedback.configuration import answers, policies, preview, repository, service
from feedback.configuration import surveys as survey_service
from feedback.configuration.policy_schemas import PoliciesDoc, PoliciesPatch
from feedback.configuration.schemas import RuleIn, RuleProbe, RuleSetIn, SurveyIn
from feedback.deps import Conf, Db, Now
from surveys.content import LOCALES
from surveys.errors import NotFound, ValidationFailed

_TAGS = ["configuration"]


def actor(request: Request[Any, Any, Any]) -> str:
    p = provide_principal(request)
    return p.name if p.via == "session" else f"API key {p.name}"


@get("/api/rules", sync_to_thread=True, guards=[allow("config.read")], tags=_TAGS,
     summary="The distribution rules in order (the first enabled rule that matches fires)")
def get_rules(db: Db, settings: Conf) -> dict[str, Any]:
    return service.rules_json(service.rule_set(db, settings))


@put("/api/rules", sync_to_thread=True, guards=[allow("config.write")], tags=_TAGS,
     summary="Replace the whole ordered list (a new version; 409 if base_version is stale)")
def put_rules(data: JSONBody[RuleSetIn], request: Request[Any, Any, Any], db: Db, now: Now,
              settings: Conf) -> dict[str, Any]:
    return service.rules_json(service.save_rules(db, data, by=actor(request), now=now,
                                                 settings=settings))


@post("/api/rules", sync_to_thread=True, guards=[allow("config.write")], tags=_TAGS,
      status_code=201, summary="Add one rule (at the end, or at `position`, 1 = first)")
def post_rule(data: JSONBody[RuleIn], request: Request[Any, Any, Any], db: Db, now: Now, settings: Conf,
              position: int | None = Parameter(default=None, ge=1, le=1000)) -> dict[str, Any]:
    return service.rules_json(service.add_rule(db, data, position=position, by=actor(request),
                                               now=now, settings=settings))


@put("/api/rules/{rule_id:int}", sync_to_thread=True, guards=[allow("config.write")], tags=_TAGS,
     summary="Change one rule in place (its position is kept)")
def put_rule(rule_id: int, data: JSONBody[RuleIn], request: Request[Any, Any, Any], db: Db, now: Now,
             settings: Conf) -> dict[str, Any]:
    return service.rules_json(service.replace_rule(db, rule_id, data, by=actor(request),
                                                   now=now, settings=settings))


@delete("/api/rules/{rule_id:int}", sync_to_thread=True, guards=[allow("config.write")],
        tags=_TAGS, status_code=200, summary="Remove one rule (a new version)")
def delete_rule(rule_id: int, request: Request[Any, Any, Any], db: Db, now: Now,
                settings: Conf) -> dict[str, Any]:
    return service.rules_json(service.replace_rule(db, rule_id, None, by=actor(request),
                                                   now=now, settings=settings))


@get("/api/rules/history", sync_to_thread=True, guards=[allow("config.read")], tags=_TAGS,
     summary="Earlier versions of the rules: who changed what, when (newest first)")
def rules_history(db: Db) -> dict[str, Any]:
    return {"versions": [_revision(r, "rules") for r in repository.history(db, service.KIND)]}


@get("/api/rules/history/{version:int}", sync_to_thread=True, guards=[allow("config.read")],
     tags=_TAGS, summary="One earlier version of the rules")
def rules_version(version: int, db: Db) -> dict[str, Any]:
    return _one_revision(db, service.KIND, version, "rules")


def _revision(row: Any, name: str) -> dict[str, Any]:
    """One saved version as the history API shows it; the body under `name` (rules, policies)."""
    return {"version": row.version, "changed_by": row.changed_by,
            "changed_at": row.changed_at.isoformat(), "summary": row.summary, name: row.body}


def _one_revision(db: Db, kind: str, version: int, name: str) -> dict[str, Any]:
    row = repository.revision(db, kind, version)
    if row is None:
        raise NotFound(f"no version {version} of the {name}", code="unknown_version")
    return _revision(row, name)


@post("/api/rules/test", sync_to_thread=True, guards=[allow("config.read")], tags=_TAGS,
      status_code=200, summary="Which rule would fire for this interaction, and why")
def test_rules(data: JSONBody[RuleProbe], db: Db, settings: Conf) -> dict[str, Any]:
    return service.decision_json(service.resolve_rules(db, [data], settings=settings)[0])


routes = [get_rules, put_rules, post_rule, put_rule, delete_rule, rules_history, rules_version,
          test_rules]


# --- surveys ---------------------------------------------------------------------------------



@get("/api/surveys", sync_to_thread=True, guards=[allow("config.read")], tags=_TAGS,
     summary="Every survey with its current version and missing translations")
def list_surveys(db: Db) -> dict[str, Any]:
    return {"surveys": [survey_service.survey_json(db, s) for s in survey_service.list_surveys(db)]}


@post("/api/surveys", sync_to_thread=True, guards=[allow("config.write")], tags=_TAGS,
      status_code=201, summary="Create a survey (its version 1)")
def post_survey(data: JSONBody[SurveyIn], request: Request[Any, Any, Any], db: Db,
                now: Now) -> dict[str, Any]:
    survey = survey_service.create(db, data, by=actor(request), now=now)
    return survey_service.survey_json(db, survey, history=True)


@get("/api/surveys/{key:str}", sync_to_thread=True, guards=[allow("config.read")], tags=_TAGS,
     summary="One survey: current wording, extra questions, versions")
def get_survey(key: str, db: Db) -> dict[str, Any]:
    return survey_service.survey_json(db, survey_service.by_key(db, key), history=True)


@put("/api/surveys/{key:str}", sync_to_thread=True, guards=[allow("config.write")], tags=_TAGS,
     summary="Save a new version (answers already given keep theirs)")
def put_survey(key: str, data: JSONBody[SurveyIn], request: Request[Any, Any, Any], db: Db,
               now: Now) -> dict[str, Any]:
    survey = survey_service.save_version(db, survey_service.by_key(db, key), data,
                                         by=actor(request), now=now)
    return survey_service.survey_json(db, survey, history=True)


@get("/api/surveys/{key:str}/preview", sync_to_thread=True, guards=[allow("config.read")],
     tags=_TAGS, summary="The page's words, the e-mail and the SMS exactly as a customer gets them")
def preview_survey(key: str, db: Db, settings: Conf, locale: str = "en",
                   version: int | None = Parameter(default=None, ge=1, le=10**6)) -> dict[str, Any]:
    if locale not in LOCALES:
        raise ValidationFailed(f"locale: one of {', '.join(LOCALES)}", field="locale")
    survey = survey_service.by_key(db, key)
    return {"key": key, "locale": locale, "version": version or survey.version,
            "page": preview.page_words(db, survey, locale, settings, version),
            **preview.messages(db, survey, locale, settings, version)}


@get("/api/surveys/{key:str}/answers", sync_to_thread=True, guards=[allow("report.read")],
     tags=_TAGS, summary="Answers to the survey's extra questions, split by question")
def survey_answers(key: str, db: Db) -> dict[str, Any]:
    survey = survey_service.by_key(db, key)
    return {"key": key, "questions": answers.summary(db, survey)}


routes += [list_surveys, post_survey, get_survey, put_survey, preview_survey, survey_answers]


# --- policies --------------------------------------------------------------------------------

@get("/api/policies", sync_to_thread=True, guards=[allow("config.read")], tags=_TAGS,
     summary="Quiet hours, fatigue, SLA targets, business hours, holidays, root causes, "
             "thresholds and branding (the current version)")
def get_policies(db: Db, settings: Conf) -> dict[str, Any]:
    return policies.policies_json(policies.current(db, settings))


@put("/api/policies", sync_to_thread=True, guards=[allow("config.write")], tags=_TAGS,
     summary="Replace every policy (a new version; 409 if base_version is stale)")
def put_policies(data: JSONBody[PoliciesDoc], request: Request[Any, Any, Any], db: Db, now: Now,
                 settings: Conf) -> dict[str, Any]:
    return policies.policies_json(policies.save(db, data, by=actor(request), now=now,
                                                settings=settings))


@post("/api/policies", sync_to_thread=True, guards=[allow("config.write")], tags=_TAGS,
      status_code=200, summary="Change only the sections given (a new version)")
def post_policies(data: JSONBody[PoliciesPatch], request: Request[Any, Any, Any], db: Db,
                  now: Now, settings: Conf) -> dict[str, Any]:
    return policies.policies_json(policies.patch(db, data, by=actor(request), now=now,
                                                 settings=settings))


@get("/api/policies/history", sync_to_thread=True, guards=[allow("config.read")], tags=_TAGS,
     summary="Earlier versions of the policies: who changed what, when (newest first)")
def policies_history(db: Db) -> dict[str, Any]:
    return {"versions": [_revision(r, "policies") for r in repository.history(db, policies.KIND)]}


@get("/api/policies/history/{version:int}", sync_to_thread=True, guards=[allow("config.read")],
     tags=_TAGS, summary="One earlier version of the policies")
def policies_version(version: int, db: Db) -> dict[str, Any]:
    return _one_revision(db, policies.KIND, version, "policies")


routes += [get_policies, put_policies, post_policies, policies_history, policies_version]
