"""Theme tagging of stored responses (filled in by the insights integration)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from feedback.settings import Settings
from surveys.models import Response


def on_response(session: Session, response: Response, *, now: datetime, settings: Settings) -> None:
    """Classify the response's comment into themes when a model is available."""
