"""Admin pages of the survey editor: /config/surveys (list, create), /config/surveys/{key}
(edit: saving adds a version), and previews exactly as a customer gets them — the survey page
itself, the e-mail and the SMS — in each language."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Response, Template

from feedback.auth.guards import provide_principal
from feedback.auth.permissions import allow
from feedback.configuration import answers, policies, preview
from feedback.configuration import surveys as service
from feedback.configuration.endpoints import actor
from feedback.configuration.schemas import SurveyIn, parse
from feedback.deps import Conf, Db, Now
from feedback.web.templating import page_context
from surveys.content import LOCALES, TEXT_FIELDS
from surveys.errors import DomainError, ValidationFailed

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
SLOTS = 3  # extra-question slots on the form (the API takes up to 5)
TYPES = ["", "yes_no", "choice", "text"]


def survey_from_form(data: dict[str, str], *, key: str | None = None) -> SurveyIn:
    texts = {loc: {f: data.get(f"t_{loc}_{f}", "").strip() or None for f in TEXT_FIELDS}
             for loc in LOCALES}
    extra = []
    for i in range(SLOTS):
        kind = data.get(f"q{i}_type", "")
        if not kind:
            continue
        options = []
        for n, line in enumerate(data.get(f"q{i}_options", "").splitlines(), start=1):
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split("|")]
            if len(parts) > 1 + len(LOCALES):
                raise ValidationFailed(f"question {i + 1} options, line {n}: write "
                                       "id | English | 中文 | فارسی", field=f"q{i}_options")
            options.append({"id": parts[0], "label": dict(zip(LOCALES, parts[1:], strict=False))})
        extra.append({"id": data.get(f"q{i}_id", "").strip(), "type": kind,
                      "text": {loc: data.get(f"q{i}_text_{loc}", "") for loc in LOCALES},
                      "sms_text": {loc: data.get(f"q{i}_sms_{loc}", "") for loc in LOCALES},
                      "options": options})
    base = data.get("base_version", "").strip()
    body = {"key": key if key is not None else (data.get("key", "").strip() or None),
            "name": data.get("name", "").strip() or None, "kind": data.get("kind", "nps"),
            "texts": texts, "extra": extra, "base_version": int(base) if base.isdigit() else None}
    return parse(SurveyIn, body)  # type: ignore[no-any-return]


def _form_values(survey: dict[str, Any] | None) -> dict[str, str]:
    if survey is None:
        return {"kind": "csat"}
    out = {"key": survey["key"], "name": survey["name"] or "", "kind": survey["kind"],
           "base_version": str(survey["version"])}
    for loc, fields in survey["texts"].items():
        for f, v in fields.items():
            out[f"t_{loc}_{f}"] = v or ""
    for i, q in enumerate(survey["extra"][:SLOTS]):
        out.update({f"q{i}_id": q["id"], f"q{i}_type": q["type"]})
        for loc in LOCALES:
            out[f"q{i}_text_{loc}"] = q["text"].get(loc, "")
            out[f"q{i}_sms_{loc}"] = (q.get("sms_text") or {}).get(loc, "")
        out[f"q{i}_options"] = "\n".join(
            " | ".join([o["id"], *[o["label"].get(loc, "") for loc in LOCALES]]).rstrip(" |")
            for o in q.get("options") or [])
    return out


def _page(request: Request[Any, Any, Any], db: Db, *, key: str | None = None,
          form: dict[str, str] | None = None, error: str | None = None, status: int = 200,
          notice: str | None = None) -> Template:
    current = service.survey_json(db, service.by_key(db, key), history=True) if key else None
    principal = provide_principal(request)
    by_question = (answers.summary(db, service.by_key(db, key))
                   if key and principal.can("report.read") else [])
    return Template(template_name="configuration/surveys.html", status_code=status, context={
        "surveys": [service.survey_json(db, s) for s in service.list_surveys(db)],
        "current": current, "f": form or _form_values(current), "error": error,
        "notice": notice, "survey_locales": LOCALES, "slots": range(SLOTS), "types": TYPES,
        "fields": TEXT_FIELDS, "can_write": principal.can("config.write"),
        "by_question": by_question})


@get("/config/surveys", sync_to_thread=True, guards=[allow("config.read")], include_in_schema=False)
def surveys_page(request: Request[Any, Any, Any], db: Db) -> Template:
    return _page(request, db)


@get("/config/surveys/{key:str}", sync_to_thread=True, guards=[allow("config.read")],
     include_in_schema=False)
def survey_page(key: str, request: Request[Any, Any, Any], db: Db) -> Template:
    done = request.query_params.get("done")
    return _page(request, db, key=key,
                 notice=done if done and done.isdigit() and len(done) < 10 else None)


@post("/config/surveys", sync_to_thread=True, guards=[allow("config.write")], include_in_schema=False)
def create_form(request: Request[Any, Any, Any], db: Db, now: Now, data: Form) -> Template | Redirect:
    try:
        survey = service.create(db, survey_from_form(data), by=actor(request), now=now)
    except DomainError as exc:
        return _page(request, db, form=data, error=exc.message, status=exc.status_code)
    return Redirect(f"/config/surveys/{survey.key}?done={survey.version}", status_code=303)


@post("/config/surveys/{key:str}", sync_to_thread=True, guards=[allow("config.write")],
      include_in_schema=False)
def edit_form(key: str, request: Request[Any, Any, Any], db: Db, now: Now,
              data: Form) -> Template | Redirect:
    try:
        survey = service.by_key(db, key)
        body = survey_from_form({**data, "kind": survey.kind}, key=key)
        survey = service.save_version(db, survey, body, by=actor(request), now=now)
    except DomainError as exc:
        return _page(request, db, key=key, form=data, error=exc.message, status=exc.status_code)
    return Redirect(f"/config/surveys/{key}?done={survey.version}", status_code=303)


def _locale(raw: str | None) -> str:
    if raw not in LOCALES:
        raise ValidationFailed(f"locale: one of {', '.join(LOCALES)}", field="locale")
    return raw  # type: ignore[return-value]


@get("/config/surveys/{key:str}/preview", sync_to_thread=True, guards=[allow("config.read")],
     include_in_schema=False)
def preview_page(key: str, db: Db, settings: Conf, locale: str = "en") -> Template:
    """The customer's survey page itself, with this survey's words (its form goes nowhere)."""
    loc = _locale(locale)
    survey = service.by_key(db, key)
    words = preview.page_words(db, survey, loc, settings)
    msgs = preview.messages(db, survey, loc, settings)
    fake = SimpleNamespace(token=preview.PREVIEW_TOKEN)
    return Template(template_name="configuration/preview.html", context=page_context(
        loc, invitation=fake, state="form", error=None, preselect=None, comment="",
        source="web", ask_resolved=False, company=policies.site(db, settings).company,
        survey_key=key,
        email=msgs["email"], sms=msgs["sms"], survey_locales=LOCALES, **words))


@get("/config/surveys/{key:str}/preview/email", sync_to_thread=True,
     guards=[allow("config.read")], include_in_schema=False)
def preview_email(key: str, db: Db, settings: Conf, locale: str = "en") -> Response[str]:
    survey = service.by_key(db, _locale(locale) and key)
    html = preview.messages(db, survey, _locale(locale), settings)["email"]["html"]
    return Response(html, media_type="text/html; charset=utf-8")


routes = [surveys_page, survey_page, create_form, edit_form, preview_page, preview_email]
