"""The admin's side of pipeline alerts in the web UI: open alerts sit at the top of the home
page until resolved (see web.staff), and this form resolves one."""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.response import Redirect

from feedback.auth.guards import provide_principal
from feedback.auth.permissions import allow
from feedback.deps import Conf, Db, Now
from feedback.health.service import resolve_by_id
from surveys.errors import NotFound


@post("/alerts/{alert_id:int}/resolve", sync_to_thread=True, guards=[allow("pipeline.alert.resolve")],
      include_in_schema=False, status_code=303)
def resolve_form(alert_id: int, request: Request[Any, Any, Any], db: Db, now: Now,
                 settings: Conf) -> Redirect:
    principal = provide_principal(request)
    if resolve_by_id(db, alert_id, settings, now, by=principal.name) is None:
        raise NotFound(f"alert {alert_id} not found", code="unknown_alert")
    return Redirect("/", status_code=303)


routes = [resolve_form]
