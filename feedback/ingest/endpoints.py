"""POST /api/interactions — one interaction, a list, or {"interactions": [...]}."""

from __future__ import annotations

from typing import Any

from litestar import Response, post
from litestar.params import JSONBody

from feedback.auth.permissions import allow
from feedback.deps import Conf, Db, Now
from feedback.ingest.batch import ingest_batch
from feedback.ingest.schemas import InteractionBatch, InteractionIn
from feedback.ingest.service import invitation_public, parse_payload


@post(
    "/api/interactions",
    sync_to_thread=True,
    guards=[allow("interaction.write")],
    summary="Record closed interactions and schedule their surveys",
    description=(
        "Idempotent on `external_id`: sending the same interaction again updates it and "
        "schedules nothing new. A batch is all-or-nothing: any invalid item refuses the whole "
        "request with every problem listed (field paths include the item index). Body: an "
        f"`InteractionIn` object, a list of them, or `InteractionBatch`. Schemas: "
        f"{InteractionIn.__name__}, {InteractionBatch.__name__}."
    ),
    tags=["ingest"],
)
def post_interactions(data: JSONBody[Any], db: Db, now: Now, settings: Conf) -> Response[dict[str, Any]]:
    items = parse_payload(data, settings, now)
    results = ingest_batch(db, items, now=now, settings=settings)
    body = {"results": [
        {"external_id": r.external_id, "interaction_id": r.interaction_id, "created": r.created,
         "invitation": invitation_public(r.invitation, settings), "note": r.note}
        for r in results]}
    status = 201 if any(r.created for r in results) else 200
    return Response(body, status_code=status)


routes = [post_interactions]
