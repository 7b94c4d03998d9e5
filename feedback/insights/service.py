"""Themes in the database: tagging responses, the taxonomy leads curate, and (re)training.

The latest `ThemeModelVersion` is the model in use. Each process keeps the loaded model of the
version it last saw, so tagging an arriving response costs one primary-key lookup of the newest
version plus a prediction, not a model load.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from feedback.insights import repository
from feedback.insights.model import SENTIMENTS, Mention, ModelFileError, ThemeModel
from feedback.insights.models import (
    LinkSource,
    ResponseTheme,
    Theme,
    ThemeModelVersion,
    ThemeReview,
    ThemeStatus,
    ThemeTrainingRun,
)
from feedback.insights.training import Example, train
from feedback.settings import Settings
from surveys.errors import Conflict, NotFound, ValidationFailed
from surveys.models import Response
from surveys.stats import wilson_interval

log = logging.getLogger(__name__)
_lock = threading.Lock()
_loaded: dict[str, Any] = {"key": None, "model": None}


# --- the model in use -------------------------------------------------------------------------


def active_version_id(session: Session) -> int | None:
    """The version in use: the newest activation (a rollback re-activates an older version);
    when no version was ever activated (stored by hand), the newest version."""
    row = session.exec(select(ThemeModelVersion.id)
                       .where(col(ThemeModelVersion.activated_at).is_not(None))
                       .order_by(col(ThemeModelVersion.activated_at).desc(),
                                 col(ThemeModelVersion.id).desc()).limit(1)).first()
    if row is None:
        row = session.exec(select(ThemeModelVersion.id)
                           .order_by(col(ThemeModelVersion.id).desc()).limit(1)).first()
    return None if row is None else int(row)


def current_model(session: Session) -> tuple[int, ThemeModel] | None:
    """The model in use; cached by its training key (ids restart in a fresh database)."""
    version_id = active_version_id(session)
    if version_id is None:
        return None
    key = session.exec(select(ThemeModelVersion.training_key)
                       .where(ThemeModelVersion.id == version_id)).one()
    with _lock:
        if _loaded["key"] != key:
            row = session.get(ThemeModelVersion, version_id)
            assert row is not None
            _loaded.update(key=key, model=ThemeModel.from_bytes(row.data))
        return version_id, _loaded["model"]


def activate(session: Session, version_id: int, *, now: datetime) -> ThemeModelVersion:
    """Put a version in use (activating the previous one is the rollback). Its activation time
    is after every other one even within one clock tick, so the newest activation wins."""
    row = session.get(ThemeModelVersion, version_id)
    if row is None:
        raise NotFound(f"model version {version_id} does not exist", field="version_id")
    latest = session.exec(select(sa.func.max(ThemeModelVersion.activated_at))).one()
    if latest is not None and latest.tzinfo is None:  # SQLite hands back naive UTC
        latest = latest.replace(tzinfo=now.tzinfo)
    row.activated_at = now if latest is None or now > latest else latest + timedelta(
        microseconds=1)
    session.add(row)
    session.flush()
    return row


def on_response(session: Session, response: Response, *, now: datetime, settings: Settings) -> None:
    """Classify the response's comment into themes when a model is available."""
    if not (response.comment or "").strip() or response.id is None:
        return
    try:
        loaded = current_model(session)
    except ModelFileError:  # a damaged model must never stop an answer from being recorded
        log.exception("themes: cannot load the latest model version")
        return
    if loaded is None:
        return
    version_id, model = loaded
    mentions = model.predict([response.comment or ""])[0]
    _replace_links(session, response.id, mentions, LinkSource.MODEL, now, version_id)


def themes_for(session: Session, response_id: int) -> list[str]:
    """Theme names tagged on one response (recovery triggers read this)."""
    stmt = (select(Theme.name).join(ResponseTheme, col(ResponseTheme.theme_id) == Theme.id)
            .where(ResponseTheme.response_id == response_id).order_by(Theme.name))
    return list(session.exec(stmt).all())


def _theme_ids(session: Session, names: Sequence[str], now: datetime,
               create: bool) -> dict[str, int]:
    """Ids of the named themes. A person may name a new theme (it is created); the model's
    names that the taxonomy no longer has (merged or renamed since training) are skipped
    until the next retraining, which learns the new names from the moved links."""
    found = {t.name: t.id for t in session.exec(select(Theme).where(col(Theme.name).in_(names)))}
    for name in names:
        if name not in found and create:
            theme = Theme(name=name, status=ThemeStatus.ACCEPTED, created_at=now, updated_at=now)
            session.add(theme)
            session.flush()
            found[name] = theme.id
    return {k: int(v) for k, v in found.items() if v is not None}


