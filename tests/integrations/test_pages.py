"""The admin pages: add an endpoint with its events, see its secret, send a test event, rotate
the secret, and read the delivery log — all through the forms (CSRF included)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.recovery.conftest import sign_in


def _form(client: Any, path: str, **fields: str) -> Any:
    return client.post(path, data={"_csrf_token": client.cookies.get("csrftoken"), **fields},
                       follow_redirects=False)


def test_admin_sets_up_an_endpoint_in_the_pages(client, staff, receiver, deliver):  # type: ignore[no-untyped-def]
    receiver.start()
    admin = staff("Ada", role="admin", password="s3cret-pass")
    sign_in(client, admin.email)
    page = client.get("/integrations")
    assert page.status_code == 200 and "Add an endpoint" in page.text
    r = _form(client, "/integrations", name="CRM", url="ftp://x", kind="webhook")
    assert r.status_code == 422 and "only http" in r.text
    r = _form(client, "/integrations", name="CRM", url=receiver.url(), kind="webhook",
              **{"ev:task.created": "on", "ev:task.resolved": "on"})
    assert r.status_code == 303, r.text
    detail = client.get(r.headers["location"])
    assert "Endpoint added" in detail.text and "whsec_" in detail.text
    endpoint_path = r.headers["location"].split("?")[0]
    assert _form(client, f"{endpoint_path}/test").status_code == 303
    assert deliver() == 1 and receiver.received[0].json["type"] == "webhook.test"
    assert "HTTP 200" in client.get(endpoint_path).text  # the delivery log
    r = _form(client, f"{endpoint_path}/rotate")
    assert r.status_code == 303 and "previous secret also signs" in client.get(endpoint_path).text
    r = _form(client, endpoint_path, name="CRM 2", url=receiver.url(), active="false")
    assert r.status_code == 303 and "disabled" in client.get(endpoint_path).text
    assert _form(client, f"{endpoint_path}/test").status_code == 422  # disabled: refused


def test_a_lead_cannot_see_integrations(client, staff):  # type: ignore[no-untyped-def]
    lead = staff("Lena", role="lead", password="s3cret-pass")
    sign_in(client, lead.email)
    assert client.get("/integrations").status_code == 403


def test_admin_edits_and_deletes_a_helpdesk_connector_in_the_pages(client, staff):  # type: ignore[no-untyped-def]
    admin = staff("Ada", role="admin", password="s3cret-pass")
    sign_in(client, admin.email)
    r = _form(client, "/integrations/helpdesk", kind="generic", name="Desk",
              mapping='{"external_id": "t.id", "occurred_at": "t.closed"}')
    assert r.status_code == 303, r.text
    path = r.headers["location"]
    r = _form(client, path, name="Desk 2", secret="a-new-secret-1", active="false",
              mapping='{"external_id": "t.number", "occurred_at": "t.closed"}')
    assert r.status_code == 303, r.text
    page = client.get(path).text
    assert "Desk 2" in page and "a-new-secret-1" in page and "t.number" in page
    r = _form(client, path, name="Desk 2", mapping='{"external_id": "t.number"}')
    assert r.status_code == 422 and "needs external_id and occurred_at" in r.text
    r = _form(client, path, name="Desk 2", mapping="{not json")
    assert r.status_code == 422 and "not valid JSON" in r.text
    assert _form(client, f"{path}/delete").status_code == 303
    assert client.get(path).status_code == 404
    assert "Desk 2" not in client.get("/integrations").text


def test_a_lead_cannot_change_a_helpdesk_connector(client, staff):  # type: ignore[no-untyped-def]
    lead = staff("Lena", role="lead", password="s3cret-pass")
    sign_in(client, lead.email)
    assert _form(client, "/integrations/helpdesk/1", name="x").status_code == 403
    assert _form(client, "/integrations/helpdesk/1/delete").status_code == 403


def test_the_integrations_page_title_is_only_a_title(client, staff):  # type: ignore[no-untyped-def]
    admin = staff("Ada", role="admin", password="s3cret-pass")
    sign_in(client, admin.email)
    page = client.get("/integrations").text
    title = page.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "<" not in title and "Integrations" in title
    assert page.count('id="helpdesk"') == 1

# Visible words that are names, not English to translate: products, protocols, field names.
_NAMES = re.compile(r"^(Twilio|SMTP|SMS|JSON|CSV|HTTP|URL|Slack|Zendesk|Intercom|Freshdesk|Standard|"
                    r"Webhooks?|Webhook|Bearer|Authorization|Developer|Hub|POST|ticket_\w+|meta_\w+|"
                    r"X-Hub-Signature|webhook-\w+|external_id|occurred_at|channel|meta_|conversation\.admin\.closed|API|SLA|Micro-F|Macro-F|state|alert|Acme|Ada|Desk|CRM)$",
                    re.I)


def _english_left(html: str) -> list[str]:
    """Latin words of the page's own text (not in code, pre, bdi, inputs, the nav or <head>)."""
    body = html.split("<main", 1)[-1].split(">", 1)[-1]
    body = re.sub(r"<(code|pre|bdi|textarea|script|style|option)\b.*?</\1>", " ", body, flags=re.S)
    body = re.sub(r"<[^>]+>", " ", body)
    words = re.findall(r"[A-Za-z][A-Za-z_.\-]{2,}", body)
    return [w for w in words if not _NAMES.match(w.strip(".-"))]


@pytest.mark.parametrize("lang", ["fa", "zh-CN"])
def test_admin_pages_speak_the_admins_language(client, staff, receiver, answer, lang):  # type: ignore[no-untyped-def]
    """#14: the integrations, import, dev-outbox, contact-log and theme-taxonomy pages in Persian
    and Chinese, with nothing left in English but names (a page a newcomer must not stumble over)."""
    admin = staff("Ada", role="admin", password="s3cret-pass")
    customer_id = answer(n=1, score=2).customer_id
    sign_in(client, admin.email)
    client.headers["Accept-Language"] = lang
    assert _form(client, "/integrations", name="CRM", url=receiver.url(), kind="webhook").status_code == 303
    r = _form(client, "/integrations/helpdesk", kind="zendesk", name="Desk")
    assert r.status_code == 303, r.text
    pages = ["/integrations", "/integrations/1", r.headers["location"], "/imports", "/outbox",
             f"/customers/{customer_id}/contact-log", "/themes/taxonomy", "/themes/suggestions"]
    for path in pages:
        page = client.get(path)
        assert page.status_code == 200, path
        assert f'<html lang="{lang}"' in page.text
        assert _english_left(page.text) == [], (path, _english_left(page.text))
