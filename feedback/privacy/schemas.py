"""API shapes of the privacy domain: the search query, the erase request, a customer's summary."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from surveys.errors import ValidationFailed
from surveys.models import Customer


class EraseIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=1, max_length=500)


def parse_erase(data: Any) -> EraseIn:
    if not isinstance(data, dict):
        raise ValidationFailed("send a JSON object with a `reason`", field="reason")
    try:
        return EraseIn.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "body"
        raise ValidationFailed(f"{where}: {err['msg']}", field=where) from None


def customer_json(c: Customer, erased: bool = False) -> dict[str, Any]:
    return {"id": c.id, "external_id": c.external_id, "name": c.name, "email": c.email,
            "phone": c.phone, "locale": c.locale, "tier": c.tier, "erased": erased,
            "created_at": c.created_at.isoformat(), "last_surveyed_at":
            c.last_surveyed_at.isoformat() if c.last_surveyed_at else None}