def _replace_links(session: Session, response_id: int, mentions: Sequence[Mention], source: str,
                   now: datetime, version_id: int | None = None) -> None:
    session.execute(sa.delete(ResponseTheme).where(
        col(ResponseTheme.response_id) == response_id))
    ids = _theme_ids(session, [m.theme for m in mentions], now,
                     create=source == LinkSource.HUMAN)
    for m in mentions:
        if m.theme not in ids:
            continue
        session.add(ResponseTheme(response_id=response_id, theme_id=ids[m.theme],
                                  confidence=m.confidence, sentiment=m.sentiment, source=source,
                                  model_version_id=version_id, created_at=now))
    session.flush()


# --- taxonomy -----------------------------------------------------------------------------------


def get_theme(session: Session, theme_id: int) -> Theme:
    theme = session.get(Theme, theme_id)
    if theme is None:
        raise NotFound(f"theme {theme_id} does not exist", field="theme_id")
    return theme


def _clean_name(name: str | None) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned or len(cleaned) > 200 or "|" in cleaned or ":" in cleaned:
        raise ValidationFailed("name must be 1–200 characters without '|' or ':' (they separate "
                               "themes and sentiments in files)", field="name")
    return cleaned


def _unique_name(session: Session, name: str, except_id: int | None = None) -> str:
    other = session.exec(select(Theme).where(Theme.name == name)).first()
    if other is not None and other.id != except_id:
        raise Conflict(f"a theme named {name!r} already exists", field="name")
    return name


def create_theme(session: Session, *, name: str, now: datetime, description: str | None = None,
                 keywords: Sequence[str] = (), examples: Sequence[str] = (),
                 status: str = ThemeStatus.ACCEPTED) -> Theme:
    theme = Theme(name=_unique_name(session, _clean_name(name)), description=description,
                  keywords=[k.strip() for k in keywords if k.strip()],
                  examples=[e.strip() for e in examples if e.strip()], status=status,
                  created_at=now, updated_at=now)
    session.add(theme)
    session.flush()
    return theme


def update_theme(session: Session, theme_id: int, *, now: datetime, name: str | None = None,
                 description: str | None = None, keywords: Sequence[str] | None = None,
                 examples: Sequence[str] | None = None, accept: bool = False) -> Theme:
    """Rename, describe, re-seed or accept a theme (links follow: they point at the id)."""
    theme = get_theme(session, theme_id)
    if name is not None:
        theme.name = _unique_name(session, _clean_name(name), except_id=theme.id)
    if description is not None:
        theme.description = description
    if keywords is not None:
        theme.keywords = [k.strip() for k in keywords if k.strip()]
    if examples is not None:
        theme.examples = [e.strip() for e in examples if e.strip()]
    if accept:
        theme.status = ThemeStatus.ACCEPTED
    theme.updated_at = now
    session.add(theme)
    session.flush()
    return theme


def merge_themes(session: Session, source_id: int, into_id: int, *, now: datetime) -> Theme:
    """Move every link of `source` to `into` (keeping the stronger on overlap), drop `source`."""
    if source_id == into_id:
        raise ValidationFailed("cannot merge a theme into itself", field="into")
    source, target = get_theme(session, source_id), get_theme(session, into_id)
    links = session.exec(select(ResponseTheme).where(ResponseTheme.theme_id == source_id)).all()
    have = {lk.response_id: lk for lk in session.exec(select(ResponseTheme).where(
        ResponseTheme.theme_id == into_id, col(ResponseTheme.response_id).in_(
            [lk.response_id for lk in links])))}
    for link in links:
        kept = have.get(link.response_id)
        if kept is None:
            link.theme_id = into_id
            session.add(link)
        else:
            if link.source == LinkSource.HUMAN or link.confidence > kept.confidence:
                kept.confidence, kept.source = link.confidence, link.source
                kept.sentiment = kept.sentiment or link.sentiment
                session.add(kept)
            session.delete(link)
    target.keywords = list(dict.fromkeys([*target.keywords, *source.keywords]))
    target.examples = list(dict.fromkeys([*target.examples, *source.examples]))
    target.updated_at = now
    session.flush()
    session.delete(source)
    session.flush()
    return target


def split_theme(session: Session, theme_id: int, *, name: str, response_ids: Sequence[int],
                now: datetime, reviewer: str) -> Theme:
    """A new theme taking the listed responses of `theme_id`; those become reviewed labels."""
    get_theme(session, theme_id)
    if not response_ids:
        raise ValidationFailed("response_ids: list the responses that form the new theme",
                               field="response_ids")
    links = session.exec(select(ResponseTheme).where(
        ResponseTheme.theme_id == theme_id,
        col(ResponseTheme.response_id).in_(list(response_ids)))).all()
    missing = sorted(set(response_ids) - {lk.response_id for lk in links})
    if missing:
        raise ValidationFailed(f"response_ids: {missing} are not tagged with theme {theme_id}",
                               field="response_ids")
    new = create_theme(session, name=name, now=now)
    for link in links:
        link.theme_id, link.source = int(new.id or 0), LinkSource.HUMAN
        session.add(link)
        _mark_reviewed(session, link.response_id, reviewer, now)
    session.flush()
    return new


