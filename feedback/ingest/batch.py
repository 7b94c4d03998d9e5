"""Set-based ingest: a whole batch of interactions in a handful of statements.

The API (`POST /api/interactions`) and the CSV import both come here. Row by row, ingest cost
six statements per interaction (a look-up and a write each for the customer and the
interaction, an opt-out look-up, the invitation, a flush after each), so a 500-row batch spent
its time waiting on round trips. Here a batch costs, whatever its size: one look-up and one
insert of its customers (plus one update when some changed), one insert of its interactions
(plus a look-up and an update for those already known), one opt-out look-up and one multi-row
insert of invitations — about ten statements for 500 rows.

The rules are the row-by-row ones (`feedback.ingest.service` keeps the single-item helpers):
customers matched by external id, else by phone, else by e-mail; an interaction is idempotent
on its external id and may not move to another customer (409); one survey per interaction.
Races are settled by the database: every insert is `ON CONFLICT DO NOTHING … RETURNING`, and a
row another transaction inserted first is read back and treated as known. Rows are written in
key order, so two batches naming the same customers lock them in the same order (no deadlock).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import Session

from feedback import i18n
from feedback.ingest.schemas import InteractionIn
from feedback.integrations.events import interactions_created
from feedback.operations.rollups import mark_dirty
from feedback.settings import Settings
from outreach import optouts
from surveys.errors import Conflict, ValidationFailed
from surveys.models import Customer, Interaction, Invitation, InvitationStatus, SurveyDefinition
from surveys.service import new_token
from surveys.sql import insert_rows, one_of

if TYPE_CHECKING:
    from feedback.configuration.service import RuleDecision

CUSTOMER = Customer.__table__  # type: ignore[attr-defined]
INTERACTION = Interaction.__table__  # type: ignore[attr-defined]
INVITATION = Invitation.__table__  # type: ignore[attr-defined]
SURVEY = SurveyDefinition.__table__  # type: ignore[attr-defined]
CUSTOMER_FIELDS = ("name", "email", "phone", "locale", "time_zone", "tier")
INVITATION_VIEW = ("id", "interaction_id", "token", "channel", "status", "send_at",
                   "expires_at", "status_reason")
# A bound on the parameters of one IN (…): SQLite allows 32766, PostgreSQL 65535.
IN_CHUNK = 5000


@dataclass
class CustomerRow:
    """What ingest needs of a customer (choose_channel reads `phone` and `email`)."""

    id: int | None
    external_id: str | None
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    locale: str | None = "en"
    time_zone: str | None = None
    tier: str | None = None
    changed: bool = field(default=False, repr=False)

    def apply(self, data: dict[str, Any]) -> None:
        for name in CUSTOMER_FIELDS:
            value = data.get(name)
            if value is not None and getattr(self, name) != value:
                setattr(self, name, value)
                self.changed = True


@dataclass
class InvitationView:
    """The scheduled invitation as the API reports it (no ORM object: nothing to flush)."""

    id: int
    interaction_id: int
    token: str
    channel: str
    status: str
    send_at: datetime
    expires_at: datetime
    status_reason: str | None = None


@dataclass
class BatchResult:
    external_id: str
    interaction_id: int
    created: bool
    invitation: InvitationView | None
    note: str | None = None


def _in(session: Session, stmt_for: Any, values: list[Any]) -> list[Any]:
    """Run `stmt_for(chunk)` over `values` in IN-sized chunks (one statement for a batch)."""
    rows: list[Any] = []
    for i in range(0, len(values), IN_CHUNK):
        rows.extend(session.execute(stmt_for(values[i:i + IN_CHUNK])).all())
    return rows


def _customer_row(row: Any) -> CustomerRow:
    return CustomerRow(id=row.id, external_id=row.external_id, name=row.name, email=row.email,
                       phone=row.phone, locale=row.locale, time_zone=row.time_zone, tier=row.tier)


def _select_customers(where: Any) -> Any:
    c = CUSTOMER.c
    return sa.select(c.id, c.external_id, c.name, c.email, c.phone, c.locale, c.time_zone,
                     c.tier).where(where).order_by(c.id)


def upsert_customers(session: Session, items: list[InteractionIn], now: datetime) -> list[CustomerRow]:
    """The customer of each item (same order), created or updated with what the item gave."""
    data = [item.customer.model_dump() for item in items]
    keyed: dict[str, CustomerRow] = {}
    c = CUSTOMER.c
    wanted = sorted({d["external_id"] for d in data if d["external_id"]})
    if wanted:
        for row in _in(session, lambda ids: _select_customers(one_of(session, c.external_id, ids)), wanted):
            keyed[row.external_id] = _customer_row(row)
        fresh = [key for key in wanted if key not in keyed]
        new_rows: dict[str, CustomerRow] = {}
        for d in data:  # merged in batch order: the last value given wins, as row by row
            key = d["external_id"]
            if key in keyed:
                keyed[key].apply(d)
            elif key:
                new_rows.setdefault(key, CustomerRow(id=None, external_id=key)).apply(d)
        if fresh:
            params = _without_nulls([_customer_values(new_rows[key], now) for key in fresh])
            for row in insert_rows(session, CUSTOMER, params, conflict=["external_id"],
                                   returning=(c.id, c.external_id)):
                new_rows[row.external_id].id = row.id
                new_rows[row.external_id].changed = False
            lost = [key for key in fresh if new_rows[key].id is None]
            if lost:  # another transaction created them first: theirs, updated with ours
                for row in _in(session, lambda ids: _select_customers(one_of(session, c.external_id, ids)), lost):
                    theirs = _customer_row(row)
                    mine = new_rows[row.external_id]
                    theirs.apply({f: getattr(mine, f) for f in CUSTOMER_FIELDS})
                    new_rows[row.external_id] = theirs
            keyed.update(new_rows)
    anonymous = _match_anonymous(session, data)
    pending = [row for row in anonymous.values() if row.id is None]
    if pending:
        stmt = CUSTOMER.insert().returning(c.id, sort_by_parameter_order=True)
        for row, made in zip(pending, session.execute(stmt, [_customer_values(r, now) for r in pending]).all(), strict=True):
            row.id = made.id
            row.changed = False
    everyone = list(keyed.values()) + list(anonymous.values())
    changed = sorted((r for r in everyone if r.changed and r.id is not None), key=lambda r: r.id or 0)
    if changed:
        stmt = (sa.update(CUSTOMER).where(c.id == sa.bindparam("_id"))
                .values({f: sa.bindparam(f"_{f}") for f in (*CUSTOMER_FIELDS, "updated_at")}))
        session.execute(stmt, [{"_id": r.id, "_updated_at": now,
                                **{f"_{f}": getattr(r, f) for f in CUSTOMER_FIELDS}}
                               for r in changed])
    return [keyed[d["external_id"]] if d["external_id"] else anonymous[i] for i, d in enumerate(data)]


def _customer_values(row: CustomerRow, now: datetime) -> dict[str, Any]:
    values = {f: getattr(row, f) for f in CUSTOMER_FIELDS}
    values["locale"] = values["locale"] or "en"
    return {"external_id": row.external_id, **values, "created_at": now, "updated_at": now}


def _match_anonymous(session: Session, data: list[dict[str, Any]]) -> dict[int, CustomerRow]:
    """Customers without an external id, matched by phone, else by e-mail (index → row)."""
    todo = [(i, d) for i, d in enumerate(data) if not d["external_id"]]
    if not todo:
        return {}
    c = CUSTOMER.c
    phones = sorted({d["phone"] for _, d in todo if d["phone"]})
    emails = sorted({d["email"] for _, d in todo if d["email"]})
    by_phone: dict[str, CustomerRow] = {}
    by_email: dict[str, CustomerRow] = {}
    if phones or emails:
        rows = session.execute(_select_customers(sa.and_(c.external_id.is_(None), sa.or_(
            one_of(session, c.phone, phones or [""]), one_of(session, c.email, emails or [""]))))).all()
        for found in rows:  # ordered by id: the oldest match wins, as it did row by row
            known = _customer_row(found)
            if known.phone:
                by_phone.setdefault(known.phone, known)
            if known.email:
                by_email.setdefault(known.email, known)
    out: dict[int, CustomerRow] = {}
    for i, d in todo:
        row: CustomerRow | None = (by_phone.get(d["phone"]) if d["phone"] else None) or (
            by_email.get(d["email"]) if d["email"] else None)
        if row is None:
            row = CustomerRow(id=None, external_id=None)
        row.apply(d)
        if row.phone:
            by_phone.setdefault(row.phone, row)
        if row.email:
            by_email.setdefault(row.email, row)
        out[i] = row
    return out


def upsert_interactions(session: Session, items: list[InteractionIn], customers: list[CustomerRow],
                        now: datetime) -> tuple[dict[str, int], set[str]]:
    """Insert the new interactions, update the known ones; (external id → id, created ids)."""
    t = INTERACTION.c
    order = sorted(range(len(items)), key=lambda i: items[i].external_id)
    values = []
    for i in order:
        item = items[i]
        values.append({
            "external_id": item.external_id, "customer_id": customers[i].id,
            "channel": item.channel.value, "occurred_at": item.occurred_at, "agent": item.agent,
            "team": item.team, "queue": item.queue, "metadata": item.metadata or {},
            **item.operations(), "created_at": now, "updated_at": now})
    ids = {row.external_id: row.id for row in insert_rows(
        session, INTERACTION, _without_nulls(values), conflict=["external_id"],
        returning=(t.id, t.external_id))}
    created = set(ids)
    known = [items[i] for i in order if items[i].external_id not in created]
    if not known:
        return ids, created
    owner_of: dict[str, int] = {}
    was_at: list[datetime] = []
    for row in _in(session, lambda keys: sa.select(
            t.id, t.external_id, t.customer_id, t.occurred_at).where(one_of(session, t.external_id, keys)),
            [item.external_id for item in known]):
        ids[row.external_id] = row.id
        owner_of[row.external_id] = row.customer_id
        was_at.append(row.occurred_at)
    customer_of = {items[i].external_id: customers[i] for i in order}
    for item in known:
        if owner_of[item.external_id] != customer_of[item.external_id].id:
            _refuse_move(session, item.external_id, owner_of[item.external_id],
                         customer_of[item.external_id])
    _update_interactions(session, known, ids, now)
    # Sent again, an interaction may carry other facts or another time: ids alone cannot tell
    # the operations rollups that its old and new days changed.
    mark_dirty(session, *was_at, *(item.occurred_at for item in known))
    return ids, created


def _without_nulls(values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Leave out the columns no row of the batch fills (they default to NULL): on PostgreSQL
    the driver's cost of a multi-row statement is per placeholder, and most operational
    columns are empty in most batches."""
    empty = [k for k in values[0] if all(v[k] is None for v in values)]
    for row in values:  # in place: the rows are the caller's own, built for this insert
        for k in empty:
            del row[k]
    return values


