"""Queries of configuration: revisions, the change counter, and the per-process cache.

The cache maps (database, kind) to the parsed latest revision, tagged with the counter's stamp
it was read at. Each read costs one primary-key look-up of the counter row; only when the stamp
moved (any change, in any process) is the revision read and parsed again.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from feedback.configuration.models import ConfigRevision, ConfigVersion
from surveys.sql import dialect_insert, insert_ignore

_R = ConfigRevision.__table__  # type: ignore[attr-defined]
_V = ConfigVersion.__table__  # type: ignore[attr-defined]
_STAMP_KEY = "config_stamp"

_lock = threading.Lock()
# database url -> (stamp, {kind: parsed revision or None})
_cache: dict[str, tuple[str, dict[str, Any]]] = {}


def stamp(session: Session) -> str | None:
    """The counter's stamp, read once per transaction (a batch asks many times)."""
    if _STAMP_KEY not in session.info:
        session.info[_STAMP_KEY] = session.execute(
            sa.select(_V.c.stamp).where(_V.c.id == 1)).scalar_one_or_none()
    return session.info[_STAMP_KEY]


def stamp_column() -> Any:
    """The counter's stamp as a column (a scalar subquery; NULL before any change), for the
    request's own first look-up to carry: the stamp then costs no round trip of its own. Give
    the value it read to `carried_stamp`."""
    return sa.select(_V.c.stamp).where(_V.c.id == 1).scalar_subquery()


def carried_stamp(session: Session, value: str | None) -> None:
    """The stamp a look-up of this transaction carried (`stamp_column`): `stamp` asks no more."""
    session.info.setdefault(_STAMP_KEY, value)


def bump(session: Session) -> None:
    """Mark a change: every process's cache reloads at its next read (once this commits)."""
    new = secrets.token_hex(16)
    stmt = dialect_insert(session, _V).values(id=1, version=1, stamp=new)
    session.execute(stmt.on_conflict_do_update(
        index_elements=["id"], set_={"version": _V.c.version + 1, "stamp": new}))
    session.info[_STAMP_KEY] = new


def latest(session: Session, kind: str) -> ConfigRevision | None:
    row = session.execute(sa.select(_R).where(_R.c.kind == kind)
                          .order_by(_R.c.version.desc()).limit(1)).mappings().first()
    return ConfigRevision(**row) if row else None


def history(session: Session, kind: str, limit: int = 50) -> list[ConfigRevision]:
    rows = session.execute(sa.select(_R).where(_R.c.kind == kind)
                           .order_by(_R.c.version.desc()).limit(limit)).mappings().all()
    return [ConfigRevision(**r) for r in rows]


def revision(session: Session, kind: str, version: int) -> ConfigRevision | None:
    row = session.execute(sa.select(_R).where(_R.c.kind == kind, _R.c.version == version)
                          ).mappings().first()
    return ConfigRevision(**row) if row else None


def insert_revision(session: Session, kind: str, version: int, body: Any, *, by: str,
                    now: datetime, summary: str) -> bool:
    """False when that version exists already: someone else saved first."""
    went_in = insert_ignore(session, _R, {
        "kind": kind, "version": version, "body": body, "changed_by": by[:200],
        "changed_at": now, "summary": summary[:1000]}, ["kind", "version"]) == 1
    if went_in:
        bump(session)
    return went_in


def peek(url: str, kind: str) -> Any:
    """The parsed revision this process last read for `kind`, without asking the database —
    for code that must not wait on it (a template rendered on the event loop). None when the
    process has not read one yet."""
    with _lock:
        entry = _cache.get(url)
        return entry[1].get(kind) if entry is not None else None


def current(session: Session, kind: str, parse: Callable[[ConfigRevision], Any]) -> Any:
    """`parse(latest revision)`, cached until the next change anywhere; None if none yet."""
    st = stamp(session)
    if st is None:  # no change was ever saved (revisions always bump the counter)
        return None
    key = str(session.get_bind().engine.url)
    with _lock:
        entry = _cache.get(key)
        if entry is not None and entry[0] == st and kind in entry[1]:
            return entry[1][kind]
    row = latest(session, kind)
    value = parse(row) if row is not None else None
    with _lock:
        entry = _cache.get(key)
        if entry is None or entry[0] != st:
            entry = (st, {})
            _cache[key] = entry
        entry[1][kind] = value
    return value
