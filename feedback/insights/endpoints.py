"""The themes JSON API under /api/themes (leads): taxonomy, corrections, training, models;
and the read-only taxonomy page /themes/taxonomy."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from litestar import Request, delete, get, patch, post, put
from litestar.params import JSONBody
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col, select

from feedback.auth.guards import provide_principal
from feedback.auth.permissions import allow
from feedback.deps import Conf, Db, Now
from feedback.edge import DbId
from feedback.insights import discovery_runs, service, suggestion_store, suggestions
from feedback.insights.models import ResponseTheme, Theme, ThemeDiscoveryRun, ThemeModelVersion
from feedback.recovery.schemas import parse

READ = [allow("theme.read")]
WRITE = [allow("theme.write")]
_TAGS = ["themes"]


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


def list_with_counts(db: Db) -> list[dict[str, Any]]:
    counts = dict(db.exec(select(ResponseTheme.theme_id, sa.func.count())  # type: ignore[call-overload]
                          .group_by(col(ResponseTheme.theme_id))).all())
    themes = db.exec(select(Theme).order_by(col(Theme.status), col(Theme.name))).all()
    return [theme_json(t, counts.get(t.id or 0, 0)) for t in themes]


@get("/api/themes", sync_to_thread=True, guards=READ, tags=_TAGS,
     summary="The taxonomy: every theme with its number of tagged responses")
def list_themes(db: Db) -> dict[str, Any]:
    return {"items": list_with_counts(db)}


@post("/api/themes", sync_to_thread=True, guards=WRITE, tags=_TAGS, status_code=201,
      summary="Create a theme with optional description, seed keywords and examples")
def create(db: Db, now: Now, data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    body = parse(ThemeIn, data)
    return theme_json(service.create_theme(db, now=now, **body.model_dump()))


@patch("/api/themes/{theme_id:int}", sync_to_thread=True, guards=WRITE, tags=_TAGS,
       summary="Rename, describe, re-seed or accept (`accept: true`) a theme")
def update(theme_id: int, db: Db, now: Now, data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    body = parse(ThemePatch, data)
    return theme_json(service.update_theme(db, theme_id, now=now, **body.model_dump()))


@post("/api/themes/{theme_id:int}/merge", sync_to_thread=True, guards=WRITE, tags=_TAGS,
      status_code=200, summary="Merge this theme into another (`into`: theme id)")
def merge(theme_id: int, db: Db, now: Now, data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    body = parse(MergeIn, data)
    return theme_json(service.merge_themes(db, theme_id, body.into, now=now))


@post("/api/themes/{theme_id:int}/split", sync_to_thread=True, guards=WRITE, tags=_TAGS,
      status_code=201, summary="Move the listed responses of this theme to a new theme")
def split(theme_id: int, request: Request[Any, Any, Any], db: Db, now: Now,
          data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    body = parse(SplitIn, data)
    return theme_json(service.split_theme(db, theme_id, name=body.name,
                                          response_ids=body.response_ids, now=now,
                                          reviewer=provide_principal(request).name))


@put("/api/responses/{response_id:int}/themes", sync_to_thread=True, guards=WRITE, tags=_TAGS,
     summary="Correct a response's themes (an empty list: none apply); becomes training data")
def correct(response_id: int, request: Request[Any, Any, Any], db: Db, now: Now,
            data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    body = parse(CorrectionIn, data)
    names = service.correct_response(db, response_id, [(m.theme, m.sentiment) for m in body.themes],
                                     now=now, reviewer=provide_principal(request).name)
    return {"response_id": response_id, "themes": names}


@post("/api/themes/discover", sync_to_thread=True, guards=WRITE, tags=_TAGS, status_code=202,
      summary="Ask the worker to propose themes from the comments of the last `days` days "
              "(stored as `discovered` themes to accept or reject); follow the run at "
              "/api/themes/discover/{run_id}")
def discover(request: Request[Any, Any, Any], db: Db, now: Now,
             data: JSONBody[dict[str, Any] | None] = None) -> dict[str, Any]:
    body = parse(DiscoverIn, data)
    run = discovery_runs.request_discovery(db, by=provide_principal(request).name, now=now,
                                           days=body.days, k=body.k)
    return discovery_json(db, run)


@get("/api/themes/discover/{run_id:int}", sync_to_thread=True, guards=READ, tags=_TAGS,
     summary="Where a discovery run stands (queued, running, done, failed) and, when done, the "
             "themes it proposed that still exist")
def discovery_run(run_id: int, db: Db) -> dict[str, Any]:
    return discovery_json(db, discovery_runs.get_run(db, run_id))


def discovery_json(db: Db, run: ThemeDiscoveryRun) -> dict[str, Any]:
    proposed = list(db.exec(select(Theme).where(col(Theme.id).in_(run.created))
                            .order_by(col(Theme.id)))) if run.created else []
    return {"id": run.id, "status": run.status, "requested_by": run.requested_by,
            "requested_at": run.requested_at.isoformat(), "days": run.days, "k": run.k,
            "started_at": run.started_at.isoformat() if run.started_at else None,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "stage": run.stage, "comments": run.n_comments, "features": run.features,
            "error": run.error,
            "items": [theme_json(t) for t in proposed]}


@delete("/api/themes/{theme_id:int}", sync_to_thread=True, guards=WRITE, tags=_TAGS,
        status_code=200, summary="Reject a discovered theme: it is removed (an accepted theme, "
                                 "or one responses are tagged with, is merged instead: 409)")
def reject(theme_id: int, db: Db) -> dict[str, Any]:
    return {"id": theme_id, "name": discovery_runs.reject(db, theme_id), "removed": True}


@post("/api/themes/train", sync_to_thread=True, guards=WRITE, tags=_TAGS, status_code=202,
      summary="Ask the worker to train a model version from the reviewed responses and seed "
              "examples; follow the run at /api/themes/train/{run_id}")
def train(request: Request[Any, Any, Any], db: Db, now: Now, settings: Conf) -> dict[str, Any]:
    run = service.request_training(db, by=provide_principal(request).name, now=now,
                                   min_examples=settings.themes_min_training_examples)
    return run_json(run)


@get("/api/themes/train/{run_id:int}", sync_to_thread=True, guards=READ, tags=_TAGS,
     summary="Where a training run stands: queued, running, done (its version), unchanged, failed")
def training_run(run_id: int, db: Db) -> dict[str, Any]:
    return run_json(service.get_training_run(db, run_id))


def run_json(run: Any) -> dict[str, Any]:
    return {"id": run.id, "status": run.status, "requested_by": run.requested_by,
            "requested_at": run.requested_at.isoformat(),
            "started_at": run.started_at.isoformat() if run.started_at else None,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "stage": run.stage, "version_id": run.version_id, "activated": run.activated,
            "error": run.error}


@get("/api/themes/models", sync_to_thread=True, guards=READ, tags=_TAGS,
     summary="Model versions, newest first, with held-out precision/recall/F1 per theme")
def models(db: Db) -> dict[str, Any]:
    active = service.active_version_id(db)
    return {"items": [version_json(v, active) for v in service.list_versions(db)]}


@post("/api/themes/models/{version_id:int}/activate", sync_to_thread=True, guards=WRITE,
      tags=_TAGS, status_code=200,
      summary="Put a model version in use; activating the previous version is the rollback")
def activate(version_id: DbId, db: Db, now: Now) -> dict[str, Any]:
    row = service.activate(db, version_id, now=now)
    return version_json(row, row.id)


def suggestions_json(stored: suggestion_store.Stored) -> dict[str, Any]:
    """The stored suggestions with their evidence; each says how to accept it through the API
    (the existing merge / split endpoints) and how to dismiss it. `computed` says when and from
    how many comments, and whether the worker is recomputing (`stale`)."""
    def num(x: float) -> float | None:
        return None if x != x else x  # NaN (not compared): null

    found = stored.found or suggestions.Suggestions()
    return {
        "computed": {"at": stored.computed_at.isoformat() if stored.computed_at else None,
                     "comments": stored.n_comments, "seconds": stored.seconds,
                     "status": stored.status, "stale": stored.stale,
                     "outdated": stored.gone},
        "space": found.space, "compared": found.compared, "dismissed": found.dismissed,
        "min_comments": suggestions.MIN_COMMENTS, "min_split": suggestions.MIN_SPLIT,
        "too_small": [{"theme": name, "comments": n} for name, n in found.too_small],
        "merges": [{"key": m.key, "source": {"id": m.source_id, "name": m.source,
                                             "comments": m.n_source},
                    "into": {"id": m.into_id, "name": m.into, "comments": m.n_into},
                    "shared": m.shared, "overlap": m.overlap, "similarity": num(m.similarity),
                    "accept": {"method": "POST", "path": f"/api/themes/{m.source_id}/merge",
                               "body": {"into": m.into_id}}} for m in found.merges],
        "splits": [{"key": sp.key, "theme": {"id": sp.theme_id, "name": sp.theme},
                    "comments": sp.n, "similarity": sp.similarity,
                    "parts": [{"label": p.label, "keywords": p.keywords, "size": p.size,
                               "examples": p.examples, "response_ids": p.response_ids,
                               "accept": {"method": "POST",
                                          "path": f"/api/themes/{sp.theme_id}/split",
                                          "body": {"name": p.label.replace(",", "")[:200],
                                                   "response_ids": p.response_ids}}}
                              for p in sp.parts]} for sp in found.splits],
    }


@get("/api/themes/suggestions", sync_to_thread=True, guards=READ, tags=_TAGS,
     summary="Merge suggestions (near-duplicate themes) and split suggestions (a theme whose "
             "comments form separate groups), with their evidence, as the worker last computed "
             "them (`computed`); dismissed ones and ones about removed themes left out")
def list_suggestions(db: Db) -> dict[str, Any]:
    return suggestions_json(suggestion_store.read(db))


@post("/api/themes/suggestions/recompute", sync_to_thread=True, guards=WRITE, tags=_TAGS,
      status_code=202, summary="Ask the worker to recompute the suggestions now; follow "
                               "`computed` at /api/themes/suggestions")
def recompute_suggestions(request: Request[Any, Any, Any], db: Db, now: Now) -> dict[str, Any]:
    status = suggestion_store.request_recompute(db, by=provide_principal(request).name, now=now)
    return {"status": status, "progress": "/api/themes/suggestions"}


@post("/api/themes/suggestions/dismiss", sync_to_thread=True, guards=WRITE, tags=_TAGS,
      status_code=200, summary="Dismiss a suggestion by its key (merge:ID-ID or split:ID)")
def dismiss_suggestion(request: Request[Any, Any, Any], db: Db, now: Now,
                       data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    body = parse(DismissIn, data)
    key = suggestions.dismiss(db, body.key, by=provide_principal(request).name, now=now)
    return {"key": key, "dismissed": True}


routes = [list_themes, create, update, merge, split, correct, discover, discovery_run, reject,
          train, training_run,
          models, activate, list_suggestions, recompute_suggestions, dismiss_suggestion]
