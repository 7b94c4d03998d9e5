"""An installation of an earlier release upgrades with its data: a database created at revision
0008 (before operations, privacy, accounts, pipeline health, configuration and the heatmap by
interaction time) with representative rows, upgraded to head on both engines, keeps every row,
gives new columns sane values, and the reports rebuild from it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import command
from sqlmodel import Session

from feedback.auth.models import ApiKey, User
from feedback.db import alembic_config, current_revisions, head_revisions, migrate
from feedback.recovery.models import RecoveryTask
from feedback.reports import rollups, service
from feedback.reports.models import ReportHourly, ReportRollupState
from surveys.models import Customer, Interaction, Invitation, Response
from tests.test_migrations import _fresh_engine

OCCURRED = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # a Tuesday
ANSWERED = OCCURRED + timedelta(hours=5)
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


def _seed_0008(engine: sa.Engine) -> None:
    md = sa.MetaData()
    md.reflect(engine)
    t = md.tables

    def ts(value: datetime) -> datetime:  # what the 0008 code wrote: naive UTC text on SQLite
        return value.replace(tzinfo=None) if engine.dialect.name == "sqlite" else value

    with engine.begin() as c:
        c.execute(t["customer"].insert(), [{
            "id": 1, "external_id": "C-1", "name": "لیلا احمدی", "email": "leyla@example.com",
            "phone": "+14155550100", "locale": "fa", "time_zone": "Asia/Tehran",
            "created_at": ts(OCCURRED), "updated_at": ts(OCCURRED)}])
        c.execute(t["interaction"].insert(), [{
            "id": 1, "external_id": "T-1", "customer_id": 1, "channel": "phone",
            "occurred_at": ts(OCCURRED), "agent": "Ana", "team": "Billing", "queue": "billing-l1",
            "created_at": ts(OCCURRED), "updated_at": ts(OCCURRED)}])
        c.execute(t["survey_definition"].insert(), [{
            "id": 1, "key": "nps", "kind": "nps", "scale_min": 0, "scale_max": 10, "active": True,
            "created_at": ts(OCCURRED)}])
        c.execute(t["invitation"].insert(), [{
            "id": 1, "token": "tok-0008", "purpose": "survey", "customer_id": 1, "survey_id": 1,
            "interaction_id": 1, "channel": "sms", "locale": "fa", "status": "answered",
            "send_at": ts(OCCURRED + timedelta(minutes=30)),
            "sent_at": ts(OCCURRED + timedelta(minutes=30)),
            "expires_at": ts(OCCURRED + timedelta(days=7)), "answered_at": ts(ANSWERED),
            "attempts": 1, "created_at": ts(OCCURRED), "updated_at": ts(ANSWERED)}])
        c.execute(t["response"].insert(), [{
            "id": 1, "invitation_id": 1, "customer_id": 1, "interaction_id": 1, "survey_id": 1,
            "kind": "nps", "score": 2, "classification": "detractor",
            "comment": "«دو بار پول کم شد»!", "source": "sms", "locale": "fa",
            "team": "Billing", "agent": "Ana", "channel": "phone", "queue": "billing-l1",
            "purpose": "survey", "submitted_at": ts(ANSWERED)}])
        due = ANSWERED + timedelta(hours=24)
        c.execute(t["recovery_task"].insert(), [{
            "id": 1, "customer_id": 1, "open_customer_id": 1, "response_id": 1, "kind": "nps",
            "score": 2, "classification": "detractor", "status": "new", "priority": "high",
            "team": "Billing", "opened_at": ts(ANSWERED), "first_contact_due_at": ts(due),
            "resolution_due_at": ts(due + timedelta(hours=24)),
            "first_contact_warn_at": ts(due - timedelta(hours=4)),
            "resolution_warn_at": ts(due + timedelta(hours=20)), "next_due_at": ts(due),
            "created_at": ts(ANSWERED), "updated_at": ts(ANSWERED)}])
        c.execute(t["staff_user"].insert(), [{
            "id": 1, "email": "lead@example.com", "name": "Lena", "role": "lead",
            "active": True, "available": True, "created_at": ts(OCCURRED)}])
        c.execute(t["api_key"].insert(), [{
            "id": 1, "name": "crm", "prefix": "fbk_abc", "key_hash": "0" * 64,
            "role": "ingest", "created_at": ts(OCCURRED)}])
        # Rollups of the old release: the heatmap counted the answer's hour (14:00).
        c.execute(t["report_rollup_state"].insert(), [{
            "id": 1, "time_zone": "UTC", "rolled_through": OCCURRED.date() + timedelta(days=1),
            "response_id": 1, "invitation_id": 1, "safe_response_id": 1,
            "safe_invitation_id": 1, "pending_response_id": 1, "pending_invitation_id": 1,
            "updated_at": ts(ANSWERED)}])
        c.execute(t["report_hourly"].insert(), [{
            "id": 1, "day": OCCURRED.date(), "weekday": 2, "hour": 14, "kind": "nps",
            "team": "Billing", "channel": "phone", "n": 1, "negative": 1}])


def test_an_0008_database_upgrades_to_head_with_its_data(db_url, tmp_path, settings):  # type: ignore[no-untyped-def]
    engine = _fresh_engine(db_url, tmp_path)
    command.upgrade(alembic_config(engine), "0008")
    assert current_revisions(engine) == {"0008"}
    _seed_0008(engine)

    migrate(engine)
    assert current_revisions(engine) == head_revisions()
    with Session(engine) as s:
        customer = s.get(Customer, 1)
        assert customer is not None and customer.name == "لیلا احمدی" and customer.locale == "fa"
        interaction = s.get(Interaction, 1)
        assert interaction is not None and interaction.occurred_at == OCCURRED
        # Operations fields (0009) are unknown for old interactions, not zero.
        assert interaction.offered_at is None and interaction.talk_seconds is None
        invitation = s.get(Invitation, 1)
        assert invitation is not None and invitation.status == "answered"
        assert invitation.reminder is True  # 0013: reminders stay on for existing invitations
        response = s.get(Response, 1)
        assert response is not None and response.score == 2
        assert response.comment == "«دو بار پول کم شد»!" and response.submitted_at == ANSWERED
        assert response.resolved is None  # 0009: the customer was never asked
        task = s.get(RecoveryTask, 1)
        assert task is not None and task.status == "new" and task.next_due_at is not None
        user = s.get(User, 1)
        assert user is not None and user.password_hash is None and user.active
        key = s.get(ApiKey, 1)
        assert key is not None and key.expires_at is None  # 0011: old keys do not expire
        # 0015: the old hourly rollup (answer time) is dropped and rebuilt on the next run.
        assert s.exec(sa.select(sa.func.count()).select_from(ReportHourly)).one()[0] == 0
        state = s.get(ReportRollupState, 1)
        assert state is not None and state.time_zone == "" and state.rolled_through is None

    utc = settings.model_copy(update={"report_time_zone": "UTC", "database_url": db_url})
    rollups.catch_up(engine, utc, NOW)
    with Session(engine) as s:
        q = service.build_query(s, utc, NOW, frm="2026-03-01", to="2026-03-19")
        assert q.view.responses_until is not None  # the rebuilt rollups are read
        heat = service.heatmap(s, q)
        assert heat["n"][1][9] == 1 and heat["n"][1][14] == 0  # the interaction's hour now
    engine.dispose()
