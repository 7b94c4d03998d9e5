"""API shapes of configuration: distribution rules (and the "test this interaction" probe).

Every check names its field, so the API and the admin page say exactly what is wrong
(`rules[2].sample_percent: must be between 0 and 100`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from feedback.edge import has_control
from surveys.errors import ValidationFailed

MAX_RULES = 200
_Name = Field(default="", max_length=120)


def _texts(values: list[str]) -> list[str]:
    out = []
    for v in values:
        v = v.strip()
        if has_control(v):
            raise ValueError("control characters are not allowed")
        if len(v) > 200:
            raise ValueError(f"{v[:20]!r}…: at most 200 characters")
        if v and v.casefold() not in {o.casefold() for o in out}:
            out.append(v)
    return out


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RuleWhen(_In):
    """What an interaction must have for the rule to fire. Each list matches any of its values
    (case-insensitive); an empty list or an absent key matches everything."""

    channel: list[str] = Field(default_factory=list, max_length=20)
    team: list[str] = Field(default_factory=list, max_length=50)
    queue: list[str] = Field(default_factory=list, max_length=50)
    agent: list[str] = Field(default_factory=list, max_length=50)
    contact_reason: list[str] = Field(default_factory=list, max_length=50)
    customer_tier: list[str] = Field(default_factory=list, max_length=20)
    metadata: dict[str, str] = Field(default_factory=dict, max_length=20)

    @field_validator("channel", "team", "queue", "agent", "contact_reason", "customer_tier",
                     mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        # The old environment-variable rules wrote one value: {"queue": "billing-l1"}.
        return [v] if isinstance(v, str) else v

    @field_validator("channel", "team", "queue", "agent", "contact_reason", "customer_tier")
    @classmethod
    def _clean(cls, v: list[str]) -> list[str]:
        return _texts(v)

    @field_validator("channel")
    @classmethod
    def _channels(cls, v: list[str]) -> list[str]:
        from surveys.models import InteractionChannel

        known = {c.value for c in InteractionChannel}
        for c in v:
            if c.lower() not in known:
                raise ValueError(f"{c!r} is not an interaction channel ({', '.join(sorted(known))})")
        return [c.lower() for c in v]

    @field_validator("metadata")
    @classmethod
    def _meta(cls, v: dict[str, str]) -> dict[str, str]:
        keys = _texts(list(v))
        if len(keys) != len(v):
            raise ValueError("metadata keys must be non-empty and distinct")
        _texts(list(v.values()))
        return {k.strip(): str(val).strip() for k, val in v.items()}


class RuleIn(_In):
    """One distribution rule. Unset delay/expiry use the deployment's defaults. `id` keeps a
    rule's identity across edits (history, "rule 3 fired"); a new rule leaves it out."""

    id: int | None = Field(default=None, ge=1, le=10**9)
    name: str = _Name
    enabled: bool = True
    when: RuleWhen = Field(default_factory=RuleWhen)
    survey: str = Field(default="nps", min_length=1, max_length=80)
    via: Literal["auto", "sms", "email", "link", "none"] = "auto"
    delay_minutes: int | None = Field(default=None, ge=0, le=60 * 24 * 30)
    expiry_days: int | None = Field(default=None, ge=1, le=365)
    reminder: bool = True
    sample_percent: float = Field(default=100.0, ge=0, le=100)

    @field_validator("name", "survey")
    @classmethod
    def _text(cls, v: str) -> str:
        if has_control(v):
            raise ValueError("control characters are not allowed")
        return v


class RuleSetIn(_In):
    """The whole ordered list (PUT /api/rules): the first enabled rule that matches wins."""

    rules: list[RuleIn] = Field(max_length=MAX_RULES)
    base_version: int | None = Field(default=None, ge=0, description=(
        "The version this edit started from; if someone saved since, the change is refused "
        "(409) instead of silently overwriting theirs."))
    note: str = Field(default="", max_length=500)


class RuleProbe(_In):
    """An interaction as the rules see it: the "test this interaction" box."""

    external_id: str = Field(default="probe", max_length=200)
    channel: str = Field(default="phone", max_length=20)
    team: str | None = Field(default=None, max_length=200)
    queue: str | None = Field(default=None, max_length=200)
    agent: str | None = Field(default=None, max_length=200)
    contact_reason: str | None = Field(default=None, max_length=200)
    customer_tier: str | None = Field(default=None, max_length=40)
    metadata: dict[str, str] = Field(default_factory=dict, max_length=50)


