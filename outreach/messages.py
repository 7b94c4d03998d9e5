"""What a survey invitation says: the SMS text and the multipart email.

Wording lives in the application's message catalogs; `outreach` does not import the application,
so the caller passes a `Catalog` (anything with `t(locale, key, **params)` and `is_rtl(locale)`
— `feedback.i18n` is one). Everything else a message needs is plain data in `Invite`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Protocol

from outreach import unsubscribe
from outreach.channels.base import OutboundMessage


class Catalog(Protocol):
    def t(self, locale: str, key: str, **params: Any) -> str: ...

    def is_rtl(self, locale: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class Invite:
    """Everything needed to word one invitation (or its reminder)."""

    invitation_id: int
    token: str
    channel: str  # sms or email
    to: str
    locale: str
    kind: str  # nps, csat, ces
    low: int
    high: int
    customer_id: int | None = None
    customer_name: str | None = None
    interaction_channel: str | None = None
    custom_question: str | None = None  # the survey's own wording for this locale
    reminder: bool = False
    # The survey version's own scale labels and shorter SMS question (None: the catalog's).
    custom_low_label: str | None = None
    custom_high_label: str | None = None
    custom_sms_question: str | None = None


@dataclass(frozen=True, slots=True)
class Site:
    public_url: str
    company: str
    secret_key: str
    # Branding (the application's policies): empty means the plain default look.
    logo_url: str = ""
    colour: str = ""
    sender_name: str = ""  # the e-mail's From name


def survey_url(site: Site, token: str, score: int | None = None) -> str:
    url = f"{site.public_url}/s/{token}"
    return url if score is None else f"{url}?score={score}"


def unsubscribe_url(site: Site, invite: Invite) -> str:
    return f"{site.public_url}/u/{unsubscribe.sign(site.secret_key, invite.channel, invite.to, invite.customer_id)}"


def question(catalog: Catalog, site: Site, invite: Invite) -> str:
    own = (invite.custom_sms_question if invite.channel == "sms" else None) or invite.custom_question
    if own:
        return own.replace("{company}", site.company)
    channel = catalog.t(invite.locale, f"channel.{invite.interaction_channel or 'ticket'}")
    return catalog.t(invite.locale, f"q.{invite.kind}", company=site.company, channel=channel)


def end_labels(catalog: Catalog, invite: Invite) -> tuple[str, str]:
    """What the two ends of the scale mean ("Not at all likely" / "Extremely likely"): a bare
    0–10 row does not say which end is good."""
    return (invite.custom_low_label or catalog.t(invite.locale, f"low.{invite.kind}"),
            invite.custom_high_label or catalog.t(invite.locale, f"high.{invite.kind}"))


def compose(catalog: Catalog, site: Site, invite: Invite) -> OutboundMessage:
    if invite.channel == "sms":
        return compose_sms(catalog, site, invite)
    if invite.channel == "email":
        return compose_email(catalog, site, invite)
    raise ValueError(f"cannot compose a message for channel {invite.channel!r}")


def _key(invite: Invite) -> str:
    # The reminder is a different message from the invitation: its own idempotency key.
    return f"invitation-{invite.invitation_id}-{'reminder' if invite.reminder else 'invite'}"


def compose_sms(catalog: Catalog, site: Site, invite: Invite) -> OutboundMessage:
    url = survey_url(site, invite.token)
    low_label, high_label = end_labels(catalog, invite)
    params = {"company": site.company, "low": invite.low, "high": invite.high, "url": url,
              "low_label": low_label, "high_label": high_label}
    key = "sms.reminder" if invite.reminder else "sms.invite"
    body = catalog.t(invite.locale, key, question=question(catalog, site, invite), **params)
    return OutboundMessage(
        channel="sms", to=invite.to, body=body, marker=invite.token,
        status_callback=f"{site.public_url}/webhooks/twilio/status", idempotency_key=_key(invite))


def compose_email(catalog: Catalog, site: Site, invite: Invite) -> OutboundMessage:
    loc, t = invite.locale, catalog.t
    q = question(catalog, site, invite)
    name = invite.customer_name or ""
    intro = t(loc, "email.intro", name=name).replace(" ,", ",") if name else ""
    body_line = t(loc, "email.body", company=site.company)
    cta, footer = t(loc, "email.cta"), t(loc, "email.footer", company=site.company)
    unsub_label, unsub = t(loc, "email.unsubscribe"), unsubscribe_url(site, invite)
    scores = range(invite.low, invite.high + 1)
    low_label, high_label = end_labels(catalog, invite)
    label = {invite.low: low_label, invite.high: high_label}
    text_lines = [intro, "", body_line, "", q, ""] if intro else [body_line, "", q, ""]
    text_lines += [f"  {n}: {survey_url(site, invite.token, n)}"
                   + (f" ({label[n]})" if n in label else "") for n in scores]
    text_lines += ["", f"{cta}: {survey_url(site, invite.token)}", "", footer,
                   f"{unsub_label}: {unsub}"]
    text = "\n".join(text_lines) + "\n"
    direction = "rtl" if catalog.is_rtl(loc) else "ltr"
    e = html.escape
    colour = site.colour or "#1f5fbf"
    buttons = "".join(
        f'<a href="{e(survey_url(site, invite.token, n))}" style="display:inline-block;'
        f'min-width:28px;padding:8px 6px;margin:2px;border:1px solid {colour};border-radius:4px;'
        f'color:{colour};text-decoration:none;text-align:center"'
        + (f' title="{e(label[n])}" aria-label="{n} – {e(label[n])}"' if n in label else "")
        + f">{n}</a>" for n in scores)
    # The scale's meaning under the buttons, start and end (a table: mail clients lack flexbox).
    ends = (f'<table role="presentation" width="100%" style="font-size:12px;color:#444"><tr>'
            f'<td align="{"right" if direction == "rtl" else "left"}">{invite.low} = {e(low_label)}</td>'
            f'<td align="{"left" if direction == "rtl" else "right"}">{invite.high} = {e(high_label)}</td>'
            f"</tr></table>")
    html_body = (
        f'<!doctype html><html lang="{e(loc)}" dir="{direction}"><body style="font-family:sans-serif">'
        + (f'<p><img src="{e(site.logo_url)}" alt="{e(site.company)}" height="40"></p>'
           if site.logo_url else "")
        + (f"<p>{e(intro)}</p>" if intro else "")
        + f"<p>{e(body_line)}</p><p><strong>{e(q)}</strong></p>"
        f'<p>{buttons}</p>{ends}<p><a href="{e(survey_url(site, invite.token))}">{e(cta)}</a></p>'
        f'<p style="color:#666;font-size:12px">{e(footer)}<br>'
        f'<a href="{e(unsub)}">{e(unsub_label)}</a></p></body></html>')
    return OutboundMessage(
        channel="email", to=invite.to, subject=t(loc, "email.subject", company=site.company),
        body=text, html=html_body, marker=invite.token, idempotency_key=_key(invite),
        sender_name=site.sender_name or None,
        # RFC 8058 one-click: mail clients POST "List-Unsubscribe=One-Click" to this URL.
        headers={"List-Unsubscribe": f"<{unsub}>",
                 "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"})
