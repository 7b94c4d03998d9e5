"""The taxonomy page (themes, model versions, "train now") and corrections where the lead
reads: tag or untag a response's themes from a page.

Plain POST forms answered with a redirect back to the page they came from (the drill-down row
or the recovery task), so they work without JavaScript and from the keyboard: every untag is a
button, adding is a text field with the taxonomy as suggestions, Enter submits. A correction is
`service.correct_response` with one theme more or less: the response's links become human ones
and the response is marked reviewed, i.e. training data for the next model.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from feedback.auth.guards import provide_principal
from feedback.auth.permissions import allow
from feedback.deps import Conf, Db, Now
from feedback.insights import (
    discovery_runs,
    repository,
    service,
    suggestion_store,
    suggestions,
)
from feedback.insights.models import Theme
from surveys.errors import NotFound, ValidationFailed

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
READ = [allow("theme.read")]
WRITE = [allow("theme.write")]


def _back(value: str | None, response_id: int) -> str:
    """Where to return: a path on this site only (never an open redirect), with the row's
    anchor so the lead lands where they were."""
    target = (value or "").strip()
    parts = urlsplit(target)
    if not target.startswith("/") or target.startswith("//") or parts.scheme or parts.netloc:
        target = "/themes/taxonomy"
    return target.split("#", 1)[0] + f"#r{response_id}"


def _theme(data: dict[str, str]) -> str:
    name = " ".join((data.get("theme") or "").split())
    if not name:
        raise ValidationFailed("theme: name the theme to add or remove", field="theme")
    return name


@post("/themes/responses/{response_id:int}/tag", sync_to_thread=True, guards=WRITE,
      include_in_schema=False)
def tag(response_id: int, request: Request[Any, Any, Any], db: Db, now: Now,
        data: Form) -> Redirect:
    service.tag_response(db, response_id, _theme(data), now=now,
                         reviewer=provide_principal(request).name)
    return Redirect(_back(data.get("back"), response_id), status_code=303)


@post("/themes/responses/{response_id:int}/untag", sync_to_thread=True, guards=WRITE,
      include_in_schema=False)
def untag(response_id: int, request: Request[Any, Any, Any], db: Db, now: Now,
          data: Form) -> Redirect:
    service.untag_response(db, response_id, _theme(data), now=now,
                           reviewer=provide_principal(request).name)
    return Redirect(_back(data.get("back"), response_id), status_code=303)


@post("/themes/models/{version_id:int}/activate", sync_to_thread=True, guards=WRITE,
      include_in_schema=False)
def activate(version_id: int, db: Db, now: Now) -> Redirect:
    """The taxonomy page's "use this version" button (the rollback too)."""
    service.activate(db, version_id, now=now)
    return Redirect(f"/themes/taxonomy#v{version_id}", status_code=303)


@get("/themes/taxonomy", sync_to_thread=True, guards=READ, include_in_schema=False)
def taxonomy_page(request: Request[Any, Any, Any], db: Db) -> Template:
    """The taxonomy for leads: themes, their counts and the latest model's figures per theme."""
    versions = service.list_versions(db)
    active = service.active_version_id(db)
    in_use = next((v for v in versions if v.id == active), None)
    figures = service.held_out_figures(in_use.evaluation) if in_use else {}
    discovery = repository.latest_discovery_run(db)
    return Template(template_name="insights/taxonomy.html", context={
        "principal": provide_principal(request), "themes": repository.list_with_counts(db),
        "figures": figures, "versions": versions, "active": active,
        "min_held_out": service.MIN_HELD_OUT, "run": repository.latest_training_run(db),
        "discovery": discovery, "cluster_sizes": dict(zip(
            discovery.created, discovery.sizes, strict=False)) if discovery else {}})



@post("/themes/train", sync_to_thread=True, guards=WRITE, include_in_schema=False)
def train(request: Request[Any, Any, Any], db: Db, now: Now, settings: Conf) -> Redirect:
    """The taxonomy page's "train now" button: the worker trains; the page shows the run."""
    service.request_training(db, by=provide_principal(request).name, now=now,
                             min_examples=settings.themes_min_training_examples)
    return Redirect("/themes/taxonomy#training", status_code=303)


def _days(data: dict[str, str]) -> int:
    value = (data.get("days") or "90").strip()
    if not value.isdigit() or not 1 <= int(value) <= 3660:
        raise ValidationFailed("days: a whole number of days from 1 to 3660", field="days")
    return int(value)


@post("/themes/discover", sync_to_thread=True, guards=WRITE, include_in_schema=False)
def discover(request: Request[Any, Any, Any], db: Db, now: Now, data: Form) -> Redirect:
    """The taxonomy page's "discover themes" button: the worker clusters the comments of the
    chosen period; the page shows the run, then the proposals to accept or reject."""
    discovery_runs.request_discovery(db, by=provide_principal(request).name, now=now,
                                     days=_days(data))
    return Redirect("/themes/taxonomy#discovery", status_code=303)


