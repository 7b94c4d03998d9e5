"""Inputs of the recovery API and forms (validated into 422s naming the field) and the JSON
shape of a task."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from feedback.edge import DbId
from feedback.recovery.models import ContactChannel, ContactResult, Outcome, Priority
from surveys.errors import ValidationFailed

M = TypeVar("M", bound=BaseModel)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ContactIn(_In):
    channel: ContactChannel
    result: ContactResult | None = None
    note: str | None = Field(default=None, max_length=4000)
    # For sms/email: the text to send the customer through the outreach channels.
    message: str | None = Field(default=None, max_length=1600)
    subject: str | None = Field(default=None, max_length=200)


class ResolveIn(_In):
    outcome: Outcome
    root_cause: str | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None, max_length=4000)
    followup: bool = True  # send the follow-up survey (when enabled and allowed)


class AssignIn(_In):
    user_id: DbId
    note: str | None = Field(default=None, max_length=1000)


class ReleaseIn(_In):
    note: str | None = Field(default=None, max_length=1000)


class CloseIn(_In):
    reason: str = Field(min_length=1, max_length=1000)


class PriorityIn(_In):
    priority: Priority
    reason: str | None = Field(default=None, max_length=1000)


def parse(model: type[M], data: Any) -> M:
    """Validate a JSON body or a form; empty form fields count as not given."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValidationFailed("body must be a JSON object", field="body")
    data = {k: v for k, v in data.items() if k != "_csrf_token" and v != ""}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]) or "body"
            errors.append({"field": name, "message": err["msg"].removeprefix("Value error, ")})
        first = errors[0]
        raise ValidationFailed(f"{first['field']}: {first['message']}", field=first["field"],
                               extra={"errors": errors}) from exc


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


TASK_FIELDS = ("id", "customer_id", "response_id", "interaction_id", "kind", "score",
               "classification", "team", "agent", "status", "priority", "triggers", "owner_id",
               "outcome", "root_cause", "resolution_note", "followup_invitation_id",
               "followup_score", "followup_classification")
TIME_FIELDS = ("opened_at", "assigned_at", "first_contact_due_at", "resolution_due_at",
               "next_due_at", "first_contact_at", "reached_at", "first_contact_warned_at",
               "resolution_warned_at", "first_contact_breached_at", "resolution_breached_at",
               "resolved_at", "updated_at")


def task_json(task: Any, now: datetime, **extra: Any) -> dict[str, Any]:
    """A task (model or row mapping) as the API shows it, with its remaining time."""
    get = task.get if isinstance(task, dict) else lambda k, d=None: getattr(task, k, d)
    out: dict[str, Any] = {k: get(k) for k in TASK_FIELDS}
    out.update({k: _iso(get(k)) for k in TIME_FIELDS})
    due = get("next_due_at")
    out["overdue"] = bool(due and due < now)
    out["seconds_left"] = int((due - now).total_seconds()) if due else None
    for key in ("customer_name", "customer_tier", "owner_name", "comment"):
        if key in (task if isinstance(task, dict) else {}):
            out[key] = task[key]
    out.update(extra)
    return out
