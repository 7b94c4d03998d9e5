"""The customer's survey page: GET/HEAD/POST /s/{token}.

Nothing that a machine does on load records anything: e-mail security scanners (Safe Links,
Mimecast, Proofpoint) open every link in a message, the one-click score buttons included, and
some run the page's JavaScript in a real browser. So the score from `?score=9` is only
pre-selected, and one tap on the large "Confirm" button at the top of the page POSTs it. The GET
does not mark the invitation opened either: `POST /s/{token}/seen`, sent by the page's script on
the first pointer, touch or key event (a person's signal, not a page load), does.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from litestar import Request, get, head, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from litestar.response import Response as LitestarResponse
from sqlmodel import Session

from feedback import i18n
from feedback.auth.permissions import allow
from feedback.configuration import branding, policies
from feedback.configuration.answers import record_extra_answers
from feedback.configuration.surveys import content_of
from feedback.deps import Conf, Db, Now
from feedback.responses import (
    invitation_to_answer,
    record_comment,
    record_response,
    record_score_change,
)
from feedback.settings import Settings
from feedback.web.templating import page_context
from surveys.content import extra_questions, wording
from surveys.errors import Conflict, DomainError, Gone, ValidationFailed
from surveys.models import Customer, Interaction, Invitation, SurveyDefinition
from surveys.scoring import NEGATIVE, SCALES, SurveyKind
from surveys.service import (
    invitation_by_token,
    is_expired,
    mark_opened,
    response_for,
)

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _locale(session: Session, invitation: Invitation, request: Request[Any, Any, Any]) -> str:
    customer = session.get(Customer, invitation.customer_id)
    tag = invitation.locale or (customer.locale if customer else None)
    return i18n.resolve(tag, request.headers.get("accept-language"))


def survey_texts(session: Session, invitation: Invitation, locale: str, company: str) -> dict[str, Any]:
    survey = session.get(SurveyDefinition, invitation.survey_id)
    assert survey is not None
    interaction = session.get(Interaction, invitation.interaction_id) if invitation.interaction_id else None
    return wording_for(survey, content_of(session, survey.id, invitation.survey_version),  # type: ignore[arg-type]
                       locale, company, interaction.channel if interaction else None)


def wording_for(survey: SurveyDefinition, content: dict[str, Any] | None, locale: str,
                company: str, interaction_channel: str | None) -> dict[str, Any]:
    """The page's words: the survey version's own where it has them for this language, the
    product's default wording otherwise (never blank)."""
    kind = SurveyKind(survey.kind)
    mine = wording(content, survey.questions, locale)
    channel = i18n.t(locale, f"channel.{interaction_channel or 'ticket'}")

    def own(field: str) -> str | None:
        text = mine.get(field)
        return text.replace("{company}", company) if text else None

    return {
        "kind": kind.value,
        "scale": SCALES[kind].values,
        "question": own("question") or i18n.t(locale, f"q.{kind.value}", company=company, channel=channel),
        "follow_up": own("why") or i18n.t(locale, f"follow.{kind.value}"),
        "low_label": own("low_label") or i18n.t(locale, f"low.{kind.value}"),
        "high_label": own("high_label") or i18n.t(locale, f"high.{kind.value}"),
        "extra": extra_questions(content, locale),
    }


def _edit_window(settings: Conf) -> timedelta:
    return timedelta(minutes=settings.answer_edit_window_minutes)


def _render(session: Session, invitation: Invitation, locale: str, settings: Settings, now: datetime,
            *, preselect: int | None = None, error: str | None = None, status: int = 200,
            comment: str = "", source: str = "web") -> Template:
    brand = policies.site(session, settings)
    texts = survey_texts(session, invitation, locale, brand.company)
    response = response_for(session, invitation)
    state = "form"
    if response is not None:
        state = "answered"
    elif is_expired(invitation, now):
        state, status = "expired", 410
    can_comment = response is not None and (
        not response.comment or now - response.submitted_at <= _edit_window(settings))
    # A mis-tap can be seen (the recorded score is shown) and corrected within the window.
    can_change = response is not None and now - response.submitted_at <= _edit_window(settings)
    return Template(
        template_name="survey/page.html",
        status_code=status, headers=branding.page_csp(brand.logo_url),
        context=page_context(
            locale, invitation=invitation, response=response, state=state, error=error,
            preselect=preselect, comment=comment, source=source, can_comment=can_comment,
            can_change=can_change, edit_minutes=settings.answer_edit_window_minutes,
            ask_resolved=settings.survey_ask_resolved, company=brand.company, brand=brand,
            recovery=response is not None and response.classification in {c.value for c in NEGATIVE},
            **texts,
        ),
    )


def _unknown(request: Request[Any, Any, Any], status: int = 404) -> Template:
    locale = i18n.resolve(None, request.headers.get("accept-language"))
    return Template(template_name="survey/page.html", status_code=status,
                    context=page_context(locale, state="unknown"))


def _invalid_message(session: Session, invitation: Invitation, locale: str,
                     exc: ValidationFailed) -> str:
    """A refused score names the scale in the customer's language; other refusals as they are."""
    if exc.field != "score":
        return exc.message
    scale = SCALES[SurveyKind(session.get(SurveyDefinition, invitation.survey_id).kind)]  # type: ignore[union-attr]
    return i18n.t(locale, "error.score", low=scale.low, high=scale.high)


def _parse_score(raw: str | None) -> int | None:
    if raw is None or not raw.strip().isdigit():
        return None
    return int(raw.strip())