@post("/themes/{theme_id:int}/accept", sync_to_thread=True, guards=WRITE, include_in_schema=False)
def accept(theme_id: int, db: Db, now: Now) -> Redirect:
    """Accept a discovered theme: part of the taxonomy, its examples train the next model."""
    service.update_theme(db, theme_id, now=now, accept=True)
    return Redirect(f"/themes/taxonomy#t{theme_id}", status_code=303)


@post("/themes/{theme_id:int}/reject", sync_to_thread=True, guards=WRITE, include_in_schema=False)
def reject(theme_id: int, db: Db) -> Redirect:
    """Reject a discovered theme: it is removed."""
    discovery_runs.reject(db, theme_id)
    return Redirect("/themes/taxonomy#discovery", status_code=303)


# --- merge / split suggestions ------------------------------------------------------------------

_DONE = ("merged", "split", "dismissed", "queued")
_MAX_IDS = 10_000


def _id(data: dict[str, str], name: str) -> int:
    value = (data.get(name) or "").strip()
    if not value.isdigit() or len(value) > 18 or int(value) < 1:
        raise ValidationFailed(f"{name}: a theme id (a positive whole number)", field=name)
    return int(value)


def _theme_now(db: Db, data: dict[str, str], name: str) -> int:
    """A theme id of a stored suggestion that must still exist: the suggestions were computed
    a while ago and the theme may have been merged or split away since (a 404 naming it)."""
    theme_id = _id(data, name)
    if db.get(Theme, theme_id) is None:
        label = " ".join((data.get(f"{name}_name") or "").split())[:200]
        raise NotFound(f"{name}: theme {theme_id}{f' ({label})' if label else ''} no longer "
                       "exists; it was merged, split or removed after these suggestions were "
                       "computed", field=name)
    return theme_id


def _ids(data: dict[str, str], name: str) -> list[int]:
    parts = [p.strip() for p in (data.get(name) or "").split(",") if p.strip()]
    if not parts or len(parts) > _MAX_IDS or not all(p.isdigit() and len(p) <= 18 for p in parts):
        raise ValidationFailed(f"{name}: 1–{_MAX_IDS} response ids separated by commas",
                               field=name)
    return [int(p) for p in parts]


@get("/themes/suggestions", sync_to_thread=True, guards=READ, include_in_schema=False)
def suggestions_page(request: Request[Any, Any, Any], db: Db,
                     done: str | None = None) -> Template:
    """Merge and split suggestions with their evidence as the worker last computed them (this
    page never computes: see suggestion_store); accept (a taxonomy edit) or dismiss."""
    stored = suggestion_store.read(db)
    return Template(template_name="insights/suggestions.html", context={
        "principal": provide_principal(request), "stored": stored,
        "found": stored.found or suggestions.Suggestions(),
        "done": done if done in _DONE else None, "min_comments": suggestions.MIN_COMMENTS,
        "min_split": suggestions.MIN_SPLIT})


@post("/themes/suggestions/recompute", sync_to_thread=True, guards=WRITE,
      include_in_schema=False)
def recompute(request: Request[Any, Any, Any], db: Db, now: Now) -> Redirect:
    """The "recompute now" button: the worker recomputes at its next poll."""
    suggestion_store.request_recompute(db, by=provide_principal(request).name, now=now)
    return Redirect("/themes/suggestions?done=queued", status_code=303)


@post("/themes/suggestions/merge", sync_to_thread=True, guards=WRITE, include_in_schema=False)
def accept_merge(db: Db, now: Now, data: Form) -> Redirect:
    """Accept a merge: the smaller theme's links move to the larger (service.merge_themes)."""
    service.merge_themes(db, _theme_now(db, data, "source"), _theme_now(db, data, "into"),
                         now=now)
    return Redirect("/themes/suggestions?done=merged", status_code=303)


@post("/themes/suggestions/split", sync_to_thread=True, guards=WRITE, include_in_schema=False)
def accept_split(request: Request[Any, Any, Any], db: Db, now: Now, data: Form) -> Redirect:
    """Accept one group of a split: its comments move to a new theme, as reviewed labels (the
    training data of the next model)."""
    service.split_theme(db, _theme_now(db, data, "theme_id"), name=data.get("name") or "",
                        response_ids=_ids(data, "response_ids"), now=now,
                        reviewer=provide_principal(request).name)
    return Redirect("/themes/suggestions?done=split", status_code=303)


@post("/themes/suggestions/dismiss", sync_to_thread=True, guards=WRITE, include_in_schema=False)
def dismiss(request: Request[Any, Any, Any], db: Db, now: Now, data: Form) -> Redirect:
    suggestions.dismiss(db, data.get("key") or "", by=provide_principal(request).name, now=now)
    return Redirect("/themes/suggestions?done=dismissed", status_code=303)


routes = [tag, untag, activate, taxonomy_page, train, discover, accept, reject, suggestions_page,
          recompute, accept_merge, accept_split, dismiss]
