"""Quiet hours on the customer's clock even without a stored zone: the customer's zone, else the
phone number's (several → the latest-waking one), else the default."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from outreach.policy import infer_zone
from surveys.models import Invitation
from tests.factories import make_invitation
from tests.outreach.conftest import outbox

WINTER = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)  # 02:30 in San Francisco, 10:30 in London


@pytest.mark.parametrize(("zone", "phone", "expected"), [
    ("Asia/Tehran", "+14155550100", "Asia/Tehran"),  # the customer's own zone wins
    (None, "+14155550100", "America/Los_Angeles"),
    ("Mars/Olympus", "+14155550100", "America/Los_Angeles"),  # unknown zone: the number's
    (None, "+18005550100", "Pacific/Pago_Pago"),  # toll-free, every US zone: latest waking
    (None, None, "Europe/Paris"),
    (None, "not a number", "Europe/Paris"),
])
def test_infer_zone(zone, phone, expected) -> None:  # type: ignore[no-untyped-def]
    assert infer_zone(zone, phone, WINTER, "Europe/Paris") == expected


def test_an_sms_to_a_california_number_waits_for_its_morning(
        session, settings, clock, engine, make_dispatcher) -> None:  # type: ignore[no-untyped-def]
    clock.now = WINTER
    inv = make_invitation(session, settings, clock(), customer={"time_zone": None})
    report = make_dispatcher(default_tz="UTC").run_once()
    assert report["deferred"] == 1 and outbox(engine) == []
    with Session(engine) as s:
        got = s.get(Invitation, inv.id)
        # 08:00 PST is 16:00 UTC
        assert got is not None and got.send_at == datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