def correct_response(session: Session, response_id: int, labels: Sequence[tuple[str, str | None]],
                     *, now: datetime, reviewer: str) -> list[str]:
    """A person sets a response's themes (possibly none): stored as human links + a review."""
    if session.get(Response, response_id) is None:
        raise NotFound(f"response {response_id} does not exist", field="response_id")
    for theme, sentiment in labels:
        if sentiment is not None and sentiment not in SENTIMENTS:
            raise ValidationFailed(f"sentiment of {theme!r} must be one of {', '.join(SENTIMENTS)}",
                                   field="themes")
    names = [_clean_name(t) for t, _ in labels]
    mentions = [Mention(n, 1.0, s) for n, (_, s) in zip(names, labels, strict=True)]
    _replace_links(session, response_id, mentions, LinkSource.HUMAN, now)
    _mark_reviewed(session, response_id, reviewer, now)
    return themes_for(session, response_id)


def _current_labels(session: Session, response_id: int) -> list[tuple[str, str | None]]:
    stmt = (select(Theme.name, ResponseTheme.sentiment)
            .join(ResponseTheme, col(ResponseTheme.theme_id) == Theme.id)
            .where(ResponseTheme.response_id == response_id).order_by(Theme.name))
    return [(name, sentiment) for name, sentiment in session.exec(stmt)]


def tag_response(session: Session, response_id: int, theme: str, *, now: datetime,
                 reviewer: str) -> list[str]:
    """Add one theme to a response (a page's "tag"); the others are kept and confirmed."""
    labels = _current_labels(session, response_id)
    if theme not in {t for t, _ in labels}:
        labels.append((theme, None))
    return correct_response(session, response_id, labels, now=now, reviewer=reviewer)


def untag_response(session: Session, response_id: int, theme: str, *, now: datetime,
                   reviewer: str) -> list[str]:
    """Remove one theme from a response; the remaining ones are confirmed by the reviewer."""
    labels = [(t, s) for t, s in _current_labels(session, response_id) if t != theme]
    return correct_response(session, response_id, labels, now=now, reviewer=reviewer)


def _mark_reviewed(session: Session, response_id: int, reviewer: str, now: datetime) -> None:
    review = session.get(ThemeReview, response_id) or ThemeReview(response_id=response_id,
                                                                   reviewer=reviewer,
                                                                   reviewed_at=now)
    review.reviewer, review.reviewed_at = reviewer, now
    session.add(review)


# --- training -----------------------------------------------------------------------------------


def training_examples(session: Session) -> list[Example]:
    """Reviewed responses (their human links, or none) plus each accepted theme's seed examples."""
    reviewed = session.exec(
        select(Response).join(ThemeReview, col(ThemeReview.response_id) == Response.id)
        .order_by(col(Response.id))).all()
    links: dict[int, list[tuple[str, str | None]]] = {}
    stmt = (select(ResponseTheme.response_id, Theme.name, ResponseTheme.sentiment)
            .join(Theme, col(Theme.id) == ResponseTheme.theme_id)
            .join(ThemeReview, col(ThemeReview.response_id) == ResponseTheme.response_id))
    for response_id, name, sentiment in session.exec(stmt):
        links.setdefault(response_id, []).append((name, sentiment))
    out = [Example(r.comment or "", sorted(links.get(int(r.id or 0), [])), r.classification)
           for r in reviewed if (r.comment or "").strip()]
    # A discovered theme is a proposal until a lead accepts it: its examples do not train.
    for theme in session.exec(select(Theme).where(Theme.status != ThemeStatus.DISCOVERED)
                              .order_by(col(Theme.id))):
        out += [Example(text, [(theme.name, None)]) for text in theme.examples]
    return out


@dataclass
class TrainingPlan:
    """What a training run will train on, read in one transaction (see plan_training)."""

    examples: list[Example]
    key: str  # the training key: a version trained on the same labels and features exists?
    active: ThemeModel | None  # the version in use, compared on the new one's held-out split
    embeddings: bool


