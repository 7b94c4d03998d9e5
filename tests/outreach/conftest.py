"""Dispatch fixtures: a dispatcher on the test database with the dev outbox as its channels."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from sqlmodel import Session, select

from feedback import i18n
from outreach.channels.base import Channel
from outreach.channels.factory import build_channels
from outreach.devoutbox import DevOutboxStore
from outreach.dispatch import Dispatcher, DispatchPolicy
from outreach.messages import Site
from outreach.models import ContactEvent, DevOutboxMessage


@pytest.fixture
def make_dispatcher(engine: Any, settings: Any, clock: Any) -> Callable[..., Dispatcher]:
    def make(channels: Mapping[str, Channel] | None = None, worker: str = "w1",
             **policy: Any) -> Dispatcher:
        base = DispatchPolicy.from_settings(settings)
        return Dispatcher(
            engine, channels or build_channels(settings, DevOutboxStore(engine, clock)), i18n,
            Site(settings.public_url, settings.company_name, settings.secret_key),
            DispatchPolicy(**{**base.__dict__, **policy}), worker=worker, clock=clock,
            rng=random.Random(7))

    return make


def outbox(engine: Any) -> list[DevOutboxMessage]:
    with Session(engine) as s:
        return list(s.exec(select(DevOutboxMessage).order_by(DevOutboxMessage.id)).all())  # type: ignore[arg-type]


def events(engine: Any, invitation_id: int | None = None) -> list[ContactEvent]:
    with Session(engine) as s:
        stmt = select(ContactEvent).order_by(ContactEvent.id)  # type: ignore[arg-type]
        if invitation_id is not None:
            stmt = stmt.where(ContactEvent.invitation_id == invitation_id)
        return list(s.exec(stmt).all())
