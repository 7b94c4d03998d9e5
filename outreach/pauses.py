"""Paused channels: a provider that refuses our configuration (Twilio 401 / error 20003, SMTP
authentication) would otherwise fail every invitation on its first try. Instead dispatch pauses
the channel and holds its invitations (status `scheduled`, reason `channel_paused`); the health
job pages a human; one probe message at a time tests the channel; the first one accepted — or
an admin resolving the alert — resumes it, and the held invitations go out.

Plain SQL on the `channel_pause` table, safe with several workers: the pause is an insert that
ignores a conflict, the probe a conditional UPDATE only one worker wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from outreach.models import ChannelPause
from surveys.models import Invitation, InvitationStatus
from surveys.sql import insert_ignore

_P = ChannelPause.__table__  # type: ignore[attr-defined]
_I = Invitation.__table__  # type: ignore[attr-defined]
HELD = "channel_paused"  # the held invitations' status_reason


@dataclass(frozen=True, slots=True)
class Pause:
    channel: str
    reason: str
    code: str | None
    paused_at: datetime
    probe_at: datetime


def active(conn: Connection) -> dict[str, Pause]:
    rows = conn.execute(sa.select(_P.c.channel, _P.c.reason, _P.c.code, _P.c.paused_at,
                                  _P.c.probe_at)).all()
    return {r.channel: Pause(*r) for r in rows}


def pause(conn: Connection, channel: str, *, reason: str, code: object, now: datetime,
          probe_after: timedelta) -> None:
    """Pause `channel` (or refresh the reason of the pause that exists)."""
    values = {"reason": reason[:1000], "code": None if code is None else str(code)[:40],
              "updated_at": now}
    updated = conn.execute(sa.update(_P).where(_P.c.channel == channel).values(
        probe_at=now + probe_after, **values)).rowcount
    if updated:
        return
    insert_ignore(conn, _P, {"channel": channel, "paused_at": now, "probe_at": now + probe_after,
                             **values}, ["channel"])


def take_probe(conn: Connection, channel: str, *, now: datetime, probe_after: timedelta) -> bool:
    """May this worker send one message to test the paused channel? Only one worker wins."""
    return conn.execute(sa.update(_P).where(_P.c.channel == channel, _P.c.probe_at <= now)
                        .values(probe_at=now + probe_after)).rowcount == 1


def probe_now(conn: Connection, now: datetime) -> None:
    """A worker starting up may run with a fixed configuration: let it probe at once."""
    conn.execute(sa.update(_P).where(_P.c.probe_at > now).values(probe_at=now))


def resume(conn: Connection, channel: str, now: datetime) -> int:
    """End the pause; the invitations it held become due now. Returns how many were held."""
    conn.execute(sa.delete(_P).where(_P.c.channel == channel))
    return int(conn.execute(sa.update(_I).where(
        _I.c.status == InvitationStatus.SCHEDULED, _I.c.status_reason == HELD,
        _I.c.channel == channel).values(send_at=now, updated_at=now)).rowcount or 0)
