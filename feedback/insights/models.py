"""Insights tables: the theme taxonomy, response ↔ theme links, reviews and model versions.

A link made by the model and one made by a person live in the same table (`source`), so every
report reads one place; a person's correction replaces the model's links of that response and
marks it reviewed, and reviewed responses are the training data of the next model.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from surveys.types import UTCDateTime, utcnow


class ThemeStatus(StrEnum):
    DISCOVERED = "discovered"  # proposed by discovery; a lead has not accepted it yet
    ACCEPTED = "accepted"


class LinkSource(StrEnum):
    MODEL = "model"
    HUMAN = "human"


def _created() -> Any:
    return Field(default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False))


def _one_pending(table: str) -> sa.Index:
    """A unique index over the runs that are queued or running (see repository.queue_run)."""
    pending = sa.text("status IN ('queued', 'running')")
    return sa.Index(f"uq_{table}_pending", "status", unique=True, sqlite_where=pending,
                    postgresql_where=pending)


class Theme(SQLModel, table=True):
    __tablename__ = "theme"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    description: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    keywords: list[str] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    examples: list[str] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    status: str = Field(default=ThemeStatus.ACCEPTED, max_length=20)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class ResponseTheme(SQLModel, table=True):
    __tablename__ = "response_theme"
    __table_args__ = (
        sa.UniqueConstraint("response_id", "theme_id", name="uq_response_theme"),
    )

    id: int | None = Field(default=None, primary_key=True)
    response_id: int = Field(foreign_key="response.id", index=True)
    theme_id: int = Field(foreign_key="theme.id", index=True)
    confidence: float = 1.0
    sentiment: str | None = Field(default=None, max_length=10)
    source: str = Field(default=LinkSource.MODEL, max_length=10)
    model_version_id: int | None = Field(default=None, foreign_key="theme_model_version.id")
    created_at: datetime = _created()


class ThemeReview(SQLModel, table=True):
    """A person checked this response's themes (possibly: none apply). Training data."""

    __tablename__ = "theme_review"

    response_id: int = Field(foreign_key="response.id", primary_key=True)
    reviewer: str = Field(max_length=320)
    reviewed_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False, index=True))


class ThemeModelVersion(SQLModel, table=True):
    __tablename__ = "theme_model_version"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False, index=True))
    # What the model was trained on (reviews and seed examples at training time): two workers
    # retraining on the same data collide on this key and only one version is stored.
    training_key: str = Field(max_length=100, unique=True)
    n_examples: int
    themes: list[str] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    evaluation: dict[str, Any] = Field(default_factory=dict,
                                       sa_column=sa.Column(sa.JSON, nullable=False))
    sentiment_source: str | None = Field(default=None, max_length=10)
    # In use from then on (the newest activation wins); None: trained but never activated, e.g.
    # a retraining that did worse on held-out data than the version in use.
    activated_at: datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime(), nullable=True, index=True))
    data: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))


class ThemeTrainingRun(SQLModel, table=True):
    """A "train now" asked for by a lead, run by the worker (training takes from seconds to
    minutes: never inside a request). The row says where it stands, for the taxonomy page."""

    __tablename__ = "theme_training_run"
    # The worker's scan: queued runs, and running ones whose worker stopped (lease ran out).
    # At most one run waiting and one under way: two leads asking at once get the same run
    # (settled by this index, not by a look-up that both pass).
    __table_args__ = (sa.Index("ix_theme_training_run_status_lease", "status", "lease_until"),
                      _one_pending("theme_training_run"))

    id: int | None = Field(default=None, primary_key=True)
    # queued · running · done (a new version) · unchanged (nothing new to learn) · failed
    status: str = Field(default="queued", max_length=10)
    requested_by: str = Field(max_length=320)
    requested_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    started_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    finished_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    worker: str | None = Field(default=None, max_length=100)
    lease_until: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    stage: str | None = Field(default=None, max_length=20)  # while running: training.STAGES
    version_id: int | None = None
    activated: bool = False  # the new version went into use (it did no worse than the old)
    error: str | None = Field(default=None, max_length=1000)


class ThemeDiscoveryRun(SQLModel, table=True):
    """A "discover themes" asked for by a lead, run by the worker: clustering up to 50,000
    comments takes seconds on TF-IDF and minutes with sentence embeddings, so never inside a
    request. The clusters become `discovered` themes (`created`: their ids) that a lead accepts
    or rejects on the taxonomy page."""

    __tablename__ = "theme_discovery_run"
    __table_args__ = (sa.Index("ix_theme_discovery_run_status_lease", "status", "lease_until"),
                      _one_pending("theme_discovery_run"))

    id: int | None = Field(default=None, primary_key=True)
    # queued · running · done · failed
    status: str = Field(default="queued", max_length=10)
    requested_by: str = Field(max_length=320)
    requested_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    days: int = 90  # comments of the last `days` days before the request
    k: int | None = None  # the number of themes asked for; None: discovery chooses
    started_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    finished_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    worker: str | None = Field(default=None, max_length=100)
    lease_until: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    stage: str | None = Field(default=None, max_length=20)  # while running: reading · clustering
    n_comments: int = 0  # comments clustered
    features: str | None = Field(default=None, max_length=20)  # tfidf · embeddings
    created: list[int] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    # How many of the clustered comments each created theme's cluster holds (same order).
    sizes: list[int] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    error: str | None = Field(default=None, max_length=1000)


class ThemeSuggestionDismissal(SQLModel, table=True):
    """A merge or split suggestion a lead dismissed: it is not shown again. The key names the
    themes ("merge:3-7", "split:5"), so a suggestion about other themes still shows."""

    __tablename__ = "theme_suggestion_dismissal"

    key: str = Field(primary_key=True, max_length=100)
    dismissed_by: str = Field(max_length=320)
    dismissed_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))


class ThemeSuggestionResult(SQLModel, table=True):
    """The latest merge / split suggestions the worker computed (one row, id 1): the page and
    the API read it, never compute (a large taxonomy takes tens of seconds of CPU). The row is
    also the job's claim: `status` queued (a lead asked) · running (a worker holds the lease) ·
    idle. Customer comments are not copied here, only response ids: the page reads the
    example comments by id, so an erased comment disappears from the suggestions at once."""

    __tablename__ = "theme_suggestion_result"

    id: int = Field(default=1, primary_key=True)
    status: str = Field(default="idle", max_length=10)
    # What the document was computed from (suggestion_store.fingerprint): the themes, a summary
    # of the response-theme links, the model version in use.
    fingerprint: str | None = Field(default=None, max_length=64)
    document: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON))
    computed_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    seconds: float | None = None  # how long the computation took
    n_comments: int = 0  # distinct tagged comments compared
    requested_by: str | None = Field(default=None, max_length=320)
    requested_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    started_at: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    worker: str | None = Field(default=None, max_length=100)
    lease_until: datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    error: str | None = Field(default=None, max_length=1000)
