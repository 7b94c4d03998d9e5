"""Bounds at the edge: what every request must satisfy before a guard, a handler or the database
sees it, so hostile input gets a 4xx naming the field instead of a 500 from deep inside.

One middleware, applied to every route (new ones included):
- credentials that are not ASCII → 401 (they can never match a key);
- integer path parameters are database ids: outside 1…2^31−1 → 404 (no such row can exist,
  and PostgreSQL's `integer` would otherwise fail with "out of range"); text path parameters
  with control characters → 404 as well;
- query values with control characters (NUL above all: PostgreSQL refuses it in text) → 422;
- JSON bodies: a body sent with another content type → 415; nesting deeper than
  `MAX_JSON_DEPTH` → 400; control characters in any string (or key) → 422 naming its path;
- form bodies of staff pages: control characters → 422 naming the field; on the customer's
  survey page they are dropped instead (a refusal would cost the customer their typed answer).
  Signed webhooks are exempt: Twilio retries anything but a 2xx, so the SMS webhook strips
  what it cannot store instead (see `strip_control`).

The same bounds serve handlers that parse numbers themselves (`parse_whole`, `MAX_ID`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType, ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState
from pydantic import Field

from surveys.errors import DomainError, NotFound, Unauthorized, ValidationFailed

MAX_ID = 2**31 - 1  # PostgreSQL `integer`, the type of every id column
# An id in a request body (pydantic): out of range is a 422 naming the field.
DbId = Annotated[int, Field(ge=1, le=MAX_ID)]
MAX_JSON_DEPTH = 32
# C0 controls and DEL, except tab, line feed and carriage return (fine in free text).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Exempt from the form check: signed third-party callbacks that must get a 2xx to stop retrying.
_FORM_EXEMPT = ("/webhooks/",)
# Customer pages: a stray control character must not cost the customer their typed answer.
_FORM_STRIPPED = ("/s/",)


def has_control(value: str) -> bool:
    return _CONTROL.search(value) is not None


def strip_control(value: str) -> str:
    """What can be stored of a text we must accept (e.g. an SMS body Twilio will resend)."""
    return _CONTROL.sub("", value)


def control_error(field: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: control characters (such as NUL) are not allowed",
                            field=field, code="control_characters")


def parse_whole(raw: str | None, field: str, *, default: int, lo: int = 1, hi: int = MAX_ID) -> int:
    """A whole-number query value within [lo, hi]; empty → default; anything else → 422."""
    if raw is None or not str(raw).strip():
        return default
    text = str(raw).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 12 or not lo <= int(text) <= hi:
        raise ValidationFailed(f"{field} must be a whole number from {lo} to {hi}", field=field)
    return int(text)


class _TooDeep(Exception):
    pass


def _check_tree(value: Any, path: str, depth: int) -> None:
    if depth > MAX_JSON_DEPTH:
        raise _TooDeep
    if isinstance(value, str):
        if has_control(value):
            raise control_error(path or "body")
    elif isinstance(value, dict):
        for key, item in value.items():
            if has_control(key):
                raise control_error(f"{path}.{strip_control(key)}" if path else strip_control(key))
            _check_tree(item, f"{path}.{key}" if path else key, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_tree(item, f"{path}[{index}]", depth + 1)


def _body_kind(scope: Scope) -> RequestEncodingType | str | None:
    handler = scope.get("route_handler")
    try:
        field = handler.parsed_fn_signature.parameters.get("data")  # type: ignore[union-attr]
    except AttributeError:
        return None
    if field is None:
        return None
    kwarg = getattr(field, "kwarg_definition", None)
    return getattr(kwarg, "media_type", None) or RequestEncodingType.JSON


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def check_request(scope: Scope, receive: Receive) -> None:
    request: Request[Any, Any, Any] = Request(scope, receive)
    for header in ("authorization", "x-api-key"):
        if not request.headers.get(header, "").isascii():
            raise Unauthorized("invalid API key (credentials are ASCII)")
    for name, value in (scope.get("path_params") or {}).items():
        if isinstance(value, int) and not 1 <= value <= MAX_ID:
            raise NotFound(f"no {name.removesuffix('_id')} {value}", field=name)
        if isinstance(value, str) and has_control(value):  # e.g. a survey token: none has one
            raise NotFound(f"no such {name}", field=name)
    for name, value in request.query_params.multi_items():
        if has_control(name) or has_control(value):
            raise control_error(strip_control(name))
    kind = _body_kind(scope)
    if kind is None or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
        return
    if kind == RequestEncodingType.JSON:
        body = await request.body()
        if not body.strip():
            return
        content_type = request.headers.get("content-type", "")
        if not _is_json(content_type):
            raise DomainError(f"send the body as application/json (got {content_type or 'no content type'!r})",
                              status_code=415, code="unsupported_media_type", field="content-type")
        try:
            data = msgspec.json.decode(body)
        except RecursionError:
            data = None
            too_deep = True
        except msgspec.DecodeError as exc:
            raise DomainError(f"body is not valid JSON: {exc}", status_code=400,
                              code="invalid_request", field="body") from exc
        else:
            too_deep = False
        try:
            if not too_deep:
                _check_tree(data, "", 0)
        except _TooDeep:
            too_deep = True
        if too_deep:
            raise DomainError(f"body is nested deeper than {MAX_JSON_DEPTH} levels",
                              status_code=400, code="invalid_request", field="body")
    elif kind == RequestEncodingType.URL_ENCODED and not request.url.path.startswith(_FORM_EXEMPT):
        form = await request.form()
        if request.url.path.startswith(_FORM_STRIPPED):
            state = ScopeState.from_scope(scope)
            if isinstance(state.form, dict):  # the parsed form the handler's `data` will read
                state.form = {k: _stripped(v) for k, v in state.form.items()}
            return
        for name, value in form.multi_items():
            if isinstance(value, str) and (has_control(name) or has_control(value)):
                raise control_error(strip_control(name))


def _stripped(value: Any) -> Any:
    if isinstance(value, str):
        return strip_control(value)
    if isinstance(value, list):
        return [_stripped(v) for v in value]
    return value


class EdgeMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        await check_request(scope, receive)
        await next_app(scope, receive, send)
