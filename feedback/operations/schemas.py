"""Query parameters of the operations report (API, page and CSV read the same ones).

The period and dimension filters are the dashboard's (`feedback.reports.params`); operations
adds `by` (team, agent, queue, channel, contact_reason), `grain` and `window_days` (the repeat
window of inferred FCR). A bad value answers 400 naming the parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from feedback.operations import service
from feedback.reports import params
from feedback.reports.figures import Filters


@dataclass(frozen=True)
class OperationsQuery:
    filters: Filters
    grain: str
    by: str
    window: timedelta

    def query(self, **extra: Any) -> dict[str, str]:
        """Query-string parameters that reproduce this view (links, CSV URLs)."""
        return self.filters.query(grain=self.grain, by=self.by,
                                  window_days=self.window.days, **extra)


def operations_query(db: Session, settings: Any, now: datetime,
                     p: Mapping[str, str]) -> OperationsQuery:
    q = params.report_query(db, settings, now, p)
    return OperationsQuery(
        q.filters, params.grain(p, q),
        params.bad_request(service.breakdown_of, p.get("by")),
        params.bad_request(service.repeat_window, p.get("window_days")))
