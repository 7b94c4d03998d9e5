"""The themes JSON API under /api/themes (leads): taxonomy, corrections, discovery, training,
models, merge / split suggestions. The pages are in pages.py."""

from __future__ import annotations

from typing import Any

from litestar import Request, delete, get, patch, post, put
from litestar.params import JSONBody

from feedback.auth.guards import provide_principal
from feedback.auth.permissions import allow
from feedback.deps import Conf, Db, Now
from feedback.edge import DbId
from feedback.insights import discovery_runs, repository, service, suggestion_store, suggestions
from feedback.insights.schemas import (
    CorrectionIn,
    DiscoverIn,
    DismissIn,
    MergeIn,
    SplitIn,
    ThemeIn,
    ThemePatch,
    discovery_json,
    run_json,
    theme_json,
    version_json,
)
from feedback.recovery.schemas import parse

READ = [allow("theme.read")]
WRITE = [allow("theme.write")]
_TAGS = ["themes"]


@get("/api/themes", sync_to_thread=True, guards=READ, tags=_TAGS,
     summary="The taxonomy: every theme with its number of tagged responses")
def list_themes(db: Db) -> dict[str, Any]:
    return {"items": repository.list_with_counts(db)}


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
    return discovery_json(run, repository.themes_by_ids(db, run.created))


@get("/api/themes/discover/{run_id:int}", sync_to_thread=True, guards=READ, tags=_TAGS,
     summary="Where a discovery run stands (queued, running, done, failed) and, when done, the "
             "themes it proposed that still exist")
def discovery_run(run_id: int, db: Db) -> dict[str, Any]:
    run = discovery_runs.get_run(db, run_id)
    return discovery_json(run, repository.themes_by_ids(db, run.created))


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
