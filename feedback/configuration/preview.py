"""What a customer would get from a survey, exactly: the page's words, the e-mail and the SMS,
composed by the same code that sends them (outreach.messages), in any of the languages."""

from __future__ import annotations

from typing import Any

from feedback import i18n
from feedback.configuration import policies
from feedback.configuration.surveys import content_of
from feedback.settings import Settings
from outreach.messages import Invite, compose
from surveys.content import wording
from surveys.models import SurveyDefinition

PREVIEW_TOKEN = "preview"


def page_words(session: Any, survey: SurveyDefinition, locale: str, settings: Settings,
               version: int | None = None) -> dict[str, Any]:
    from feedback.web.survey import wording_for

    content = content_of(session, survey.id, version or survey.version)  # type: ignore[arg-type]
    company = policies.site(session, settings).company
    return wording_for(survey, content, locale, company, "phone")


def messages(session: Any, survey: SurveyDefinition, locale: str, settings: Settings,
             version: int | None = None) -> dict[str, Any]:
    content = content_of(session, survey.id, version or survey.version)  # type: ignore[arg-type]
    own = wording(content, survey.questions, locale)
    site = policies.site(session, settings)
    out: dict[str, Any] = {}
    for channel, to in (("email", "customer@example.com"), ("sms", "+14155550100")):
        msg = compose(i18n, site, Invite(  # type: ignore[arg-type]
            invitation_id=0, token=PREVIEW_TOKEN, channel=channel, to=to, locale=locale,
            kind=survey.kind, low=survey.scale_min, high=survey.scale_max, customer_id=None,
            customer_name="Ana", interaction_channel="phone", custom_question=own["question"],
            custom_low_label=own["low_label"], custom_high_label=own["high_label"],
            custom_sms_question=own["sms_question"]))
        out[channel] = ({"subject": msg.subject, "text": msg.body, "html": msg.html}
                        if channel == "email" else {"text": msg.body, "length": len(msg.body)})
    return out
