"""The JSON shape of a pipeline alert (API, webhook payload)."""

from __future__ import annotations

from typing import Any

from feedback.health.models import PipelineAlert


def alert_json(alert: PipelineAlert) -> dict[str, Any]:
    return {"id": alert.id, "key": alert.key, "kind": alert.kind, "summary": alert.summary,
            "detail": alert.detail, "open": alert.open_key is not None,
            "opened_at": alert.opened_at.isoformat(), "last_seen_at": alert.last_seen_at.isoformat(),
            "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
            "resolved_by": alert.resolved_by}
