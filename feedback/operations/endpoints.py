"""Operations report API: `/api/reports/operations` (JSON) and one CSV per table of it,
with the dashboard's filters (`from`, `to`, `kind`, `team`, `channel`, `agent`, `queue`) plus
`by`, `grain` and `window_days`."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Stream

from feedback.auth.permissions import allow, team_params
from feedback.deps import Conf, Db, Now
from feedback.operations import service
from feedback.operations.schemas import operations_query
from feedback.reports.csvstream import iter_csv
from feedback.reports.endpoints import csv_stream
from surveys.errors import ValidationFailed

# Aggregates only (like the dashboard's chart CSVs): `report.read`; a team lead's figures are
# pinned to their team by `team_params`.
API = {"sync_to_thread": True, "guards": [allow("report.read")], "tags": ["reports"]}


@get("/api/reports/operations", **API,
     summary="FCR, AHT, ASA, abandonment, transfers; their effect on satisfaction; agents")
def operations(request: Request[Any, Any, Any], db: Db, now: Now, settings: Conf) -> dict[str, Any]:
    q = operations_query(db, settings, now, team_params(request))
    return service.report(db, q.filters, now, grain=q.grain, by=q.by, window=q.window)


@get("/api/reports/operations/csv/{table:str}", **API,
     summary="One table of the operations report as CSV")
def operations_csv(table: str, request: Request[Any, Any, Any], db: Db, now: Now,
                   settings: Conf) -> Stream:
    if table not in service.TABLES:
        raise ValidationFailed(f"table must be one of {', '.join(service.TABLES)}",
                               field="table", status_code=400)
    q = operations_query(db, settings, now, team_params(request))
    data = service.report(db, q.filters, now, grain=q.grain, by=q.by, window=q.window)
    header, rows = service.table(data, table)
    return csv_stream(iter_csv(header, rows, bom=True), f"operations-{table}")


routes = [operations, operations_csv]
