"""Service recovery (filled in by the closed-loop work)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from feedback.settings import Settings
from surveys.models import Response


def on_response(session: Session, response: Response, *, now: datetime, settings: Settings) -> None:
    """Open or join a recovery task when a response calls for one."""
