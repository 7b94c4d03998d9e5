"""The shared opt-out record: idempotent, canonical addresses, `all` closes every channel."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from outreach import optouts

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


def test_record_is_idempotent_and_canonical(session):
    first = optouts.record(session, "email", "Ana@Example.com", source="unsubscribe", now=NOW)
    again = optouts.record(session, "email", "ana@example.com ", source="admin", now=NOW)
    session.commit()
    assert first.id == again.id and first.source == "unsubscribe"
    assert optouts.is_opted_out(session, "email", "ANA@example.com")
    assert not optouts.is_opted_out(session, "sms", "ana@example.com")


def test_all_closes_every_channel_and_start_reopens_sms(session):
    optouts.record(session, "all", "+14155550100", source="sms-stop", now=NOW)
    session.commit()
    assert optouts.opted_out_channels(session, ["+14155550100", None]) == {"sms", "email"}
    assert optouts.remove(session, "sms", "+14155550100") == 1
    session.commit()
    assert not optouts.is_opted_out(session, "sms", "+14155550100")


def test_no_address_is_not_an_opt_out(session):
    assert not optouts.is_opted_out(session, "sms", None)
    assert optouts.opted_out_channels(session, [None, ""]) == set()


def test_unknown_channel_is_refused(session):
    with pytest.raises(ValueError, match="channel must be one of"):
        optouts.record(session, "fax", "+14155550100", source="admin", now=NOW)
