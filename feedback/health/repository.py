"""Queries over pipeline alerts."""

from __future__ import annotations

from sqlmodel import Session, select

from feedback.health.models import PipelineAlert


def open_alerts(session: Session) -> list[PipelineAlert]:
    return list(session.exec(select(PipelineAlert).where(PipelineAlert.open_key.is_not(None))  # type: ignore[union-attr]
                             .order_by(PipelineAlert.opened_at)).all())  # type: ignore[arg-type]


def latest(session: Session, limit: int = 100) -> list[PipelineAlert]:
    return list(session.exec(select(PipelineAlert).order_by(
        PipelineAlert.opened_at.desc()).limit(limit)).all())  # type: ignore[attr-defined]