def parse(model: type[BaseModel], data: Any, prefix: str = "") -> Any:
    """Validate `data` or raise one 422 naming the first bad field (all of them in `errors`)."""
    if not isinstance(data, dict):
        raise ValidationFailed("send a JSON object", field=prefix or "body")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            # Union members add their class name to the path; it means nothing to a user.
            where = prefix
            for p in err["loc"]:
                if isinstance(p, int):
                    where += f"[{p}]"
                else:
                    where += f".{p}" if where else str(p)
            errors.append({"field": where or "body",
                           "message": err["msg"].removeprefix("Value error, ")})
        first = errors[0]
        raise ValidationFailed(f"{first['field']}: {first['message']}", field=first["field"],
                               extra={"errors": errors}) from None


# --- surveys ---------------------------------------------------------------------------------

Locale = Literal["en", "zh-CN", "fa"]
SMS_SAFE = 120  # leaves room in one 160-character SMS for the link and the scale's ends
_SLUG = r"^[a-z0-9][a-z0-9_-]{0,39}$"


def _clean_texts(v: dict[str, str], limit: int) -> dict[str, str]:
    out = {}
    for loc, text in v.items():
        text = (text or "").strip()
        if has_control(text):
            raise ValueError(f"{loc}: control characters are not allowed")
        if len(text) > limit:
            raise ValueError(f"{loc}: at most {limit} characters (this one has {len(text)})")
        if text:
            out[loc] = text
    return out


class SurveyTexts(_In):
    question: str | None = Field(default=None, max_length=500)
    why: str | None = Field(default=None, max_length=500, description="the 'why?' prompt")
    low_label: str | None = Field(default=None, max_length=80)
    high_label: str | None = Field(default=None, max_length=80)
    sms_question: str | None = Field(default=None, max_length=SMS_SAFE,
                                     description="a shorter question for SMS")

    @field_validator("*")
    @classmethod
    def _text(cls, v: str | None) -> str | None:
        if v is not None and has_control(v):
            raise ValueError("control characters are not allowed")
        return v or None


class ChoiceOption(_In):
    id: str = Field(pattern=_SLUG)
    label: dict[Locale, str] = Field(default_factory=dict)

    @field_validator("label")
    @classmethod
    def _label(cls, v: dict[str, str]) -> dict[str, str]:
        return _clean_texts(v, 120)


class ExtraQuestion(_In):
    id: str = Field(pattern=_SLUG, description="stable across versions: reports group by it")
    type: Literal["yes_no", "choice", "text"]
    text: dict[Locale, str] = Field(default_factory=dict)
    sms_text: dict[Locale, str] = Field(default_factory=dict)
    options: list[ChoiceOption] = Field(default_factory=list, max_length=12)

    @field_validator("text")
    @classmethod
    def _text(cls, v: dict[str, str]) -> dict[str, str]:
        v = _clean_texts(v, 300)
        if not v:
            raise ValueError("write the question in at least one language")
        return v

    @field_validator("sms_text")
    @classmethod
    def _sms(cls, v: dict[str, str]) -> dict[str, str]:
        return _clean_texts(v, SMS_SAFE)

    def model_post_init(self, _: Any) -> None:
        if self.type == "choice" and len(self.options) < 2:
            raise ValueError("a choice question needs at least two options")
        if self.type != "choice" and self.options:
            raise ValueError(f"a {self.type} question has no options")
        if len({o.id for o in self.options}) != len(self.options):
            raise ValueError("option ids must be distinct")


class SurveyIn(_In):
    """A survey's content. POST /api/surveys creates it (version 1); PUT saves a new version."""

    key: str | None = Field(default=None, pattern=_SLUG, description="only when creating")
    name: str | None = Field(default=None, max_length=200)
    kind: Literal["nps", "csat", "ces"] = "nps"
    texts: dict[Locale, SurveyTexts] = Field(default_factory=dict)
    extra: list[ExtraQuestion] = Field(default_factory=list, max_length=5)
    base_version: int | None = Field(default=None, ge=0, description=(
        "the version this edit started from: 409 if someone saved since"))

    @field_validator("extra")
    @classmethod
    def _distinct(cls, v: list[ExtraQuestion]) -> list[ExtraQuestion]:
        if len({q.id for q in v}) != len(v):
            raise ValueError("extra question ids must be distinct")
        return v

    def content(self) -> dict[str, Any]:
        return {"texts": {loc: t.model_dump(exclude_none=True) for loc, t in self.texts.items()
                          if t.model_dump(exclude_none=True)},
                "extra": [q.model_dump(mode="json") for q in self.extra]}
