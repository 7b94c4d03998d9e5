"""Inputs of the themes API (validated into 422s naming the field) and the JSON shapes of a
theme, a model version and the worker's training and discovery runs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from feedback.edge import DbId
from feedback.insights.models import Theme, ThemeDiscoveryRun, ThemeModelVersion, ThemeTrainingRun


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ThemeIn(_In):
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    keywords: list[str] = Field(default_factory=list, max_length=200)
    examples: list[str] = Field(default_factory=list, max_length=500)


class ThemePatch(_In):
    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    keywords: list[str] | None = Field(default=None, max_length=200)
    examples: list[str] | None = Field(default=None, max_length=500)
    accept: bool = False


class MergeIn(_In):
    into: DbId


class SplitIn(_In):
    name: str = Field(max_length=200)
    response_ids: list[DbId] = Field(min_length=1, max_length=10_000)


class MentionIn(_In):
    theme: str = Field(max_length=200)
    sentiment: str | None = None


class CorrectionIn(_In):
    themes: list[MentionIn]


class DismissIn(_In):
    key: str = Field(max_length=100)


class DiscoverIn(_In):
    days: int = Field(default=90, ge=1, le=3660)
    k: int | None = Field(default=None, ge=2, le=200)


def theme_json(theme: Theme, count: int = 0) -> dict[str, Any]:
    return {"id": theme.id, "name": theme.name, "description": theme.description,
            "keywords": theme.keywords, "examples": theme.examples, "status": theme.status,
            "responses": count, "updated_at": theme.updated_at.isoformat()}


def version_json(row: ThemeModelVersion, active_id: int | None = None) -> dict[str, Any]:
    return {"id": row.id, "created_at": row.created_at.isoformat(), "n_examples": row.n_examples,
            "themes": row.themes, "sentiment_source": row.sentiment_source,
            "evaluation": row.evaluation, "active": row.id == active_id,
            "activated_at": row.activated_at.isoformat() if row.activated_at else None}


def run_json(run: ThemeTrainingRun) -> dict[str, Any]:
    return {"id": run.id, "status": run.status, "requested_by": run.requested_by,
            "requested_at": run.requested_at.isoformat(),
            "started_at": run.started_at.isoformat() if run.started_at else None,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "stage": run.stage, "version_id": run.version_id, "activated": run.activated,
            "error": run.error}


def discovery_json(run: ThemeDiscoveryRun, proposed: list[Theme]) -> dict[str, Any]:
    """A discovery run and the themes it proposed that still exist (`proposed`), each with
    the number of comments in its cluster."""
    sizes = dict(zip(run.created, run.sizes, strict=False))
    return {"id": run.id, "status": run.status, "requested_by": run.requested_by,
            "requested_at": run.requested_at.isoformat(), "days": run.days, "k": run.k,
            "started_at": run.started_at.isoformat() if run.started_at else None,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "stage": run.stage, "comments": run.n_comments, "features": run.features,
            "error": run.error,
            "items": [theme_json(t) | {"comments_in_discovery": sizes.get(t.id or 0)}
                      for t in proposed]}
