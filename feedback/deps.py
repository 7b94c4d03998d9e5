"""Request-scoped dependencies: the transaction, the clock, the settings."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, TypeAlias

from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlmodel import Session

from feedback.db import transaction
from feedback.settings import Settings


def provide_db(state: State) -> Iterator[Session]:
    """One request = one transaction, committed after the handler returns."""
    with transaction(state.engine) as session:
        yield session


def provide_now(state: State) -> datetime:
    return state.clock()


def provide_settings(state: State) -> Settings:
    return state.settings


def app_state(request: Any) -> State:
    return request.app.state


# Handlers declare what they need with these names (Litestar injects by parameter name):
#   def handler(db: Db, now: Now, settings: Conf) -> ...
Db: TypeAlias = NamedDependency[Session]
Now: TypeAlias = NamedDependency[datetime]
Conf: TypeAlias = NamedDependency[Settings]
