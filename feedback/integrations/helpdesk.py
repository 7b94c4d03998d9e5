"""Helpdesk events in: a "ticket solved / conversation closed" webhook becomes an interaction.

Pure functions: `verify_<kind>` checks a request's authentication, `map_<kind>` turns its JSON
into the dict `POST /api/interactions` takes (the ingest service validates and stores it, so
every rule of the API applies). External ids are `<kind>:<helpdesk id>`, so a re-delivered
webhook updates the same interaction and schedules nothing twice.

Shapes, from each vendor's public documentation:
- Zendesk: a webhook fired by a trigger ("Ticket is solved") whose JSON body is the template
  in `ZENDESK_BODY` (Zendesk placeholders), or an event-subscription webhook
  (`zen:event-type:ticket.status_changed`, ids only). Signature: `X-Zendesk-Webhook-Signature`
  = base64 HMAC-SHA256(secret, timestamp + body), `X-Zendesk-Webhook-Signature-Timestamp`.
- Freshdesk: an automation rule's webhook with the `{"freshdesk_webhook": {...}}` body of its
  placeholders (`ticket_id`, `ticket_agent_name`, …); Freshdesk does not sign, so the rule sends
  `Authorization: Bearer <secret>` (or basic auth with the secret as password).
- Intercom: topic `conversation.admin.closed` (`data.item` is the conversation); signature
  `X-Hub-Signature: sha1=<hex HMAC-SHA1(client secret, body)>`.
- Generic: any JSON, with a mapping of interaction fields to JSON paths (`ticket.assignee.name`,
  `contacts[0].email`), bearer-token authenticated like Freshdesk.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta
from typing import Any

KINDS = ("zendesk", "freshdesk", "intercom", "generic")
ZENDESK_BODY = {"ticket": {
    "id": "{{ticket.id}}", "status": "{{ticket.status}}", "via": "{{ticket.via}}",
    "created_at": "{{ticket.created_at_with_timestamp}}",
    "updated_at": "{{ticket.updated_at_with_timestamp}}", "url": "{{ticket.link}}",
    "group": "{{ticket.group.name}}", "assignee": "{{ticket.assignee.name}}",
    "requester": {"id": "{{ticket.requester.id}}", "name": "{{ticket.requester.name}}",
                  "email": "{{ticket.requester.email}}", "phone": "{{ticket.requester.phone}}",
                  "locale": "{{ticket.requester.language}}"}}}
# Fields a generic mapping can fill (dotted: customer.*), and the JSON path each reads.
MAPPABLE = ("external_id", "channel", "occurred_at", "agent", "team", "queue", "customer.external_id",
            "customer.name", "customer.email", "customer.phone", "customer.locale",
            "customer.time_zone", "customer.tier", "offered_at", "answered_at", "wait_seconds",
            "talk_seconds", "hold_seconds", "wrap_seconds", "first_response_seconds", "transfers",
            "resolved", "contact_reason", "ticket_url")
SKIP = "skip"  # a mapper's answer for an event that is not a closed ticket


class Unmappable(ValueError):
    """The payload cannot become an interaction; the message names the field."""

    def __init__(self, message: str, field: str = "body") -> None:
        super().__init__(message)
        self.field = field


# --- authentication -----------------------------------------------------------------------------

def verify_zendesk(secret: str, headers: dict[str, str], body: bytes) -> bool:
    sig = headers.get("x-zendesk-webhook-signature", "")
    ts = headers.get("x-zendesk-webhook-signature-timestamp", "")
    if not sig or not ts:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), ts.encode() + body, hashlib.sha256).digest())
    return hmac.compare_digest(expected.decode(), sig)


ZENDESK_TOLERANCE = timedelta(minutes=5)


def zendesk_stale(headers: dict[str, str], now: datetime) -> str | None:
    """Why a (correctly signed) Zendesk request is too old or too new to accept, or None.
    The timestamp is part of what Zendesk signs, so refusing one more than 5 minutes off
    `now` stops a captured request from being replayed later."""
    raw = headers.get("x-zendesk-webhook-signature-timestamp", "")
    try:
        ts = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return f"X-Zendesk-Webhook-Signature-Timestamp {raw[:40]!r} is not an ISO 8601 time"
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    if abs(now - ts) > ZENDESK_TOLERANCE:
        return (f"X-Zendesk-Webhook-Signature-Timestamp {raw[:40]} is more than 5 minutes from "
                f"now ({now.isoformat(timespec='seconds')}): a delayed or replayed request")
    return None


def verify_intercom(secret: str, headers: dict[str, str], body: bytes) -> bool:
    sig = headers.get("x-hub-signature", "")
    expected = "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return bool(sig) and hmac.compare_digest(expected, sig)


def verify_token(secret: str, headers: dict[str, str], body: bytes) -> bool:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return hmac.compare_digest(auth[7:].strip(), secret)
    if auth.lower().startswith("basic "):
        try:
            user_pass = base64.b64decode(auth[6:].strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user_pass.partition(":")[2], secret)
    return False


VERIFY = {"zendesk": verify_zendesk, "intercom": verify_intercom, "freshdesk": verify_token,
          "generic": verify_token}


# --- helpers ------------------------------------------------------------------------------------

_PATH = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def json_path(doc: Any, path: str) -> Any:
    """`a.b[0].c` → the value, or None when any step is missing."""
    cur = doc
    for name, index in _PATH.findall(path or ""):
        if index:
            if not isinstance(cur, list) or int(index) >= len(cur):
                return None
            cur = cur[int(index)]
        else:
            if not isinstance(cur, dict) or name not in cur:
                return None
            cur = cur[name]
    return cur


def _text(v: Any) -> str | None:
    if v is None or isinstance(v, (dict, list)):
        return None
    s = str(v).strip()
    # An unfilled placeholder ("{{ticket.requester.phone}}" left as-is, or blank) is no value.
    return None if not s or s.startswith("{{") or s.lower() in ("null", "none", "-") else s


def _when(v: Any, field: str) -> str | None:
    """ISO 8601 or Unix seconds → ISO 8601 (the ingest schema checks the rest)."""
    if v is None or v == "":
        return None
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        try:
            return datetime.fromtimestamp(v, UTC).isoformat()
        except (OverflowError, OSError, ValueError) as exc:
            raise Unmappable(f"{field}: {v!r} is not a time", field) from exc
    return _text(v)


def _channel(v: Any, default: str = "ticket") -> str:
    s = (_text(v) or "").lower()
    for word, channel in (("phone", "phone"), ("voice", "phone"), ("call", "phone"),
                          ("chat", "chat"), ("messag", "chat"), ("whatsapp", "chat"),
                          ("mail", "email")):
        if word in s:
            return channel
    return default


def _customer(**fields: Any) -> dict[str, Any]:
    return {k: _text(v) for k, v in fields.items() if _text(v) is not None}


def _prune(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


# --- mappers ------------------------------------------------------------------------------------

def map_zendesk(doc: Any) -> dict[str, Any] | str:
    if not isinstance(doc, dict):
        raise Unmappable("body must be a JSON object")
    if str(doc.get("type", "")).startswith("zen:event-type:"):
        if doc["type"] != "zen:event-type:ticket.status_changed":
            return SKIP
        current = str(json_path(doc, "event.current") or "").lower()
        if current not in ("solved", "closed"):
            return SKIP
        d = doc.get("detail") or {}
        tid = _text(d.get("id"))
        if tid is None:
            raise Unmappable("detail.id: the ticket id is missing", "detail.id")
        return _prune({"external_id": f"zendesk:{tid}",
                       "channel": _channel(json_path(d, "via.channel")),
                       "occurred_at": _when(d.get("updated_at") or doc.get("time"), "detail.updated_at"),
                       "customer": _customer(external_id=f"zendesk:{d.get('requester_id')}"
                                             if d.get("requester_id") else None),
                       "metadata": {"helpdesk": "zendesk", "ticket_id": tid}})
    t = doc.get("ticket")
    if not isinstance(t, dict):
        raise Unmappable("ticket: expected the ticket object of the documented body", "ticket")
    status = (_text(t.get("status")) or "solved").lower()
    if status not in ("solved", "closed"):
        return SKIP
    tid = _text(t.get("id"))
    if tid is None:
        raise Unmappable("ticket.id: the ticket id is missing", "ticket.id")
    r: dict[str, Any] = t["requester"] if isinstance(t.get("requester"), dict) else {}
    url = _text(t.get("url"))  # {{ticket.link}} comes without a scheme
    if url and not url.startswith(("https://", "http://")):
        url = "https://" + url
    meta = _prune({"helpdesk": "zendesk", "ticket_id": tid, "ticket_url": url})
    return _prune({
        "external_id": f"zendesk:{tid}", "channel": _channel(t.get("via")),
        "occurred_at": _when(t.get("updated_at"), "ticket.updated_at"),
        "agent": _text(t.get("assignee")), "team": _text(t.get("group")),
        "customer": _customer(external_id=f"zendesk:{r.get('id')}" if _text(r.get("id")) else None,
                              name=r.get("name"), email=r.get("email"), phone=r.get("phone"),
                              locale=r.get("locale")),
        "metadata": meta})


_FRESHDESK_SOURCES = {"1": "email", "2": "ticket", "3": "phone", "7": "chat", "9": "ticket",
                      "10": "email"}


def map_freshdesk(doc: Any) -> dict[str, Any] | str:
    w = doc.get("freshdesk_webhook") if isinstance(doc, dict) else None
    if not isinstance(w, dict):
        raise Unmappable("freshdesk_webhook: expected Freshdesk's webhook object", "freshdesk_webhook")
    status = (_text(w.get("ticket_status")) or "resolved").lower()
    if status not in ("resolved", "closed", "4", "5"):
        return SKIP
    tid = _text(w.get("ticket_id"))
    if tid is None:
        raise Unmappable("freshdesk_webhook.ticket_id: the ticket id is missing",
                         "freshdesk_webhook.ticket_id")
    source = _text(w.get("ticket_source")) or ""
    channel = _FRESHDESK_SOURCES.get(source) or _channel(source)
    return _prune({
        "external_id": f"freshdesk:{tid}", "channel": channel,
        "occurred_at": _when(w.get("ticket_closed_at") or w.get("ticket_resolved_at")
                             or w.get("ticket_updated_at"), "freshdesk_webhook.ticket_updated_at"),
        "agent": _text(w.get("ticket_agent_name")), "team": _text(w.get("ticket_group_name")),
        "contact_reason": _text(w.get("ticket_type")),
        "customer": _customer(external_id=f"freshdesk:{w['ticket_contact_id']}"
                              if _text(w.get("ticket_contact_id")) else None,
                              name=w.get("ticket_requester_name") or w.get("ticket_contact_name"),
                              email=w.get("ticket_requester_email") or w.get("ticket_contact_email"),
                              phone=w.get("ticket_requester_phone") or w.get("ticket_contact_phone")),
        "metadata": _prune({"helpdesk": "freshdesk", "ticket_id": tid,
                            "ticket_url": _text(w.get("ticket_url"))})})


def map_intercom(doc: Any) -> dict[str, Any] | str:
    if not isinstance(doc, dict):
        raise Unmappable("body must be a JSON object")
    if doc.get("topic") not in ("conversation.admin.closed", "conversation.admin.close"):
        return SKIP  # e.g. the "ping" Intercom sends when the webhook is set up
    item = json_path(doc, "data.item")
    if not isinstance(item, dict) or _text(item.get("id")) is None:
        raise Unmappable("data.item.id: the conversation is missing", "data.item.id")
    cid = _text(item["id"])
    author = json_path(item, "source.author") or {}
    contact = json_path(item, "contacts.contacts[0]") or {}
    created, replied = item.get("created_at"), json_path(item, "statistics.first_admin_reply_at")
    first_response = (int(replied) - int(created) if isinstance(created, int)
                      and isinstance(replied, int) and replied >= created else None)
    closed = json_path(item, "statistics.last_close_at") or item.get("updated_at") or doc.get("created_at")
    admin = json_path(item, "statistics.last_closed_by") or {}
    source_type = _text(json_path(item, "source.type")) or ""
    return _prune({
        "external_id": f"intercom:{cid}",
        "channel": "email" if source_type == "email" else "chat",
        "occurred_at": _when(closed, "data.item.statistics.last_close_at"),
        "agent": _text(admin.get("name")) if isinstance(admin, dict) else None,
        "team": _text(item.get("team_assignee_id")),
        "first_response_seconds": first_response,
        "customer": _customer(
            external_id=(f"intercom:{contact.get('external_id') or contact.get('id')}"
                         if isinstance(contact, dict) and (contact.get("external_id") or contact.get("id"))
                         else None),
            name=author.get("name") if isinstance(author, dict) else None,
            email=author.get("email") if isinstance(author, dict) else None),
        "metadata": {"helpdesk": "intercom", "conversation_id": cid}})


def map_generic(doc: Any, mapping: dict[str, str], *, prefix: str = "generic") -> dict[str, Any] | str:
    """`mapping` is interaction field → JSON path; `external_id` and `occurred_at` are needed,
    `channel` defaults to ticket. An optional `status` path with `status_in` values filters."""
    out: dict[str, Any] = {"customer": {}}
    for field, path in mapping.items():
        if field not in MAPPABLE or not path:
            continue
        value = json_path(doc, path)
        if field in ("occurred_at", "offered_at", "answered_at"):
            value = _when(value, field)
        elif field in ("wait_seconds", "talk_seconds", "hold_seconds", "wrap_seconds",
                       "first_response_seconds", "transfers", "resolved"):
            value = value if isinstance(value, (int, float, bool)) else _text(value)
        else:
            value = _text(value)
        if value is None:
            continue
        if field.startswith("customer."):
            out["customer"][field.split(".", 1)[1]] = value
        elif field == "ticket_url":
            out.setdefault("metadata", {})["ticket_url"] = value
        else:
            out[field] = value
    if "external_id" not in out:
        raise Unmappable(f"external_id: nothing at {mapping.get('external_id')!r}", "external_id")
    out["external_id"] = f"{prefix}:{out['external_id']}"
    if "customer.external_id" in mapping and "external_id" in out["customer"]:
        out["customer"]["external_id"] = f"{prefix}:{out['customer']['external_id']}"
    out["channel"] = _channel(out.get("channel"), "ticket") if "channel" in out else "ticket"
    out.setdefault("metadata", {})["helpdesk"] = prefix
    return out


MAPPERS = {"zendesk": map_zendesk, "freshdesk": map_freshdesk, "intercom": map_intercom}
