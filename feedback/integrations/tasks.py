"""Jobs of integrations. Event deliveries need none of their own: they are outbox rows, sent by
`notifications.deliver` (feedback/recovery/tasks.py) with every other notification."""

from __future__ import annotations

from feedback.worker import Job

JOBS: list[Job] = []
