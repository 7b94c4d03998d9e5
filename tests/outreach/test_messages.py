"""Invitation wording: SMS and multipart email from the catalogs, and signed unsubscribe links."""

from __future__ import annotations

import pytest

from feedback import i18n
from outreach import unsubscribe
from outreach.messages import Invite, Site, compose

SITE = Site("https://fb.example.com", "Acme", "s3cret")


def invite(**over: object) -> Invite:
    base: dict[str, object] = {"invitation_id": 7, "token": "tok-7f3a", "channel": "email",
                               "to": "ana@example.com", "locale": "en", "kind": "csat",
                               "low": 1, "high": 5, "customer_id": 3, "customer_name": "Ana",
                               "interaction_channel": "chat"}
    base.update(over)
    return Invite(**base)  # type: ignore[arg-type]


def test_email_has_text_and_html_with_a_button_per_score_and_unsubscribe_headers() -> None:
    msg = compose(i18n, SITE, invite())
    assert msg.subject == "Acme: how did we do?"
    assert "Hello Ana," in msg.body and "recent chat with Acme" in msg.body
    assert msg.html is not None and 'dir="ltr"' in msg.html
    for n in range(1, 6):
        assert f'href="https://fb.example.com/s/tok-7f3a?score={n}"' in msg.html
    assert "score=0" not in msg.html and "score=6" not in msg.html
    unsub = msg.headers["List-Unsubscribe"].strip("<>")
    assert msg.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    found = unsubscribe.verify("s3cret", unsub.rsplit("/", 1)[1])
    assert found == unsubscribe.UnsubscribeRequest("email", "ana@example.com", 3)
    assert msg.marker == "tok-7f3a" and msg.idempotency_key == "invitation-7-invite"


def test_email_without_a_name_skips_the_greeting_and_escapes_html() -> None:
    msg = compose(i18n, SITE, invite(customer_name=None, custom_question="<b>Was it OK?</b>"))
    assert "Hello" not in msg.body and "<b>Was it OK?</b>" in msg.body
    assert "&lt;b&gt;Was it OK?&lt;/b&gt;" in (msg.html or "")


def test_persian_email_is_right_to_left() -> None:
    msg = compose(i18n, SITE, invite(locale="fa"))
    assert 'dir="rtl"' in (msg.html or "") and "لغو اشتراک" in msg.body


def test_sms_reminder_is_a_different_message_with_the_same_link() -> None:
    first = compose(i18n, SITE, invite(channel="sms", to="+14155550100", kind="nps", low=0,
                                       high=10))
    again = compose(i18n, SITE, invite(channel="sms", to="+14155550100", kind="nps", low=0,
                                       high=10, reminder=True))
    assert "Reply with a number 0 (Not at all likely) to 10" in first.body and "reminder" in again.body
    assert "https://fb.example.com/s/tok-7f3a" in again.body
    assert first.idempotency_key != again.idempotency_key
    assert first.status_callback == "https://fb.example.com/webhooks/twilio/status"


def test_a_link_only_invitation_has_no_message() -> None:
    with pytest.raises(ValueError, match="link"):
        compose(i18n, SITE, invite(channel="link"))


def test_unsubscribe_tokens_need_a_secret_and_refuse_bad_channels() -> None:
    with pytest.raises(ValueError, match="secret"):
        unsubscribe.sign("", "email", "a@example.com", None)
    fax = unsubscribe.sign("k", "fax", "a@example.com", None)
    assert unsubscribe.verify("k", fax) is None
    assert unsubscribe.verify("k", "") is None
    assert unsubscribe.verify("k", "x" * 3000) is None


@pytest.mark.parametrize(("locale", "low", "high"), [
    ("en", "Not at all likely", "Extremely likely"),
    ("zh-CN", "完全不可能", "非常可能"),
    ("fa", "اصلاً احتمال ندارد", "بسیار محتمل"),
])
def test_score_buttons_and_sms_say_which_end_is_which(locale, low, high) -> None:  # type: ignore[no-untyped-def]
    nps = {"kind": "nps", "low": 0, "high": 10, "locale": locale}
    mail = compose(i18n, SITE, invite(**nps))
    assert mail.html is not None
    assert f"0 = {low}" in mail.html and f"10 = {high}" in mail.html
    assert f'aria-label="0 – {low}"' in mail.html
    assert f"?score=0 ({low})" in mail.body and f"?score=10 ({high})" in mail.body
    for reminder in (False, True):
        sms = compose(i18n, SITE, invite(channel="sms", to="+14155550100", reminder=reminder, **nps))
        assert low in sms.body and high in sms.body
