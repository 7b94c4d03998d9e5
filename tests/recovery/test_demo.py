"""`feedback serve --demo` shows a working recovery team: open, overdue and resolved tasks,
and closed-loop metrics with figures in them."""

from __future__ import annotations

from sqlmodel import Session, select

from feedback.app import prepare_database
from feedback.db import make_engine
from feedback.demo import ensure_demo_data
from feedback.recovery.metrics import loop_metrics, parse_period
from feedback.recovery.models import RecoveryTask
from feedback.settings import Settings
from surveys.types import utcnow


def test_demo_has_open_overdue_and_resolved_tasks(tmp_path):  # type: ignore[no-untyped-def]
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'demo.sqlite3'}", demo=True)
    engine = make_engine(settings.database_url)
    prepare_database(settings, engine)
    assert "recovery tasks worked" in (ensure_demo_data(engine, settings, interactions=500) or "")
    now = utcnow()
    with Session(engine) as s:
        tasks = s.exec(select(RecoveryTask)).all()
        status = {t.status for t in tasks}
        overdue = [t for t in tasks if t.next_due_at is not None and t.next_due_at < now]
        metrics = loop_metrics(s, parse_period(now, None, None), settings=settings, now=now)
    engine.dispose()
    assert {"resolved", "assigned"} <= status and overdue
    o = metrics["overall"]
    assert o["customers_reached"] > 0 and o["first_contact_hours"]["median"] is not None
    assert o["recovery_rate_pct"] is not None and o["followup"]["answered"] > 0
