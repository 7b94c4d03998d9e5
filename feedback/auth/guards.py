"""Who is calling. What they may do is decided by the permission table
(`feedback.auth.permissions`): every route declares its action with `allow(...)`.

Credentials: `Authorization: Bearer <api key>` or `X-API-Key: <api key>` for programs, the
signed session cookie for people using the web UI. Unsafe API calls are accepted only with an
API key, so a cookie alone can never be ridden by a cross-site form (CSRF).
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection

from feedback.auth import sessions
from feedback.auth.service import Principal, principal_from_key, principal_from_user
from feedback.db import new_session, transaction
from surveys.errors import Forbidden, Unauthorized

_SAFE = {"GET", "HEAD", "OPTIONS"}


def _api_key(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    auth = connection.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return connection.headers.get("x-api-key") or None


def resolve_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    if "principal" in connection.scope.get("state", {}):
        return connection.scope["state"]["principal"]
    state = connection.app.state
    principal = None
    now = state.clock()
    touch = None
    # Read-only: on SQLite it must not queue behind writers for the write lock.
    with new_session(state.engine, write=False) as session:
        key = _api_key(connection)
        if key:
            principal = principal_from_key(session, key, state.settings.admin_api_key, now)
            if principal is None:
                raise Unauthorized("invalid, expired or revoked API key")
        else:
            sid = (connection.scope.get("session") or {}).get("sid")
            live = sessions.user_of(session, str(sid), now, state.settings) if sid else None
            if live is not None:
                user_id, touch = live
                principal = principal_from_user(session, user_id)
                method = connection.scope.get("method", "GET")
                if (principal is not None and method not in _SAFE
                        and connection.url.path.startswith("/api/")):
                    raise Forbidden("API writes need an API key (Authorization: Bearer …)")
    if touch is not None and principal is not None:
        # At most once a minute per session (the idle timeout): a short write of its own,
        # committed before the request's transaction begins.
        with transaction(state.engine) as session:
            sessions.touch(session, touch, now)
    connection.scope.setdefault("state", {})["principal"] = principal
    return principal


def provide_principal(request: Any) -> Principal:
    principal = resolve_principal(request)
    if principal is None:
        raise Unauthorized("sign in or send an API key")
    return principal