def plan_training(session: Session, *, min_examples: int = 20,
                  embeddings: bool = False) -> TrainingPlan | None:
    """The labels to train on; None when a version was trained on them already. Only reads:
    the training itself (seconds, minutes with embeddings) runs outside any transaction, so
    on SQLite no write lock is held meanwhile (tasks.train_in_steps)."""
    examples = training_examples(session)
    if len(examples) < min_examples:
        raise ValidationFailed(f"need at least {min_examples} labelled comments to train "
                               f"(have {len(examples)}): correct some responses' themes or add "
                               "seed examples to themes", field="examples")
    labels = repr([(e.text, e.themes, e.classification) for e in examples])
    # The features are part of what was trained on: switching embeddings on retrains the same
    # labels (TF-IDF-only keys are unchanged from before the setting).
    key = hashlib.sha256((labels + (" +embeddings" if embeddings else "")).encode()
                         ).hexdigest()[:64]
    if session.exec(select(ThemeModelVersion.id).where(
            ThemeModelVersion.training_key == key)).first() is not None:
        return None
    try:
        active = current_model(session)
    except ModelFileError:
        active = None
    return TrainingPlan(examples, key, active[1] if active else None, embeddings)


def fit(plan: TrainingPlan, progress: Callable[[str], None] | None = None) -> ThemeModel:
    return train(plan.examples, compare=plan.active, embeddings=plan.embeddings,
                 progress=progress)


def store_version(session: Session, plan: TrainingPlan, model: ThemeModel, *,
                  now: datetime) -> ThemeModelVersion | None:
    """Store a trained version; None when another worker stored one on the same labels first
    (the unique training key lets only one in; the other's insert fails in a savepoint)."""
    # The version in use was scored on the new version's held-out split too ("previous" in the
    # evaluation): the new one goes into use only if it does no worse there; otherwise it waits
    # for a lead to activate it.
    before = (model.evaluation.get("previous") or {}).get("micro_f1")
    better = before is None or float(model.evaluation.get("micro_f1", 0.0)) >= float(before)
    row = ThemeModelVersion(created_at=now, training_key=plan.key, n_examples=len(plan.examples),
                            themes=model.themes, evaluation=model.evaluation,
                            sentiment_source=model.sentiment_source, data=model.to_bytes())
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None
    if better:
        activate(session, int(row.id or 0), now=now)
    return row


def train_now(session: Session, *, now: datetime, min_examples: int = 20,
              embeddings: bool = False) -> ThemeModelVersion | None:
    """Train on the current labels in this session's transaction; None when nothing changed
    since the last version. `embeddings`: with sentence embeddings (settings.themes_embeddings),
    a change of it is a change too. The worker does the same in steps (tasks.train_in_steps)."""
    plan = plan_training(session, min_examples=min_examples, embeddings=embeddings)
    return None if plan is None else store_version(session, plan, fit(plan), now=now)


MIN_HELD_OUT = 10  # held-out answers of a theme below which its figures are "no data"


def held_out_figures(evaluation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per theme: F1 with precision and recall and their Wilson 95 % intervals, or
    `{"no_data": True, "n": support}` when the held-out split had fewer than MIN_HELD_OUT
    answers about it (a figure on 1–9 answers says nothing a lead can rely on)."""
    out: dict[str, dict[str, Any]] = {}
    for theme, fig in (evaluation.get("themes") or {}).items():
        n = int(fig.get("support") or 0)
        if n < MIN_HELD_OUT:
            out[theme] = {"no_data": True, "n": n}
            continue
        tp = int(fig.get("tp", round(fig.get("recall", 0.0) * n)))
        predicted = tp + int(fig["fp"]) if "fp" in fig else (
            round(tp / fig["precision"]) if fig.get("precision") else tp)
        entry: dict[str, Any] = {"no_data": False, "n": n, "f1": fig.get("f1", 0.0),
                                 "precision": fig.get("precision", 0.0),
                                 "recall": fig.get("recall", 0.0), "predicted": predicted,
                                 "recall_interval": wilson_interval(tp, n)}
        entry["precision_interval"] = wilson_interval(tp, predicted) if predicted else None
        out[theme] = entry
    return out


def list_versions(session: Session, limit: int = 20) -> list[ThemeModelVersion]:
    return list(session.exec(select(ThemeModelVersion)
                             .order_by(col(ThemeModelVersion.id).desc()).limit(limit)))


# --- "train now": a run the worker does -------------------------------------------------------

TRAINING_LEASE = timedelta(minutes=30)  # longer than any training (embeddings: minutes)


def request_training(session: Session, *, by: str, now: datetime,
                     min_examples: int) -> ThemeTrainingRun:
    """Queue a training run (checked now: too few labels is a 422 at once). A run already
    waiting or under way is returned instead of a second one."""
    have = len(training_examples(session))
    if have < min_examples:
        raise ValidationFailed(f"need at least {min_examples} labelled comments to train "
                               f"(have {have}): correct some responses' themes or add seed "
                               "examples to themes", field="examples")
    return repository.queue_run(session, ThemeTrainingRun(requested_by=by[:320], requested_at=now))


def get_training_run(session: Session, run_id: int) -> ThemeTrainingRun:
    return repository.get_run(session, ThemeTrainingRun, run_id)
