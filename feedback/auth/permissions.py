"""The permission table: which role may take which action, over which teams.

Every route handler (API, page, webhook, static files, the OpenAPI document) declares exactly
one action with `guards=[allow("action")]`; `tests/test_permissions.py` walks every route of the
app and fails on a handler that declares none, so a new route cannot be forgotten. The table is
the whole rule: nothing else in the code compares role names to decide who may call a route.

Scopes: `ALL` — every team's data. `TEAM` — only the principal's team: a recovery member (or
key) sees their team (and tasks they own); a lead with a team is scoped the same way, a lead
without a team sees every team. `settings.recovery_agents_see_all_teams` widens recovery's TEAM
scope to ALL. Handlers that read team-bound data ask `team_scope(...)` which team (if any) to
filter by; the guard has already refused the roles that are not in the table.

Anonymous callers count as the role `anonymous`; the admin role passes every action (it is the
role that manages accounts, so it could grant itself anything anyway).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from enum import StrEnum
from typing import Any

import anyio
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from feedback.auth.guards import resolve_principal
from surveys.errors import Forbidden, Unauthorized


class Scope(StrEnum):
    ALL = "all"
    TEAM = "team"


ANONYMOUS = "anonymous"
INGEST = "ingest"
RECOVERY = "recovery"
LEAD = "lead"
ADMIN = "admin"
ROLES = (ANONYMOUS, INGEST, RECOVERY, LEAD, ADMIN)

_A, _T = Scope.ALL, Scope.TEAM
_EVERYONE = {ANONYMOUS: _A, INGEST: _A, RECOVERY: _A, LEAD: _A}
_STAFF_TEAM = {RECOVERY: _T, LEAD: _T}

# action -> {role: scope}. Admin is implied everywhere (see the module docstring).
TABLE: Mapping[str, Mapping[str, Scope]] = {
    # Public: customers (token links), sign-in, health, assets, the API description. Webhooks
    # are public here because Twilio has no account: their own guard checks the signature.
    "public.health": _EVERYONE,
    "public.static": _EVERYONE,
    "public.docs": _EVERYONE,
    "public.login": _EVERYONE,
    "public.home": _EVERYONE,
    "public.survey": _EVERYONE,
    "public.unsubscribe": _EVERYONE,
    "public.webhook": _EVERYONE,
    "public.demo": _EVERYONE,
    # The one-time link an invited person (or a password reset) sets a password with.
    "public.account_link": _EVERYONE,
    # The language switcher of every page (a cookie; anyone may choose how pages read).
    "public.language": _EVERYONE,
    # Signed-in staff.
    "staff.whoami": {RECOVERY: _A, LEAD: _A},
    # Writing interactions is all an integration key (role ingest) can do.
    "interaction.write": {INGEST: _A, LEAD: _A},
    # The CSV import page (people, signed in): leads, like writing interactions by API.
    "interaction.import": {LEAD: _A},
    # Recovery queue: team-scoped for members and team leads.
    "recovery.task.read": _STAFF_TEAM,
    "recovery.task.claim": _STAFF_TEAM,
    "recovery.task.release": _STAFF_TEAM,
    "recovery.task.assign": _STAFF_TEAM,
    "recovery.task.priority": _STAFF_TEAM,
    "recovery.task.contact": _STAFF_TEAM,
    "recovery.task.resolve": _STAFF_TEAM,
    "recovery.task.close": _STAFF_TEAM,
    "recovery.metrics.read": {LEAD: _T},
    # Taking a member on or off the assignment rotation: admins (beside the users page).
    "recovery.member.availability": {},
    # Customers' personal data follows team scope (a customer belongs to the teams that
    # served them).
    "customer.contact_log.read": _STAFF_TEAM,
    # Data requests (feedback/privacy): finding a customer follows team scope; the export is
    # every piece of personal data we hold, so leads; erasure is irreversible, so admins.
    "customer.find": _STAFF_TEAM,
    "customer.export": {LEAD: _T},
    "customer.erase": {},
    # Reports and KPIs: leads only (a team lead sees their team's figures).
    "kpi.read": {LEAD: _T},
    "report.read": {LEAD: _T},
    "report.export": {LEAD: _T},  # PII: every export is written to the audit log
    # Contact policy data (phone numbers, e-mail addresses): leads.
    "optout.read": {LEAD: _A},
    "optout.write": {LEAD: _A},
    "bounce.write": {LEAD: _A},
    "sms.inbound.read": {LEAD: _A},
    # Themes (taxonomy, training): leads.
    "theme.read": {LEAD: _A},
    "theme.write": {LEAD: _A},
    # The development outbox holds every message with its survey link: whoever reads it can
    # answer as any customer, so only admins.
    "outbox.read": {},
    # Pipeline alerts (bad provider credentials, failure spikes, stalls): admins are paged.
    "pipeline.alert.read": {},
    "pipeline.alert.resolve": {},
    # Integrations (event webhooks, Slack, helpdesk connectors): their URLs and secrets reach
    # outside, so admins only.
    "integration.read": {},
    "integration.manage": {},
    # Configuration edited in the product (distribution rules, surveys, policies): leads read
    # it (and try the rules on an interaction); changing it is the admins'.
    "config.read": {LEAD: _A},
    "config.write": {},
    # Accounts, keys and the audit log.
    "account.manage": {},
    "apikey.manage": {},
    "audit.read": {},
}


def allows(role: str, action: str) -> bool:
    if action not in TABLE:
        raise KeyError(f"no permission-table entry for action {action!r}")
    return role == ADMIN or role in TABLE[action]


def role_of(principal: Any) -> str:
    return ANONYMOUS if principal is None else str(principal.role)


class _Everyone:
    """Marker: `team_scope` returns it when the principal is not restricted to a team."""

    def __repr__(self) -> str:
        return "EVERY_TEAM"


EVERY_TEAM: Any = _Everyone()


def team_scope(principal: Any, action: str, settings: Any = None) -> Any:
    """The team this principal's data is limited to for `action`, or EVERY_TEAM.

    A TEAM-scoped principal without a team gets `None` (no team's data; recovery members still
    see tasks they own, which the recovery queries add themselves)."""
    role = role_of(principal)
    if role == ADMIN:
        return EVERY_TEAM
    scope = TABLE[action].get(role)
    if scope is None:
        raise Forbidden(f"the {role} role may not {action}")
    if scope == Scope.ALL:
        return EVERY_TEAM
    if role == RECOVERY and settings is not None and getattr(
            settings, "recovery_agents_see_all_teams", False):
        return EVERY_TEAM
    if role == LEAD and not principal.team:
        return EVERY_TEAM
    return principal.team


Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]


def allow(action: str) -> Guard:
    """The guard every route declares: `guards=[allow("recovery.task.claim")]`."""
    if action not in TABLE:
        raise KeyError(f"no permission-table entry for action {action!r}")
    public = ANONYMOUS in TABLE[action]

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        connection.scope.setdefault("state", {})["action"] = action
        if public:
            return
        # The key/session look-up queries the database: never on the event loop, where one
        # wait for a pooled connection would stall every request of the process.
        principal = await anyio.to_thread.run_sync(resolve_principal, connection)
        if principal is None:
            raise Unauthorized("sign in or send an API key")
        if not allows(principal.role, action):
            raise Forbidden(f"the {principal.role} role may not {action} (allowed: "
                            f"{', '.join([*TABLE[action], ADMIN])})", code="forbidden")

    guard.action = action  # type: ignore[attr-defined]
    guard.__name__ = f"allow({action})"
    return guard


def request_team(request: Any) -> Any:
    """`team_scope` for the principal and the action of the current request."""
    action = request.scope.get("state", {}).get("action")
    if action is None:
        raise RuntimeError("request_team() outside a route guarded by allow()")
    return team_scope(resolve_principal(request), action, request.app.state.settings)


def team_params(request: Any) -> dict[str, str]:
    """The query parameters with `team` pinned to the caller's team when they are team-scoped
    (reports, KPIs): asking for another team is refused rather than silently replaced."""
    p = dict(request.query_params)
    team = request_team(request)
    if team is EVERY_TEAM:
        return p
    if p.get("team") and p["team"] != team:
        raise Forbidden(f"you may only see the figures of team {team}", field="team")
    p["team"] = team or ""
    return p


def actions_of(handler: Any) -> list[str]:
    """The actions a route handler declares, on itself or on a router above it (the
    authorization test uses it to find routes without an entry)."""
    layers = getattr(handler, "ownership_layers", [handler])
    return [g.action for layer in layers for g in (getattr(layer, "guards", None) or [])
            if hasattr(g, "action")]


def markdown_table() -> str:
    """The table as Markdown, for the README (a test keeps the README in step)."""
    roles = (ANONYMOUS, INGEST, RECOVERY, LEAD, ADMIN)
    lines = ["| action | " + " | ".join(roles) + " |", "|---" * (len(roles) + 1) + "|"]
    for action, grants in TABLE.items():
        cells = []
        for role in roles:
            if role == ADMIN:
                cells.append("all")
            else:
                scope = grants.get(role)
                cells.append(scope.value if scope else "—")
        lines.append(f"| `{action}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)
