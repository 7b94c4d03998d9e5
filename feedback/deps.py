"""Request-scoped dependencies — the transaction, the clock, the settings — and the rule that
every handler's transaction ends in the handler's own thread.

`db` is a fresh, unconnected session (creating one does no I/O, so it is provided without a
thread). `one_transaction` wraps every route handler that takes `db`: the handler runs, then the
session commits (or rolls back on error) and closes, all in the thread that ran the handler.
`create_app` applies it to every handler, so no handler can forget it and no commit is ever left
to a dependency teardown that needs another pool thread (see `feedback.db`).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeAlias

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlmodel import Session

from feedback.db import finish, new_session
from feedback.settings import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def provide_db(request: Request[Any, Any, Any]) -> Session:
    """A session for this request; GET/HEAD ones only read (no write lock on SQLite)."""
    return new_session(request.app.state.engine, write=request.method not in SAFE_METHODS)


def one_transaction(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a sync handler and end its `db` session's transaction in the same thread."""
    if inspect.iscoroutinefunction(fn):  # an async handler must not do blocking database work
        raise TypeError(f"{fn.__qualname__} takes `db` but is async; make it a sync handler")

    @functools.wraps(fn)
    def handler(*args: Any, **kwargs: Any) -> Any:
        with finish(kwargs["db"]):
            return fn(*args, **kwargs)

    handler.__one_transaction__ = True  # type: ignore[attr-defined]
    return handler


def bind_transactions(route_handler: Any) -> Any:
    """Apply `one_transaction` to a route handler whose function takes `db`."""
    fn = getattr(route_handler, "fn", None)
    if fn is None or getattr(fn, "__one_transaction__", False):
        return route_handler
    if "db" in inspect.signature(fn).parameters:
        route_handler(one_transaction(fn))  # a handler's documented way to (re)set its function
    return route_handler


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
