"""Query-string parameters of the report pages, the report API and the exports.

The pages and the API read the same parameters through `report_query`, so a dashboard URL and
the API URL built from it (`Filters.query()`) always ask for the same figures. A bad value is
the caller's mistake, so it answers 400 naming the parameter (not 422: nothing was submitted).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from sqlmodel import Session

from feedback.reports import service
from feedback.reports.figures import DIMENSIONS
from surveys.errors import ValidationFailed

FILTER_PARAMS = ("from", "to", "kind", *DIMENSIONS)
MAX_VALUE = 200  # the dimension columns are VARCHAR(200)
T = TypeVar("T")


def bad_request(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call `fn`, turning its ValidationFailed (422) into the same error with status 400."""
    try:
        return fn(*args, **kwargs)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, field=exc.field, status_code=400,
                               code="invalid_filter") from exc


def _clean(params: Mapping[str, str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in FILTER_PARAMS:
        value = params.get(name)
        if value is not None and len(value) > MAX_VALUE:
            raise ValidationFailed(f"{name} is longer than {MAX_VALUE} characters", field=name,
                                   status_code=400, code="invalid_filter")
        out[name] = value or None
    return out


def report_query(db: Session, settings: Any, now: datetime,
                 params: Mapping[str, str]) -> service.Query:
    p = _clean(params)
    return bad_request(service.build_query, db, settings, now, frm=p["from"], to=p["to"],
                       kind=p["kind"], team=p["team"], channel=p["channel"], agent=p["agent"],
                       queue=p["queue"])


def grain(params: Mapping[str, str], q: service.Query) -> str:
    return bad_request(service.grain_of, params.get("grain"), q.filters)


def breakdown(params: Mapping[str, str]) -> str:
    return bad_request(service.breakdown_of, params.get("by"))


def page_number(params: Mapping[str, str]) -> int:
    raw = params.get("page") or "1"
    if not raw.isdigit() or int(raw) < 1 or int(raw) > 10_000:
        raise ValidationFailed("page must be a whole number from 1", field="page",
                               status_code=400, code="invalid_filter")
    return int(raw)


SCORE_CLASSES = ("unhappy", "neutral", "happy")


def score_class(params: Mapping[str, str]) -> str | None:
    """The drill-down's score filter: unhappy (NPS detractors, CSAT dissatisfied, CES
    difficult), happy (promoters, satisfied, easy) or neutral (the rest); empty for all."""
    value = bad_request(service.parse_choice, params.get("score"), SCORE_CLASSES, "score", "")
    return value or None
