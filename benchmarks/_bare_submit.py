"""The bare reference for benchmarks/submit_bench.py: a plain Litestar app that does only the
essential database work of an answer — find the invitation by token, insert the response
(ON CONFLICT DO NOTHING), mark the invitation answered, commit — with SQLAlchemy Core on the
product's own schema. Run by the benchmark as `uvicorn --factory benchmarks._bare_submit:app`.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from litestar import Litestar, Response, post
from litestar.enums import RequestEncodingType
from litestar.params import Body

from feedback.db import make_engine, new_session
from surveys.models import Invitation
from surveys.models import Response as ResponseRow
from surveys.sql import dialect_insert

INV, R = Invitation.__table__, ResponseRow.__table__  # type: ignore[attr-defined]


def app() -> Litestar:
    return Litestar(handlers(make_engine(os.environ["FEEDBACK_DATABASE_URL"])))


def handlers(engine: Any) -> list[Any]:
    """The route, for another bare app to serve too (benchmarks/_bare_ingest.py)."""

    @post("/s/{token:str}", sync_to_thread=True, status_code=303)
    def submit(token: str, data: Annotated[dict[str, str], Body(
            media_type=RequestEncodingType.URL_ENCODED)]) -> Response[str]:
        now = datetime.now(UTC)
        with new_session(engine) as s, s.begin():
            inv = s.execute(sa.select(INV).where(INV.c.token == token)).one()
            got = s.execute(dialect_insert(s, R).values(
                invitation_id=inv.id, customer_id=inv.customer_id, survey_id=inv.survey_id,
                kind="nps", score=int(data["score"]), classification="passive", source="web",
                locale="en", purpose="survey", submitted_at=now,
            ).on_conflict_do_nothing(index_elements=["invitation_id"]).returning(R.c.id)).first()
            if got is None:
                return Response("answered", status_code=409)
            s.execute(sa.update(INV).where(INV.c.id == inv.id).values(status="answered",
                                                                  answered_at=now))
        return Response("", status_code=303, headers={"Location": f"/s/{token}"})

    return [submit]
