"""The bare reference for benchmarks/write_paths.py: only the essential database work of an
ingest, with SQLAlchemy Core on the product's own schema and one transaction per batch —
upsert the batch's customers (`INSERT … ON CONFLICT … DO UPDATE … RETURNING`), insert its
interactions (`ON CONFLICT DO NOTHING RETURNING`), one invitation per new interaction.
No validation, no rules, no opt-outs: the limit the product's ingest is measured against.

`app()` is the HTTP form (`uvicorn --factory benchmarks._bare_ingest:app`); `import_csv` the
command-line form, streaming the file in batches like `feedback import interactions`.
"""

from __future__ import annotations

import csv
import os
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from litestar import Litestar, post
from sqlalchemy.engine import Engine

from feedback.db import make_engine, new_session
from surveys.models import Customer, Interaction, Invitation
from surveys.sql import dialect_insert

C, IA, INV = (m.__table__ for m in (Customer, Interaction, Invitation))  # type: ignore[attr-defined]


def write_batch(engine: Engine, rows: list[dict[str, Any]], survey_id: int) -> int:
    now = datetime.now(UTC)
    with new_session(engine) as s, s.begin():
        customers = {r["customer"]["external_id"]: r["customer"] for r in rows}
        ins = dialect_insert(s, C)
        got = s.execute(ins.on_conflict_do_update(
            index_elements=["external_id"],
            set_={"name": ins.excluded.name, "updated_at": ins.excluded.updated_at},
        ).returning(C.c.id, C.c.external_id), [
            {"external_id": k, "name": c.get("name"), "email": c.get("email"), "phone": c.get("phone"),
             "locale": "en", "created_at": now, "updated_at": now}
            for k, c in sorted(customers.items())]).all()
        cid = {r.external_id: r.id for r in got}
        made = s.execute(dialect_insert(s, IA).on_conflict_do_nothing(index_elements=["external_id"])
                         .returning(IA.c.id, IA.c.external_id), [
            {"external_id": r["external_id"], "customer_id": cid[r["customer"]["external_id"]],
             "channel": r["channel"], "occurred_at": datetime.fromisoformat(r["occurred_at"]),
             "agent": r.get("agent"), "team": r.get("team"), "metadata": {},
             "created_at": now, "updated_at": now} for r in rows]).all()
        by_key = {r["external_id"]: r for r in rows}
        if made:
            send_at = now + timedelta(minutes=30)
            s.execute(INV.insert(), [
                {"token": secrets.token_urlsafe(24), "purpose": "survey",
                 "customer_id": cid[by_key[m.external_id]["customer"]["external_id"]],
                 "interaction_id": m.id, "survey_id": survey_id, "channel": "sms", "locale": "en",
                 "status": "scheduled", "send_at": send_at, "expires_at": send_at + timedelta(days=7),
                 "attempts": 0, "created_at": now, "updated_at": now} for m in made])
    return len(made)


def survey_id(engine: Engine) -> int:
    import sqlalchemy as sa

    from surveys.models import SurveyDefinition

    with engine.connect() as c:
        return int(c.execute(sa.select(SurveyDefinition.__table__.c.id)  # type: ignore[attr-defined]
                             .where(SurveyDefinition.__table__.c.key == "nps")).scalar_one())  # type: ignore[attr-defined]


def import_csv(engine: Engine, path: Path, batch: int = 500) -> int:
    """The CSV import's floor: read the file as it goes, write each batch with Core."""
    sid, done, rows = survey_id(engine), 0, []
    with path.open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            rows.append({"external_id": r["external_id"], "channel": r["channel"],
                         "occurred_at": r["occurred_at"], "agent": r.get("agent"),
                         "team": r.get("team"), "customer": {
                             "external_id": r["customer_external_id"],
                             "name": r.get("customer_name"), "email": r.get("customer_email"),
                             "phone": r.get("customer_phone")}})
            if len(rows) == batch:
                done += write_batch(engine, rows, sid)
                rows = []
    if rows:
        done += write_batch(engine, rows, sid)
    return done


def app() -> Litestar:
    """Ingest and, from benchmarks/_bare_submit.py and _bare_sms.py, the answer and the SMS
    score reply: one bare server per run."""
    from benchmarks import _bare_sms, _bare_submit

    engine = make_engine(os.environ["FEEDBACK_DATABASE_URL"])
    sid = survey_id(engine)

    @post("/api/interactions", sync_to_thread=True, status_code=201)
    def ingest(data: dict[str, Any]) -> dict[str, int]:
        return {"created": write_batch(engine, data["interactions"], sid)}

    return Litestar([ingest, *_bare_submit.handlers(engine), *_bare_sms.handlers(engine)])