def _update_interactions(session: Session, known: list[InteractionIn], ids: dict[str, int],
                         now: datetime) -> None:
    """A retried interaction takes what it gives (a value not sent is kept). Grouped by the
    set of fields given, so each group is one executemany."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for item in known:
        given: dict[str, Any] = {"channel": item.channel.value, "occurred_at": item.occurred_at}
        for name in ("agent", "team", "queue"):
            if getattr(item, name) is not None:
                given[name] = getattr(item, name)
        if item.metadata is not None:
            given["metadata"] = item.metadata
        given.update({k: v for k, v in item.operations().items() if v is not None})
        given["updated_at"] = now
        groups.setdefault(tuple(given), []).append(
            {"_id": ids[item.external_id], **{f"_{k}": v for k, v in given.items()}})
    t = INTERACTION.c
    for names, params in groups.items():
        stmt = (sa.update(INTERACTION).where(t.id == sa.bindparam("_id"))
                .values({name: sa.bindparam(f"_{name}") for name in names}))
        session.execute(stmt, params)


def _refuse_move(session: Session, external_id: str, owner_id: int, customer: CustomerRow) -> None:
    owner = session.execute(sa.select(CUSTOMER.c.external_id).where(CUSTOMER.c.id == owner_id)).scalar()
    was = owner or f"#{owner_id}"
    now_named = customer.external_id or f"#{customer.id}"
    raise Conflict(
        f"interaction {external_id} belongs to customer {was}; this request names "
        f"customer {now_named}: send it with the same customer, or use a new external_id",
        field="customer", code="customer_mismatch",
        extra={"interaction_customer": was, "requested_customer": now_named})


def existing_invitations(session: Session, interaction_ids: list[int]) -> dict[int, InvitationView]:
    if not interaction_ids:
        return {}
    v = INVITATION.c
    rows = _in(session, lambda ids: sa.select(*(v[n] for n in INVITATION_VIEW)).where(
        one_of(session, v.interaction_id, ids), v.purpose == "survey"), sorted(interaction_ids))
    return {row.interaction_id: InvitationView(**row._mapping) for row in rows}


def survey_ids(session: Session, keys: set[str]) -> dict[str, int]:
    """Survey key → id, cached for the transaction (a batch names two or three surveys)."""
    cache: dict[str, int] = session.info.setdefault("survey_ids_by_key", {})
    versions: dict[int, int] = session.info.setdefault("survey_versions_by_id", {})
    missing = sorted(keys - cache.keys())
    if missing:
        for row in session.execute(sa.select(SURVEY.c.key, SURVEY.c.id, SURVEY.c.version)
                                   .where(SURVEY.c.key.in_(missing))):
            cache[row.key] = row.id
            versions[row.id] = row.version
    for key in sorted(keys):
        if key not in cache:
            raise ValidationFailed(f"unknown survey {key!r}", field="survey")
    return cache


def closed_channels(session: Session, customers: list[CustomerRow],
                    key: str | None) -> dict[int, tuple[set[str], bool]]:
    """Per customer id: the channels their opt-outs close, and whether an address of theirs
    belongs to an erased customer (a hashed suppression entry). One look-up for the batch."""
    addresses = {c.id: {optouts.canonical(a) for a in (c.phone, c.email) if a} for c in customers}
    everyone = set().union(*addresses.values())
    # Each address hashed once here (an HMAC is most of this look-up's cost), and the digests
    # looked up as addresses beside the plain ones: the same rows `key` would find.
    digest = {a: optouts.suppression_digest(key, a) for a in everyone} if key else {}
    found = optouts.channels_by_address(session, [*everyone, *digest.values()])
    out: dict[int, tuple[set[str], bool]] = {}
    for cid, plain in addresses.items():
        hashed = {digest[a] for a in plain} if key else set()
        channels = set().union(*(found.get(a, set()) for a in plain | hashed))
        closed = {"sms", "email"} if "all" in channels else channels & {"sms", "email"}
        out[cid] = (closed, any(h in found for h in hashed))  # type: ignore[index]
    return out


def ingest_batch(session: Session, items: list[InteractionIn], *, now: datetime,
                 settings: Settings) -> list[BatchResult]:
    """Ingest `items` (external ids unique within the batch) in one go; results in order."""
    from feedback.configuration.service import resolve_rules
    from feedback.ingest.service import choose_channel  # the single-item rules

    if len({item.external_id for item in items}) != len(items):
        raise ValueError("a batch must not name one external_id twice")
    if not items:
        return []
    customers = upsert_customers(session, items, now)
    ids, created = upsert_interactions(session, items, customers, now)
    # Integration webhooks (feedback/integrations): in this transaction, nothing if none listens.
    interactions_created(session, items, ids, created, [c.id for c in customers], now)
    invitations = existing_invitations(
        session, [ids[i.external_id] for i in items if i.external_id not in created])
    notes: dict[str, str] = {}
    plans: list[tuple[int, str, str, RuleDecision]] = []  # (item index, survey key, via, rule)
    # The distribution rules (feedback.configuration), read once for the whole batch.
    decisions = resolve_rules(session, items, settings=settings)
    for n, item in enumerate(items):
        if ids[item.external_id] in invitations:
            continue
        if item.survey_channel == "none":
            notes[item.external_id] = "survey_channel=none: no survey requested"
            continue
        rule = decisions[n]
        if rule.note and not (item.survey or item.survey_channel):
            notes[item.external_id] = rule.note  # the rule sends none, or outside its sample
            continue
        via = item.survey_channel or (rule.via if rule.via != "none" else "auto")
        plans.append((n, item.survey or rule.survey, via, rule))
    surveys = survey_ids(session, {key for _, key, _, _ in plans}) if plans else {}
    plans = [p for p in plans if _recent(items[p[0]], now, p[3].expiry, notes)]
    closed = closed_channels(session, [customers[p[0]] for p in plans], settings.secret_key) if plans else {}
    rows = []
    for n, key, via, rule in plans:
        item, customer = items[n], customers[n]
        shut, erased = closed[customer.id]  # type: ignore[index]
        if shut >= {"sms", "email"} and erased:
            # An erased customer's address, seen again: their erasure said "never again".
            notes[item.external_id] = "this address belongs to an erased customer: no survey scheduled"
            continue
        send_at = max(now, item.occurred_at + rule.delay)
        rows.append({
            "token": new_token(), "purpose": "survey", "customer_id": customer.id,
            "interaction_id": ids[item.external_id], "survey_id": surveys[key],
            # The wording it is sent with (the survey editor's current version), kept for good.
            "survey_version": session.info["survey_versions_by_id"].get(surveys[key]) or None,
            "channel": choose_channel(customer, via, shut),  # type: ignore[arg-type]
            "locale": i18n.resolve(customer.locale or settings.default_locale),
            "status": InvitationStatus.SCHEDULED.value, "status_reason": None,
            "send_at": send_at, "expires_at": send_at + rule.expiry, "attempts": 0,
            "reminder": rule.reminder,
            "created_at": now, "updated_at": now})
    invitations.update(_insert_invitations(session, rows))
    expire_touched(session, {c.id for c in customers if c.id is not None}, set(ids.values()))
    return [BatchResult(item.external_id, ids[item.external_id], item.external_id in created,
                        invitations.get(ids[item.external_id]), notes.get(item.external_id))
            for item in items]


def _recent(item: InteractionIn, now: datetime, expiry: timedelta, notes: dict[str, str]) -> bool:
    if item.occurred_at + expiry <= now:
        # History import: asking about a contact this old would only confuse the customer.
        notes[item.external_id] = "interaction is older than the survey expiry; no survey scheduled"
        return False
    return True


def _insert_invitations(session: Session, rows: list[dict[str, Any]]) -> dict[int, InvitationView]:
    """One multi-row insert; an invitation another transaction scheduled first is read back."""
    if not rows:
        return {}
    rows.sort(key=lambda r: r["interaction_id"])
    v = INVITATION.c
    # Only the ids come back: the rest of the view is what was sent (no timestamps to parse).
    ids = {row.interaction_id: row.id for row in insert_rows(
        session, INVITATION, _without_nulls(rows), conflict=["interaction_id", "purpose"],
        returning=(v.id, v.interaction_id))}
    made = {r["interaction_id"]: InvitationView(
        id=ids[r["interaction_id"]], interaction_id=r["interaction_id"], token=r["token"],
        channel=r["channel"], status=r["status"], send_at=r["send_at"].astimezone(UTC),
        expires_at=r["expires_at"].astimezone(UTC), status_reason=r.get("status_reason"))
        for r in rows if r["interaction_id"] in ids}
    lost = [r["interaction_id"] for r in rows if r["interaction_id"] not in made]
    made.update(existing_invitations(session, lost))
    return made


def expire_touched(session: Session, customer_ids: set[int], interaction_ids: set[int]) -> None:
    """Objects the session already holds for rows written here by SQL are stale: expire them,
    so a caller that loaded them before (a test, the demo seeder) reads the new values."""
    for obj in list(session.identity_map.values()):
        if (isinstance(obj, Customer) and obj.id in customer_ids) or (
                isinstance(obj, Interaction) and obj.id in interaction_ids):
            session.expire(obj)
