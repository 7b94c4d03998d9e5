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

from surveys.redaction import Redactor
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
    # The survey page asks "Was your issue resolved?" (optional yes/no): customer-reported FCR.
    survey_ask_resolved: bool = True

    # Classification thresholds
    nps_promoter_min: int = 9
    nps_detractor_max: int = 6
    csat_satisfied_min: int = 4
    csat_dissatisfied_max: int = 2
    ces_easy_min: int = 5
    ces_difficult_max: int = 3

    # Bootstrap credentials: an API key accepted with the admin role (hash it in production).
    admin_api_key: str | None = None

    # Staff sign-in (feedback/auth). Sessions live in the database: signed out after
    # `session_idle_minutes` without a request, and after `session_hours` whatever happens.
    session_idle_minutes: int = Field(default=60, ge=1, le=24 * 60)
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    # scrypt cost 2^N with r=8, p=1 (OWASP: N ≥ 2^17). Tests set a cheaper one; a stored hash
    # of another cost is re-hashed at the next successful sign-in.
    password_scrypt_log_n: int = Field(default=17, ge=4, le=20)
    # Failed sign-ins: the first N per account (per client address) are free, then each one
    # doubles a lock starting at 2 s, up to login_max_lock_seconds. A failure older than an
    # hour starts the count again.
    login_free_failures_account: int = Field(default=5, ge=1)
    login_free_failures_ip: int = Field(default=30, ge=1)
    login_max_lock_seconds: int = Field(default=900, ge=1)
    # One-time links (invitations, password resets) stop working after this many hours.
    account_link_hours: float = Field(default=72.0, gt=0)

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

    # Privacy (feedback/privacy; README "Privacy"). Phone regions whose national numbers are
    # redacted from comments (numbers written with + are found whatever the regions); extra
    # patterns are name → regex, replaced by "[name]".
    privacy_phone_regions: list[str] = Field(default_factory=list)
    privacy_redact_patterns: dict[str, str] = Field(default_factory=dict)
    # Retention windows in days (0 = keep forever). Comments and contact details of customers
    # with no activity in the window are anonymised; message bodies and SMS logs are blanked.
    retention_comment_days: int = Field(default=730, ge=0)
    retention_customer_days: int = Field(default=1095, ge=0)
    retention_message_days: int = Field(default=90, ge=0)
    retention_batch_size: int = Field(default=500, ge=1, le=10000)

    # Worker
    worker_poll_seconds: float = Field(default=10.0, gt=0, le=3600)  # dispatch runs this often
    worker_batch_size: int = 50
    # Claimed invitations a worker sends side by side (PostgreSQL; SQLite sends one by one).
    dispatch_concurrency: int = Field(default=8, ge=1, le=32)
    lease_seconds: int = 120
    # The follow-ups of an answer (themes, response.created, recovery task: feedback/followups)
    # run after commit from the outbox: the job looks this often (at most 5 s, the stated bound
    # on a detractor's task) and takes back a stopped worker's follow-up after the lease.
    followup_poll_seconds: float = Field(default=1.0, gt=0, le=5)
    followup_lease_seconds: int = Field(default=30, ge=5, le=3600)

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
    def redactor(self) -> Redactor:
        regions = [*self.privacy_phone_regions]
        if self.default_phone_region and self.default_phone_region not in regions:
            regions.append(self.default_phone_region)
        return Redactor(regions=tuple(r.upper() for r in regions),
                        patterns=tuple(sorted(self.privacy_redact_patterns.items())))

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def redacted(self) -> dict[str, Any]:
        data = self.model_dump()
        for key in ("secret_key", "twilio_auth_token", "smtp_password", "admin_api_key"):
            if data.get(key):
                data[key] = "***"
        return data

    # --- Service recovery (feedback/recovery) and its notification outbox ---------------------
    # Every response classed NEGATIVE by the thresholds above opens (or joins) a recovery task;
    # so do the keywords / insight themes below, whatever the score.
    recovery_enabled: bool = True
    recovery_first_contact_hours: float = 24.0
    recovery_resolution_hours: float = 48.0
    # Per-priority overrides (normal, high, urgent), e.g. {"urgent": {"first_contact_hours": 4}}.
    recovery_priority_windows: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {"urgent": {"first_contact_hours": 4, "resolution_hours": 24}})
    recovery_warn_fraction: float = 0.8  # warn the owner at 80 % of a window
    # Business hours: {"mon-fri": "09:00-17:00", "sat": "10:00-13:00"}. Empty: the clock never
    # stops. With hours set, windows count open hours only and skip the holidays (ISO dates).
    recovery_business_hours: dict[str, str] = Field(default_factory=dict)
    recovery_time_zone: str | None = None  # None: default_time_zone
    recovery_holidays: list[str] = Field(default_factory=list)
    # Whole words, case-insensitive; "word*" also matches longer words starting with it.
    # Chinese (written without spaces) matches anywhere in the comment.
    recovery_keywords: list[str] = Field(default_factory=lambda: [
        "cancel*", "complain*", "complaint*", "lawyer*", "attorney*", "solicitor*", "sue",
        "sued", "suing", "legal action", "ombudsman", "regulator*", "fraud*", "scam*",
        "close my account", "取消", "投诉", "律师", "起诉", "销户", "消协", "لغو*", "شکایت*",
        "وکیل*", "دادگاه*", "فسخ*", "کنسل*"])
    recovery_trigger_themes: list[str] = Field(default_factory=list)
    recovery_keywords_on_positive: bool = False  # "helped me cancel" from a promoter is fine
    recovery_vip_tiers: list[str] = Field(default_factory=lambda: ["gold", "vip", "platinum"])
    recovery_repeat_days: int = 90  # a second negative answer within this is high priority
    # team: available members of the task's team in turn, else the team's lead, else nobody (the
    # team's queue claims it) — never another team's agent; round_robin: everyone in turn, but
    # only when recovery_agents_see_all_teams (else as team); none: the queue claims.
    recovery_assignment: Literal["round_robin", "team", "none"] = "team"
    recovery_agents_see_all_teams: bool = False
    recovery_root_causes: list[str] = Field(default_factory=lambda: [
        "wait time", "agent behaviour", "billing error", "product defect", "outage",
        "policy", "price", "communication", "other"])
    # Contact results that stop the first-contact clock (others are logged, the clock runs on).
    recovery_first_contact_results: list[
        Literal["reached", "no_answer", "left_message", "wrong_number", "sent"]] = Field(
        default_factory=lambda: ["reached"])
    # A customer's SMS after the survey joins their task while open or resolved this recently.
    recovery_reply_window_days: int = 14
    recovery_followup: bool = True  # ask again after resolution (recovery_followup purpose)
    recovery_followup_delay_hours: float = 24.0
    recovery_escalation_emails: list[str] = Field(default_factory=list)
    recovery_webhook_url: str | None = None  # generic JSON, signed with the secret below
    recovery_webhook_secret: str | None = None
    recovery_slack_webhook_url: str | None = None
    # --- Integrations (feedback/integrations): event webhooks, Slack, helpdesks ---------------
    # Destinations resolving to private/loopback addresses are refused (SSRF) unless this is
    # true: local development and tests only.
    webhooks_allow_private: bool = False
    webhooks_retry_hours: float = Field(default=24.0, gt=0)  # an event is retried this long
    webhooks_disable_after_hours: float = Field(default=24.0, gt=0)  # unbroken failure → disabled
    webhooks_rotation_overlap_hours: float = Field(default=24.0, ge=0)  # old secret still signs
    webhooks_concurrency: int = Field(default=8, ge=1, le=64)  # event POSTs in flight per worker
    notification_max_attempts: int = 8
    notification_retry_seconds: float = 30.0  # first retry; doubles each attempt (+ jitter)
    notification_timeout_seconds: float = 10.0

    # --- CX lead reports (feedback/reports) ---------------------------------------------------
    # Report days, weeks and the weekday x hour heatmap are in this zone (None: default_time_zone).
    report_time_zone: str | None = None
    # The weekly digest (last Monday-to-Sunday) goes to every active lead from this local hour
    # on Monday; an idle worker catches up later in the week. Off: no digest.
    report_digest: bool = True
    report_digest_hour: int = Field(default=7, ge=0, le=23)

    @field_validator("recovery_business_hours")
    @classmethod
    def _check_business_hours(cls, v: dict[str, str]) -> dict[str, str]:
        from feedback.recovery.sla import parse_business_hours

        parse_business_hours(v)  # raises ValueError naming the bad entry
        return v

    @field_validator("recovery_holidays")
    @classmethod
    def _check_holidays(cls, v: list[str]) -> list[str]:
        from datetime import date

        for item in v:
            try:
                date.fromisoformat(item)
            except ValueError as exc:
                raise ValueError(f"recovery_holidays: {item!r} is not a date like 2026-12-25") from exc
        return v

    # --- Outbound dispatch (outreach/dispatch.py, outreach/tasks.py) -----------------------------
    # Quiet hours (above) hold back these channels only; an email waits in the inbox anyway.
    dispatch_quiet_hours_channels: list[Literal["sms", "email"]] = Field(default=["sms"])
    dispatch_retry_base_seconds: float = 30.0  # first retry after a transient failure (+ jitter)
    dispatch_retry_cap_seconds: float = 3600.0  # the backoff never waits longer than this
    dispatch_max_attempts: int = 8  # then the invitation is marked failed with the last error
    # Health check: alert when invitations have waited this long and nothing was sent meanwhile.
    dispatch_stall_minutes: int = 30
    # Pipeline alerts (feedback.health): a subscription to the `pipeline.alert` event (Standard
    # Webhooks signature keyed with recovery_webhook_secret), and e-mailed to active admins.
    dispatch_alert_webhook_url: str | None = None
    dispatch_pause_probe_minutes: int = 5  # a channel paused for bad credentials is retried
    health_failure_window_minutes: int = 30  # failure-rate spike: over this window …
    health_failure_min_attempts: int = 10  # … with at least this many send attempts …
    health_failure_rate: float = 0.5  # … this share failing (or retrying) alerts
    # No interaction ingested for this many hours alerts; "*" is any interaction, other keys are
    # interaction channels (phone, chat, email, …: each source on its own clock). 0 disables.
    health_ingest_silence_hours: dict[str, float] = Field(default_factory=lambda: {"*": 24.0})
    # Answers' follow-ups due this long and not run alert (their bound is seconds: a worker is
    # down or cannot keep up, and detractors get no recovery task meanwhile).
    health_followup_lag_minutes: float = Field(default=5.0, gt=0)

    # --- Inbound SMS and delivery reports (feedback/inbound) -----------------------------------
    # Webhooks are verified with twilio_auth_token against public_url + path (the URL set in
    # the Twilio console). After our follow-up question or clarifying SMS, the next reply is
    # read as its answer for this long; later it is read afresh.
    sms_conversation_hours: float = 24.0
    # --- themes (feedback.insights) ---
    # The retraining job trains a new model only once this many labelled comments exist
    # (reviewed responses plus the themes' seed examples).
    themes_min_training_examples: int = 20
    # Train new versions with sentence embeddings too (FEEDBACK_THEMES_EMBEDDINGS=true): better
    # themes and sentiment at tens of comments/s instead of thousands. Needs the optional extra,
    # checked at start: pip install 'feedback[embeddings]'.
    themes_embeddings: bool = False

    @field_validator("themes_embeddings")
    @classmethod
    def _embeddings_installed(cls, v: bool) -> bool:
        from feedback.insights.embeddings import available

        if v and not available():
            raise ValueError("sentence embeddings need the optional package: "
                             "pip install 'feedback[embeddings]'")
        return v
