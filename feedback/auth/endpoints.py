"""Accounts API for admins: users (invite, change, deactivate, reset link), API keys (list,
create — the key is in this one answer only —, revoke) and the audit log (JSON and CSV)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Request, get, patch, post
from litestar.params import JSONBody
from litestar.response import Stream
from pydantic import BaseModel, ConfigDict, Field

from feedback.auth import accounts, audit
from feedback.auth.guards import resolve_principal
from feedback.auth.permissions import allow
from feedback.deps import Conf, Db, Now
from feedback.recovery.schemas import parse
from feedback.reports.csvstream import iter_csv

_TAGS = ["accounts"]
USERS = {"sync_to_thread": True, "guards": [allow("account.manage")], "tags": _TAGS}
KEYS = {"sync_to_thread": True, "guards": [allow("apikey.manage")], "tags": _TAGS}


def who(request: Request[Any, Any, Any]) -> accounts.Who:
    p = resolve_principal(request)
    name = "anonymous" if p is None else (p.name if p.via == "session" else f"API key {p.name}")
    return accounts.Who(name=name, user_id=getattr(p, "user_id", None),
                        ip=request.client.host if request.client else None)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class InviteIn(_In):
    email: str = Field(max_length=320)
    name: str = Field(min_length=1, max_length=200)
    role: str = "recovery"
    team: str | None = Field(default=None, max_length=200)


class UserPatch(_In):
    role: str | None = None
    team: str | None = Field(default=None, max_length=200)
    available: bool | None = None
    active: bool | None = None


class KeyIn(_In):
    name: str = Field(min_length=1, max_length=200)
    role: str = "ingest"
    team: str | None = Field(default=None, max_length=200)
    expires_at: datetime | None = None


@get("/api/users", **USERS, summary="Staff accounts")
def list_users(db: Db) -> dict[str, Any]:
    return {"users": [accounts.user_json(u) for u in accounts.users(db)]}


@post("/api/users", **USERS, status_code=201,
      summary="Invite a person: the account and a one-time link to set a password")
def invite_user(request: Request[Any, Any, Any], data: JSONBody[Any], db: Db, now: Now,
                settings: Conf) -> dict[str, Any]:
    body = parse(InviteIn, data)
    user, link, expires = accounts.invite(db, who(request), now, settings, email=body.email,
                                          name=body.name, role=body.role, team=body.team)
    return {"user": accounts.user_json(user), "link": link, "link_expires_at": expires.isoformat()}


@patch("/api/users/{user_id:int}", **USERS,
       summary="Change role, team, availability or active (false ends every session)")
def update_user(user_id: int, request: Request[Any, Any, Any], data: JSONBody[Any], db: Db,
                now: Now) -> dict[str, Any]:
    body = parse(UserPatch, data)
    fields = body.model_fields_set
    user = accounts.update(db, who(request), now, user_id, role=body.role,
                           team=body.team if "team" in fields else ...,
                           available=body.available, active=body.active)
    return accounts.user_json(user)


@post("/api/users/{user_id:int}/reset-link", **USERS, status_code=201,
      summary="A one-time, expiring link to set a new password")
def user_reset_link(user_id: int, request: Request[Any, Any, Any], db: Db, now: Now,
                    settings: Conf) -> dict[str, Any]:
    link, expires = accounts.reset_link(db, who(request), now, settings, user_id)
    return {"link": link, "expires_at": expires.isoformat()}


@get("/api/api-keys", **KEYS, summary="API keys (never the keys themselves)")
def list_keys(db: Db, now: Now) -> dict[str, Any]:
    return {"api_keys": [accounts.key_json(k, now) for k in accounts.keys(db)]}


@post("/api/api-keys", **KEYS, status_code=201,
      summary="Create an API key; the key is in this answer only (stored hashed)")
def create_key(request: Request[Any, Any, Any], data: JSONBody[Any], db: Db,
               now: Now) -> dict[str, Any]:
    body = parse(KeyIn, data)
    row, plaintext = accounts.create_key(db, who(request), now, name=body.name, role=body.role,
                                         team=body.team, expires_at=body.expires_at)
    return {**accounts.key_json(row, now), "key": plaintext}


@post("/api/api-keys/{key_id:int}/revoke", **KEYS, status_code=200, summary="Revoke an API key")
def revoke_key(key_id: int, request: Request[Any, Any, Any], db: Db, now: Now) -> dict[str, Any]:
    return accounts.key_json(accounts.revoke_key(db, who(request), now, key_id), now)


@get("/api/audit", sync_to_thread=True, guards=[allow("audit.read")], tags=_TAGS,
     summary="The audit log, newest first")
def audit_log(db: Db, before_id: int | None = None, action: str | None = None,
              limit: int = 200) -> dict[str, Any]:
    from surveys.errors import ValidationFailed

    if not 1 <= limit <= 1000:
        raise ValidationFailed("limit must be between 1 and 1000", field="limit")
    return {"events": audit.events(db, limit=limit, before_id=before_id, action=action)}


@get("/api/audit/export", sync_to_thread=True, guards=[allow("audit.read")], tags=_TAGS,
     summary="The whole audit log as CSV")
def audit_export(request: Request[Any, Any, Any], db: Db, now: Now) -> Stream:
    from feedback.reports.endpoints import csv_stream

    audit.of_request(None, request, now, "audit.export")
    rows = list(audit.rows_for_csv(db))  # read inside the request's transaction
    header = ["id", "at", "actor", "actor_user_id", "action", "target", "detail", "ip"]
    return csv_stream(iter_csv(header, iter(rows), bom=True), "audit")


routes = [list_users, invite_user, update_user, user_reset_link, list_keys, create_key,
          revoke_key, audit_log, audit_export]
