"""The audit log: who changed access (accounts, keys, sign-ins) or took personal data out
(exports), when and from where. Rows are written in the same transaction as the change they
describe, so a change and its record commit together or not at all."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from feedback.auth.models import AuditEvent

_E = AuditEvent.__table__  # type: ignore[attr-defined]


def record(db: Session | Any, now: datetime, *, actor: str, action: str,
           actor_user_id: int | None = None, target: str | None = None,
           detail: dict[str, Any] | None = None, ip: str | None = None) -> None:
    db.execute(sa.insert(_E).values(
        at=now, actor=actor[:200], actor_user_id=actor_user_id, action=action[:60],
        target=target[:320] if target else None, detail=detail, ip=ip[:64] if ip else None))


def of_request(db: Session | None, request: Any, now: datetime, action: str, *,
               target: str | None = None, detail: dict[str, Any] | None = None) -> None:
    """Record an action taken by the principal of `request`. With `db=None` (a GET, whose
    session only reads: exports) the row is written in a short transaction of its own."""
    from feedback.auth.guards import resolve_principal
    from feedback.db import transaction

    principal = resolve_principal(request)
    actor = "anonymous" if principal is None else (
        principal.name if principal.via == "session" else f"API key {principal.name}")
    values = {"actor": actor, "action": action, "target": target, "detail": detail,
              "actor_user_id": getattr(principal, "user_id", None),
              "ip": request.client.host if request.client else None}
    if db is not None:
        record(db, now, **values)
        return
    with transaction(request.app.state.engine) as own:
        record(own, now, **values)


def events(db: Session, *, limit: int = 200, before_id: int | None = None,
           action: str | None = None) -> list[dict[str, Any]]:
    stmt = sa.select(_E).order_by(_E.c.id.desc()).limit(limit)
    if before_id is not None:
        stmt = stmt.where(_E.c.id < before_id)
    if action:
        stmt = stmt.where(_E.c.action == action)
    return [_json(r) for r in db.execute(stmt).mappings()]


def _json(r: Any) -> dict[str, Any]:
    return {"id": r["id"], "at": r["at"].isoformat(), "actor": r["actor"],
            "actor_user_id": r["actor_user_id"], "action": r["action"], "target": r["target"],
            "detail": r["detail"], "ip": r["ip"]}


def rows_for_csv(db: Session) -> Iterator[list[Any]]:
    for r in db.execute(sa.select(_E).order_by(_E.c.id)).mappings():
        yield [r["id"], r["at"].isoformat(), r["actor"], r["actor_user_id"] or "", r["action"],
               r["target"] or "", r["detail"] or "", r["ip"] or ""]
