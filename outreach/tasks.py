"""The worker's outreach jobs: dispatch (invitations and reminders) and expiry. (The health
check that pages a human is `feedback.health`: its alerts live in the database and go through
the notification outbox, which outreach may not import.)

The context's `extras` supply what outreach cannot import from the application: `catalog` (the
message catalogs, `feedback.i18n`) `live_policy` (the policies as of now, see `current_dispatcher`) and `events` (integration events: survey.sent, survey.failed,
written in the same transaction as the invitation's new state). Channels are built once per worker and kept in `extras`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, NamedTuple

from outreach.channels.factory import build_channels
from outreach.devoutbox import DevOutboxStore
from outreach.dispatch import Dispatcher, DispatchPolicy, DispatchReport
from outreach.messages import Site

_DISPATCHER = "outreach.dispatcher"


def dispatcher(ctx: Any) -> Dispatcher:
    """The worker's dispatcher, built on first use from the context's settings."""
    if _DISPATCHER not in ctx.extras:
        s = ctx.settings
        if "catalog" not in ctx.extras:
            raise RuntimeError("the job context has no message catalog (extras['catalog'])")
        # Our own channels, not the notifications' extras["channels"]: ours record to the dev
        # outbox table, which the dispatcher also reads back after a crash.
        channels = build_channels(s, DevOutboxStore(ctx.engine, ctx.clock))
        ctx.extras[_DISPATCHER] = Dispatcher(
            ctx.engine, channels, ctx.extras["catalog"],
            Site(public_url=s.public_url, company=s.company_name, secret_key=s.secret_key),
            DispatchPolicy.from_settings(s), worker=ctx.worker_id, clock=ctx.clock,
            rng=random.Random(), events=ctx.extras.get("events"))
    return ctx.extras[_DISPATCHER]  # type: ignore[no-any-return]


def current_dispatcher(ctx: Any) -> Dispatcher:
    """The dispatcher with the application's policies as of now (`extras["live_policy"]`:
    quiet hours, fatigue, branding are edited in the product and apply without a restart)."""
    d = dispatcher(ctx)
    live = ctx.extras.get("live_policy")
    if live is not None:
        s, site = live(ctx.engine, ctx.settings)
        d.policy, d.site = DispatchPolicy.from_settings(s), site
    return d


def dispatch_due(ctx: Any) -> DispatchReport:
    return current_dispatcher(ctx).drain()


def expire_invitations(ctx: Any) -> int:
    return current_dispatcher(ctx).expire()


class Job(NamedTuple):
    """The shape `feedback.worker` schedules (name, func, seconds, cron). Declared here because
    outreach may not import the application; the worker reads these attributes only."""

    name: str
    func: Callable[[Any], Any]
    seconds: float | None = None
    cron: dict[str, Any] | None = None
    every_setting: str | None = None  # a setting that overrides `seconds`


JOBS = [
    # Every FEEDBACK_WORKER_POLL_SECONDS (10 by default); each run drains what is due.
    Job("outreach.dispatch", dispatch_due, seconds=10, every_setting="worker_poll_seconds"),
    Job("outreach.expire", expire_invitations, seconds=300),
]
