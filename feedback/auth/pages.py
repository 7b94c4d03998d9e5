"""Account pages: the admins' users-and-keys page, the audit log, and the one-time link page
where an invited person (or one whose password was reset) sets a password."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from feedback.auth import accounts, audit
from feedback.auth.endpoints import who
from feedback.auth.permissions import allow
from feedback.deps import Conf, Db, Now
from surveys.errors import DomainError, ValidationFailed

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
ADMIN_PAGE = {"sync_to_thread": True, "include_in_schema": False}


def _users_page(request: Request[Any, Any, Any], db: Any, now: datetime, *,
                status_code: int = 200, **extra: Any) -> Template:
    return Template(template_name="auth/users.html", status_code=status_code, context={
        "request": request, "users": accounts.users(db),
        "keys": [accounts.key_json(k, now) for k in accounts.keys(db)],
        "roles": accounts.STAFF_ROLES, "key_roles": accounts.KEY_ROLES, **extra})


@get("/users", guards=[allow("account.manage")], **ADMIN_PAGE)
def users_page(request: Request[Any, Any, Any], db: Db, now: Now) -> Template:
    return _users_page(request, db, now)


def _act(request: Request[Any, Any, Any], db: Any, now: datetime, action: Any,
         done: str) -> Template:
    """Run a change; show the page again with what happened (or the refusal, named)."""
    try:
        with db.begin_nested():  # a refused change leaves nothing half-done behind
            extra = action() or {}
    except DomainError as exc:
        return _users_page(request, db, now, status_code=exc.status_code, error=exc.message,
                           error_field=exc.field)
    return _users_page(request, db, now, notice=done, **extra)


@post("/users", guards=[allow("account.manage")], status_code=200, **ADMIN_PAGE)
def users_invite(request: Request[Any, Any, Any], db: Db, now: Now, settings: Conf,
                 data: Form) -> Template:
    def run() -> dict[str, Any]:
        user, link, expires = accounts.invite(
            db, who(request), now, settings, email=data.get("email", ""),
            name=data.get("name", ""), role=data.get("role", ""), team=data.get("team"))
        return {"link": link, "link_for": user.email, "link_expires": expires}
    return _act(request, db, now, run, "Invitation created: send this link to the person.")


@post("/users/{user_id:int}", guards=[allow("account.manage")], status_code=200, **ADMIN_PAGE)
def users_update(user_id: int, request: Request[Any, Any, Any], db: Db, now: Now,
                 data: Form) -> Template:
    def flag(name: str) -> bool | None:
        value = data.get(name)
        return None if value in (None, "") else value == "true"

    def run() -> None:
        accounts.update(db, who(request), now, user_id, role=data.get("role") or None,
                        team=data.get("team", ...),
                        available=flag("available"), active=flag("active"))
    return _act(request, db, now, run, "Saved.")


@post("/users/{user_id:int}/reset-link", guards=[allow("account.manage")], status_code=200,
      **ADMIN_PAGE)
def users_reset(user_id: int, request: Request[Any, Any, Any], db: Db, now: Now,
                settings: Conf) -> Template:
    def run() -> dict[str, Any]:
        link, expires = accounts.reset_link(db, who(request), now, settings, user_id)
        return {"link": link, "link_for": accounts.get_user(db, user_id).email,
                "link_expires": expires}
    return _act(request, db, now, run, "Password reset link created: send it to the person.")


@post("/api-keys", guards=[allow("apikey.manage")], status_code=200, **ADMIN_PAGE)
def keys_create(request: Request[Any, Any, Any], db: Db, now: Now, data: Form) -> Template:
    def run() -> dict[str, Any]:
        expires = None
        if data.get("expires_on"):
            try:
                day = datetime.fromisoformat(data["expires_on"]).date()
            except ValueError:
                raise ValidationFailed("expires_on must be a date (YYYY-MM-DD)",
                                       field="expires_on") from None
            expires = datetime(day.year, day.month, day.day, tzinfo=UTC)
        row, plaintext = accounts.create_key(db, who(request), now, name=data.get("name", ""),
                                             role=data.get("role", ""), team=data.get("team"),
                                             expires_at=expires)
        return {"new_key": plaintext, "new_key_name": row.name}
    return _act(request, db, now, run, "API key created: copy it now, it is not shown again.")


@post("/api-keys/{key_id:int}/revoke", guards=[allow("apikey.manage")], status_code=200,
      **ADMIN_PAGE)
def keys_revoke(key_id: int, request: Request[Any, Any, Any], db: Db, now: Now) -> Template:
    return _act(request, db, now, lambda: accounts.revoke_key(db, who(request), now, key_id)
                and None, "API key revoked.")


@get("/audit", guards=[allow("audit.read")], **ADMIN_PAGE)
def audit_page(request: Request[Any, Any, Any], db: Db, before_id: int | None = None) -> Template:
    return Template(template_name="auth/audit.html", context={
        "request": request, "events": audit.events(db, limit=200, before_id=before_id)})


@get("/account/password/{token:str}", guards=[allow("public.account_link")], **ADMIN_PAGE)
def password_page(token: str, db: Db, now: Now) -> Template:
    found = accounts.link_user(db, token[:100], now)
    return Template(template_name="auth/password.html", status_code=200 if found else 404,
                    context={"token": token, "user": found[0] if found else None,
                             "purpose": found[1] if found else None})


@post("/account/password/{token:str}", guards=[allow("public.account_link")], status_code=303,
      **ADMIN_PAGE)
def password_set(token: str, request: Request[Any, Any, Any], db: Db, now: Now,
                 data: Form) -> Template | Redirect:
    found = accounts.link_user(db, token[:100], now)
    password = data.get("password", "")
    error = None
    if found is None:
        error = "This link has expired or was already used; ask an admin for a new one."
    elif password != data.get("confirm", ""):
        error = "The two passwords differ."
    else:
        try:
            accounts.use_link(db, token[:100], password, now,
                              request.client.host if request.client else None)
        except DomainError as exc:
            error = exc.message
    if error:
        return Template(template_name="auth/password.html",
                        status_code=404 if found is None else 400,
                        context={"token": token, "user": found[0] if found else None,
                                 "purpose": found[1] if found else None, "error": error})
    return Redirect("/login?next=/", status_code=303)


routes = [users_page, users_invite, users_update, users_reset, keys_create, keys_revoke,
          audit_page, password_page, password_set]
