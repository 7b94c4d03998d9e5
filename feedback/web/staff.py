
"""Sign-in for staff and the landing page that points each role to its screen."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlmodel import select

from feedback.auth.guards import resolve_principal
from feedback.auth.models import User
from feedback.auth.permissions import allow
from feedback.auth.service import verify_password
from feedback.deps import Db

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _safe_next(value: str | None) -> str:
    # Only same-site paths: an open redirect after login is a phishing aid.
    if value and value.startswith("/") and not value.startswith("//"):
        return value
    return "/"


@get("/login", sync_to_thread=False, guards=[allow("public.login")], include_in_schema=False)
def login_page(next: str | None = None) -> Template:
    return Template(template_name="staff/login.html", context={"next": _safe_next(next)})


@post("/login", sync_to_thread=True, guards=[allow("public.login")], include_in_schema=False, status_code=303)
def login(request: Request[Any, Any, Any], db: Db, data: Form) -> Template | Redirect:
    email = (data.get("email") or "").strip().lower()
    user = db.exec(select(User).where(User.email == email)).first()
    if user is None or not user.active or not verify_password(data.get("password", ""), user.password_hash):
        return Template(template_name="staff/login.html", status_code=401,
                        context={"next": _safe_next(data.get("next")), "email": email,
                                 "error": "Wrong email or password."})
    request.set_session({"user_id": user.id})
    return Redirect(_safe_next(data.get("next")), status_code=303)


@post("/logout", sync_to_thread=False, guards=[allow("public.login")], include_in_schema=False, status_code=303)
def logout(request: Request[Any, Any, Any]) -> Redirect:
    request.clear_session()
    return Redirect("/login", status_code=303)


@get("/", sync_to_thread=True, guards=[allow("public.home")], include_in_schema=False)
def home(request: Request[Any, Any, Any]) -> Redirect | Template:
    principal = resolve_principal(request)
    if principal is None:
        return Redirect("/login")
    return Template(template_name="staff/home.html", context={"principal": principal})


@get("/whoami", sync_to_thread=True, guards=[allow("staff.whoami")], include_in_schema=False)
def whoami(request: Request[Any, Any, Any]) -> dict[str, Any]:
    p = resolve_principal(request)
    assert p is not None
    return {"name": p.name, "role": p.role, "team": p.team, "via": p.via}


routes = [login_page, login, logout, home, whoami]
