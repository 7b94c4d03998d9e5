"""Fixtures for privacy tests: the dispatcher from outreach's tests, API keys by role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.outreach.conftest import make_dispatcher  # noqa: F401  (fixture)


@pytest.fixture
def settings(settings: Any) -> Any:
    return settings.model_copy(update={"default_phone_region": "US", "fatigue_days": 0})


@pytest.fixture
def key_for(engine: Any) -> Callable[..., dict[str, str]]:
    from feedback.auth.service import create_api_key
    from feedback.db import transaction

    def make(role: str, team: str | None = None) -> dict[str, str]:
        with transaction(engine) as s:
            _, key = create_api_key(s, f"{role} key {team}", role, team)
        return {"Authorization": f"Bearer {key}"}

    return make
