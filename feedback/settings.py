"""Configuration, read from the environment (prefix FEEDBACK_) or passed to `create_app`.

Nothing here runs at import time: `Settings()` is built by the CLI or by the test that needs it.
"""

from __future__ import annotations

import secrets
from datetime import time
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from surveys.scoring import Thresholds


class SurveyRule(BaseModel):
    """Which survey an interaction gets, and over which channel.

    The first rule whose `when` matches (every key equal to the interaction's field) wins.
    """

    when: dict[str, str] = Field(default_factory=dict)
    survey: str = "nps"
    via: Literal["auto", "sms", "email", "link"] = "auto"


def _default_db_url() -> str:
    return f"sqlite:///{Path('var/feedback.sqlite3').absolute()}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FEEDBACK_", env_file=None, extra="ignore")

    database_url: str = Field(
        default_factory=_default_db_url,
        validation_alias=AliasChoices("FEEDBACK_DATABASE_URL", "DATABASE_URL", "database_url"),
    )
    public_url: str = "http://localhost:8000"
    company_name: str = "Acme"
    secret_key: str = Field(default_factory=lambda: secrets.token_urlsafe(32))
    auto_migrate: bool = True
    debug: bool = False
    demo: bool = False

    # Survey scheduling
    survey_rules: list[SurveyRule] = Field(default_factory=lambda: [SurveyRule()])
    default_locale: str = "en"
    default_time_zone: str = "UTC"
    default_phone_region: str | None = None  # e.g. "GB" lets "07700 900123" be read as +44…
    dispatch_delay_minutes: int = 30
    invitation_expiry_days: int = 7
    reminder_after_hours: int = 24
    quiet_hours_start: time = time(21, 0)
    quiet_hours_end: time = time(8, 0)
    fatigue_days: int = 30
    answer_edit_window_minutes: int = 30

    # Classification thresholds
    nps_promoter_min: int = 9
    nps_detractor_max: int = 6
    csat_satisfied_min: int = 4
    csat_dissatisfied_max: int = 2
    ces_easy_min: int = 5
    ces_difficult_max: int = 3

    # Bootstrap credentials: an API key accepted with the admin role (hash it in production).
    admin_api_key: str | None = None

    # Channels (outreach). Unset → the development outbox records the message instead.
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from_number: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_base_url: str | None = None  # tests/staging: a local server speaking Twilio's API
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "Customer feedback <feedback@localhost>"
    smtp_timeout: float = 15.0

    # Worker
    worker_poll_seconds: float = 10.0
    worker_batch_size: int = 50
    lease_seconds: int = 120

    @field_validator("database_url")
    @classmethod
    def _normalise_db_url(cls, v: str) -> str:
        # psycopg 3 is the driver we ship; accept the plain URL people copy from their host.
        for prefix in ("postgres://", "postgresql://"):
            if v.startswith(prefix):
                return "postgresql+psycopg://" + v[len(prefix) :]
        return v

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, v: str) -> str:
        return v.rstrip("/")

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(
            nps_promoter_min=self.nps_promoter_min,
            nps_detractor_max=self.nps_detractor_max,
            csat_satisfied_min=self.csat_satisfied_min,
            csat_dissatisfied_max=self.csat_dissatisfied_max,
            ces_easy_min=self.ces_easy_min,
            ces_difficult_max=self.ces_difficult_max,
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def redacted(self) -> dict[str, Any]:
        data = self.model_dump()
        for key in ("secret_key", "twilio_auth_token", "smtp_password", "admin_api_key"):
            if data.get(key):
                data[key] = "***"
        return data
