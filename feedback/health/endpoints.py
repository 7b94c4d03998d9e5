"""Pipeline alerts over the API (admins): list them, resolve one."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post

from feedback.auth.guards import provide_principal
from feedback.auth.permissions import allow
from feedback.deps import Conf, Db, Now
from feedback.health.repository import latest, open_alerts
from feedback.health.schemas import alert_json
from feedback.health.service import resolve_by_id
from surveys.errors import NotFound

_TAGS = ["health"]


@get("/api/health/alerts", sync_to_thread=True, guards=[allow("pipeline.alert.read")], tags=_TAGS,
     summary="Pipeline alerts: the open ones, or the latest 100 with ?all=1")
def list_alerts(db: Db, all: bool = False) -> dict[str, Any]:  # noqa: A002 - the query name
    rows = latest(db) if all else open_alerts(db)
    return {"alerts": [alert_json(a) for a in rows]}


@post("/api/health/alerts/{alert_id:int}/resolve", sync_to_thread=True, guards=[allow("pipeline.alert.resolve")],
      tags=_TAGS, status_code=200, summary="Resolve an alert; a paused channel resumes with it")
def resolve_alert(alert_id: int, request: Request[Any, Any, Any], db: Db, now: Now,
                  settings: Conf) -> dict[str, Any]:
    principal = provide_principal(request)
    alert = resolve_by_id(db, alert_id, settings, now, by=principal.name)
    if alert is None:
        raise NotFound(f"alert {alert_id} not found", code="unknown_alert")
    return alert_json(alert)


routes = [list_alerts, resolve_alert]
