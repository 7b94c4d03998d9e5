
"""Sign-in for staff and the landing page that points each role to its screen."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlmodel import select

from feedback import i18n
from feedback.auth import audit, sessions, throttle
from feedback.auth.guards import resolve_principal
from feedback.auth.models import Role, User
from feedback.auth.permissions import allow
from feedback.auth.service import hash_password, needs_rehash, verify_password
from feedback.deps import Conf, Db, Now
from feedback.health.repository import open_alerts
from surveys.errors import ValidationFailed

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _safe_next(value: str | None) -> str:
    # Only same-site paths: an open redirect after login is a phishing aid.
    if value and value.startswith("/") and not value.startswith("//"):
        return value
    return "/"


@get("/login", sync_to_thread=False, guards=[allow("public.login")], include_in_schema=False)
def login_page(next: str | None = None) -> Template:
    return Template(template_name="staff/login.html", context={"next": _safe_next(next)})


def _client_ip(request: Request[Any, Any, Any]) -> str | None:
    return request.client.host if request.client else None


@post("/login", sync_to_thread=True, guards=[allow("public.login")], include_in_schema=False,
      status_code=303)
def login(request: Request[Any, Any, Any], db: Db, now: Now, settings: Conf,
          data: Form) -> Template | Redirect:
    email = (data.get("email") or "").strip().lower()[:320]
    ip = _client_ip(request)
    context = {"next": _safe_next(data.get("next")), "email": email}
    wait = throttle.wait_seconds(db, email, ip, now)
    if wait:
        return _too_many(context, wait)
    user = db.exec(select(User).where(User.email == email)).first()
    # The hash is checked whoever asked (a dummy one for an unknown e-mail): same time either way.
    password = data.get("password", "")
    ok = verify_password(password, user.password_hash if user else None)
    if user is None or not user.active or not ok:
        wait = throttle.record_failure(db, email, ip, now, settings)
        audit.record(db, now, actor=email or "(blank)", action="login.failed", ip=ip)
        if wait:
            return _too_many(context, wait)
        return Template(template_name="staff/login.html", status_code=401,
                        context={**context, "error": "staff.login.wrong"})
    throttle.record_success(db, email, now)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        db.add(user)
    old = (request.session or {}).get("sid") if "session" in request.scope else None
    token = sessions.start(db, user.id, now, settings, ip=ip,  # type: ignore[arg-type]
                          user_agent=request.headers.get("user-agent"), replaces=old)
    audit.record(db, now, actor=user.email, actor_user_id=user.id, action="login", ip=ip)
    request.set_session({"sid": token})
    return Redirect(_safe_next(data.get("next")), status_code=303)


def _too_many(context: dict[str, Any], wait: int) -> Template:
    key, n = (("staff.login.too_many_minutes", -(-wait // 60)) if wait >= 60
              else ("staff.login.too_many_seconds", wait))
    return Template(template_name="staff/login.html", status_code=429,
                    headers={"Retry-After": str(wait)},
                    context={**context, "retry_after": wait, "error": key,
                             "error_params": {"n": n}})


@post("/logout", sync_to_thread=True, guards=[allow("public.login")], include_in_schema=False,
      status_code=303)
def logout(request: Request[Any, Any, Any], db: Db, now: Now) -> Redirect:
    sid = (request.session or {}).get("sid")
    if sid:
        sessions.revoke(db, str(sid), now)
    request.clear_session()
    return Redirect("/login", status_code=303)


@get("/", sync_to_thread=True, guards=[allow("public.home")], include_in_schema=False)
def home(request: Request[Any, Any, Any], db: Db) -> Redirect | Template:
    principal = resolve_principal(request)
    if principal is None:
        return Redirect("/login")
    # Admins see the pipeline's open alerts here until someone resolves them.
    alerts = open_alerts(db) if principal.role == Role.ADMIN else []
    return Template(template_name="staff/home.html",
                    context={"principal": principal, "alerts": alerts})


@post("/language", sync_to_thread=False, guards=[allow("public.language")],
      include_in_schema=False, status_code=303)
def choose_language(request: Request[Any, Any, Any], settings: Conf, data: Form) -> Redirect:
    """The switcher in the navigation: remember the chosen language for a year (a cookie, so
    it also works on the sign-in page) and go back to the page it was chosen on."""
    lang = (data.get("lang") or "")[:20]
    if lang not in i18n.available():
        raise ValidationFailed(f"lang: choose one of {', '.join(i18n.available())}", field="lang")
    response = Redirect(_safe_next(data.get("next")), status_code=303)
    response.set_cookie(i18n.COOKIE, lang, max_age=365 * 86400, path="/", samesite="lax",
                        httponly=True, secure=settings.public_url.startswith("https"))
    return response


@get("/whoami", sync_to_thread=True, guards=[allow("staff.whoami")], include_in_schema=False)
def whoami(request: Request[Any, Any, Any]) -> dict[str, Any]:
    p = resolve_principal(request)
    assert p is not None
    return {"name": p.name, "role": p.role, "team": p.team, "via": p.via}


routes = [login_page, login, logout, home, choose_language, whoami]