@get("/s/{token:str}", sync_to_thread=True, guards=[allow("public.survey")], include_in_schema=False)
def survey_page(token: str, request: Request[Any, Any, Any], db: Db, settings: Conf,
                now: Now, score: str | None = None) -> Template:
    try:
        invitation = invitation_to_answer(db, token)
    except DomainError:
        return _unknown(request)
    locale = _locale(db, invitation, request)
    preselect = _parse_score(score)
    kind = SurveyKind(db.get(SurveyDefinition, invitation.survey_id).kind)  # type: ignore[union-attr]
    if preselect is not None and not SCALES[kind].contains(preselect):
        preselect = None
    return _render(db, invitation, locale, settings, now, preselect=preselect,
                   source="email-click" if preselect is not None else "web")


@head("/s/{token:str}", sync_to_thread=True, guards=[allow("public.survey")], include_in_schema=False)
def survey_head(token: str, db: Db) -> LitestarResponse[None]:
    """What a link checker's HEAD gets: the GET's status and type, no body, nothing recorded."""
    try:
        invitation_by_token(db, token)
    except DomainError:
        return LitestarResponse(None, status_code=404, media_type="text/html; charset=utf-8")
    return LitestarResponse(None, status_code=200, media_type="text/html; charset=utf-8")


@post("/s/{token:str}/seen", sync_to_thread=True, guards=[allow("public.survey")],
      include_in_schema=False, status_code=204)
def survey_seen(token: str, db: Db, now: Now) -> None:
    """The page's script reports a person's first touch, click or key: only then is it opened."""
    try:
        invitation = invitation_by_token(db, token)
    except DomainError:
        return
    if not is_expired(invitation, now) and response_for(db, invitation) is None:
        mark_opened(invitation, now)
        db.add(invitation)


@post("/s/{token:str}", sync_to_thread=True, guards=[allow("public.survey")], include_in_schema=False, status_code=303)
def survey_submit(token: str, request: Request[Any, Any, Any], db: Db, settings: Conf,
                  now: Now, data: Form) -> Template | Redirect:
    try:
        invitation = invitation_to_answer(db, token)
    except DomainError:
        return _unknown(request)
    locale = _locale(db, invitation, request)
    source = data.get("src") if data.get("src") in ("web", "email-click") else "web"
    comment = data.get("comment") or None
    # An invitation is marked answered in the transaction that inserts its response: one that
    # is not has none (a race is settled by the insert, which answers 409 to the later one).
    existing = response_for(db, invitation) if invitation.status == "answered" else None
    try:
        if existing is None:
            response = record_response(
                db, invitation, score=data.get("score"), comment=comment, source=source or "web",
                now=now, settings=settings,
                resolved={"yes": True, "no": False}.get(data.get("resolved") or ""))
            record_extra_answers(db, invitation, response, data, now=now, settings=settings)
        elif str(existing.score) == (data.get("score") or "").strip() or "score" not in data:
            # The same answer again (the tap on "Confirm", then "Send" with a comment, or a
            # double tap): keep the one response, add the comment.
            record_comment(db, invitation, comment, now=now, settings=settings)
        else:
            raise Conflict("this survey has already been answered", code="already_answered")
    except ValidationFailed as exc:
        message = _invalid_message(db, invitation, locale, exc)
        return _render(db, invitation, locale, settings, now, error=message, status=422,
                       comment=data.get("comment", ""), source=source or "web")
    except (Conflict, Gone) as exc:
        return _render(db, invitation, locale, settings, now, error=exc.message,
                       status=exc.status_code)
    return Redirect(f"/s/{token}", status_code=303)


@post("/s/{token:str}/comment", sync_to_thread=True, guards=[allow("public.survey")], include_in_schema=False, status_code=303)
def survey_comment(token: str, request: Request[Any, Any, Any], db: Db, settings: Conf,
                   now: Now, data: Form) -> Template | Redirect:
    try:
        invitation = invitation_to_answer(db, token)
    except DomainError:
        return _unknown(request)
    locale = _locale(db, invitation, request)
    try:
        record_comment(db, invitation, data.get("comment"), now=now, settings=settings)
    except (Conflict, ValidationFailed) as exc:
        return _render(db, invitation, locale, settings, now, error=exc.message,
                       status=exc.status_code)
    return Redirect(f"/s/{token}?saved=1", status_code=303)


@post("/s/{token:str}/change", sync_to_thread=True, guards=[allow("public.survey")],
      include_in_schema=False, status_code=303)
def survey_change(token: str, request: Request[Any, Any, Any], db: Db, settings: Conf,
                  now: Now, data: Form) -> Template | Redirect:
    """The thank-you page's "change": a corrected score, within the edit window."""
    try:
        invitation = invitation_to_answer(db, token)
    except DomainError:
        return _unknown(request)
    locale = _locale(db, invitation, request)
    try:
        with db.begin_nested():
            record_score_change(db, invitation, data.get("score"), now=now, settings=settings)
    except ValidationFailed as exc:
        message = _invalid_message(db, invitation, locale, exc)
        return _render(db, invitation, locale, settings, now, error=message, status=422)
    except Conflict as exc:
        return _render(db, invitation, locale, settings, now, error=exc.message,
                       status=exc.status_code)
    return Redirect(f"/s/{token}", status_code=303)


routes = [survey_change, survey_page, survey_head, survey_seen, survey_submit, survey_comment]
