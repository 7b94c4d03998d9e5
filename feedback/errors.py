"""The one error handler: renders DomainError (and Litestar's own HTTP errors) as JSON for the
API and as a friendly page for people, with the same status code either way."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Redirect, Template
from sqlalchemy.exc import OperationalError

from feedback import i18n
from surveys.errors import DomainError

log = logging.getLogger(__name__)


def wants_html(request: Request[Any, Any, Any]) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/webhooks/", "/schema")):
        return False
    return "text/html" in request.headers.get("accept", "") or path.startswith("/s/")


def _as_domain(exc: Exception) -> DomainError:
    if isinstance(exc, DomainError):
        return exc
    if isinstance(exc, ValidationException):
        errors = []
        for item in exc.extra or []:  # type: ignore[union-attr]
            if isinstance(item, dict):
                errors.append({"field": item.get("key") or item.get("source"),
                               "message": item.get("message")})
        first = errors[0] if errors else {}
        message = (f"{first.get('field')}: {first.get('message')}" if first.get("field")
                   else exc.detail)
        return DomainError(message, status_code=400, code="invalid_request",
                           field=first.get("field"), extra={"errors": errors} if errors else None)
    if _is_lock_wait(exc):
        # A row lock held longer than lock_timeout (PostgreSQL) or the SQLite write lock past
        # busy_timeout: the request was rolled back whole; the caller may simply retry.
        log.warning("database busy: %s", exc)
        return DomainError("the service is busy; retry in a moment", status_code=503,
                           code="busy")
    if isinstance(exc, HTTPException):
        code = {401: "unauthorized", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return DomainError(exc.detail, status_code=exc.status_code, code=code)
    log.exception("unhandled error", exc_info=exc)
    return DomainError("internal error", status_code=500, code="internal_error")


def _is_lock_wait(exc: Exception) -> bool:
    if not isinstance(exc, OperationalError):
        return False
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code == "55P03" or "database is locked" in str(exc.orig)


def error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    err = _as_domain(exc)
    # e.g. `Allow` on a 405, which Litestar's router puts on the exception.
    headers = dict(exc.headers or {}) if isinstance(exc, HTTPException) else {}
    if err.code == "busy":
        headers["Retry-After"] = "2"
    if wants_html(request):
        if err.status_code == 401:
            return Redirect(f"/login?next={quote(request.url.path)}")
        # The viewer's language: their switcher choice (cookie), else Accept-Language.
        locale = i18n.request_locale(request)
        return Template(
            template_name="error.html",
            context={"error": err, "locale": locale, "rtl": i18n.is_rtl(locale),
                     "t": i18n.translator(locale)},
            status_code=err.status_code,
            media_type=MediaType.HTML,
            headers=headers,
        )
    return Response(content=err.to_dict(), status_code=err.status_code, media_type=MediaType.JSON,
                    headers=headers)
