"""Training a `ThemeModel` from labelled comments, and the figures that say how good it is.

Labels use the CLI's format: `|`-separated, each `theme` or `theme:sentiment`. The held-out
evaluation is honest: a test split is set aside, a model is fitted (vocabulary included) on the
rest and scored on it; the shipped model is then refitted on everything.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold

from feedback.insights.features import Features, Vectorizer, stack
from feedback.insights.model import (
    CLAUSE_ONLY,
    NEGATIVE_CLASSES,
    POSITIVE_CLASSES,
    SENTIMENTS,
    ThemeModel,
    TrainingError,
    blend,
)

log = logging.getLogger(__name__)

THEME_ALPHA = 2.0  # ridge penalty: 3-fold CV on the NHS training part (0.5: 0.675, 1: 0.683, 2: 0.688)
# Tried against this ridge on the same CV (micro-F1 0.688; issue #17), none kept: none gained
# more than 0.004, and the gains are single CV runs: per-theme LinearSVC C=0.3 0.687, C=1 0.679,
# balanced 0.678; liblinear LogisticRegression C=10 0.675; ridge + LR logits summed 0.682;
# NB-weighted ridge 0.682; RidgeCV alpha per theme 0.690; char weight 0.5 / 1.2: 0.681 / 0.690;
# char 2–5 or 3–6-grams (weight 1.2) 0.691 / 0.690; top-1 fallback above a tuned floor 0.688;
# keeping a 2nd theme only above 0.4 × the top probability 0.692; THRESHOLD_PRIOR 1000 0.691;
# stacking a 2nd stage on all themes' out-of-fold logits (co-occurrence) 0.657–0.682. What
# did pay: the survey question as a feature (a token per question) 0.701 (the set codes
# "Nothing." to "How could we improve?" as gratitude), but predict() sees only the answer.
SENTIMENT_C = 4.0
FOLDS = 3
THRESHOLD_PRIOR = 300.0  # positives a theme needs before its own threshold counts half
# Weights of a theme's clause against its whole comment tried for per-theme sentiment.
CLAUSE_WEIGHTS = (0.0, 0.5, 1.0, 2.0, 4.0, CLAUSE_ONLY)
CLAUSE_TOLERANCE = 0.005  # of the labelled mentions
# Weight of the optional embedding block against the (unit-length) TF-IDF blocks: 3-fold CV
# on the NHS training part gave micro-F1 0.688 / 0.703 / 0.709 / 0.710 / 0.707 for 0 / 1 / 2 /
# 3 / 4.5.
EMBEDDING_WEIGHT = 3.0


@dataclass
class Example:
    text: str
    themes: list[tuple[str, str | None]] = field(default_factory=list)
    classification: str | None = None  # the survey answer's class, for the sentiment bootstrap


def parse_labels(value: str | None, *, where: str = "themes") -> list[tuple[str, str | None]]:
    """`"billing:negative|staff"` → [("billing", "negative"), ("staff", None)]."""
    out: list[tuple[str, str | None]] = []
    for raw in (value or "").split("|"):
        item = raw.strip()
        if not item:
            continue
        theme, sep, sentiment = item.rpartition(":")
        if not sep:
            theme, sentiment = item, ""
        theme, sentiment = theme.strip(), sentiment.strip().lower()
        if sep and sentiment not in SENTIMENTS:
            raise TrainingError(f"{where}: sentiment {sentiment!r} of {theme!r} must be one of "
                                f"{', '.join(SENTIMENTS)}", field=where)
        if not theme:
            raise TrainingError(f"{where}: empty theme name in {value!r}", field=where)
        out.append((theme, sentiment or None))
    return out


def format_labels(mentions: Sequence[tuple[str, str | None]]) -> str:
    return "|".join(f"{t}:{s}" if s else t for t, s in mentions)


def comment_sentiment(ex: Example) -> str | None:
    """One sentiment for the whole comment when its mentions agree, else None.

    A comment whose mentions disagree is left out of sentiment training rather than taught as
    "conflict": the per-mention sentiment comes from its clauses. Labels that use "conflict"
    themselves still train that class.
    """
    found = {s for _, s in ex.themes if s}
    return found.pop() if len(found) == 1 else None


def score_sentiment(classification: str | None) -> str | None:
    """The score's class as a sentiment; the middle band (passive, neutral) is "neutral", so a
    model trained on scores alone still has a neutral class."""
    if classification in POSITIVE_CLASSES:
        return "positive"
    if classification in NEGATIVE_CLASSES:
        return "negative"
    return "neutral" if classification else None


# What a training run is doing, in order (the taxonomy page names each): encoding the comments
# (with sentence embeddings only), fitting on 80 % and scoring the held-out 20 %, scoring the
# version in use on the same comments, fitting on every label.
STAGES = ("encoding", "held_out", "comparing", "final")


def train(examples: Sequence[Example], *, test_fraction: float = 0.2, seed: int = 0,
          use_chars: bool = True, embeddings: bool = False,
          compare: ThemeModel | None = None,
          progress: Callable[[str], None] | None = None) -> ThemeModel:
    """Fit on all examples; the stored evaluation comes from a held-out split.

    `embeddings`: add the optional sentence-embedding block to the theme and the comment
    sentiment features (a theme's clause is still scored on TF-IDF alone). `compare`: a model
    (the one in use) scored on the same held-out split, stored as evaluation["previous"].
    `progress`: told each stage as it starts (STAGES), for the page that follows a run."""
    step = progress or (lambda _stage: None)
    if not examples:
        raise TrainingError("no training examples")
    themes = sorted({t for ex in examples for t, _ in ex.themes})
    if not themes:
        raise TrainingError("no example carries a theme label")
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    n_test = int(len(examples) * test_fraction)
    evaluation: dict[str, object] = {"n_examples": len(examples), "n_test": n_test}
    dense = None
    if embeddings:
        from feedback.insights import embeddings as emb

        if not emb.available():
            raise TrainingError("sentence embeddings need the optional package: "
                                "pip install 'feedback[embeddings]'", field="embeddings")
        step("encoding")
        dense = emb.encode([ex.text for ex in examples])
        evaluation["embedding"] = emb.NAME  # what the taxonomy page shows beside the version
    if n_test >= 10:
        test = [examples[i] for i in order[:n_test]]
        fit_rows = order[n_test:]
        step("held_out")
        held = _fit([examples[i] for i in fit_rows], themes, use_chars, seed,
                    None if dense is None else dense[fit_rows])
        evaluation.update(evaluate(held, test))
        if compare is not None:
            step("comparing")
            before = evaluate(compare, test)
            evaluation["previous"] = {k: before[k] for k in (
                "micro_f1", "macro_f1", "sentiment_accuracy", "mention_sentiment_accuracy")
                if k in before}
    step("final")
    model = _fit(examples, themes, use_chars, seed, dense)
    model.evaluation = evaluation
    return model


def _fit(examples: Sequence[Example], themes: list[str], use_chars: bool, seed: int,
         dense: np.ndarray | None = None) -> ThemeModel:
    texts = [ex.text for ex in examples]
    vec = Vectorizer(use_chars=use_chars).fit(texts)
    feats = vec.transform(texts)
    x = feats.docs()
    if dense is not None:
        x = sp.hstack([x, sp.csr_matrix(EMBEDDING_WEIGHT * dense)], format="csr")
    index = {t: j for j, t in enumerate(themes)}
    y = np.zeros((len(examples), len(themes)), dtype=bool)
    for i, ex in enumerate(examples):
        for t, _ in ex.themes:
            y[i, index[t]] = True
    raw = _out_of_fold(x, y, seed)
    platt = np.array([_calibrate(raw[:, j], y[:, j]) for j in range(len(themes))],
                     dtype=np.float32).reshape(-1, 2)
    oof = 1.0 / (1.0 + np.exp(-np.clip(raw * platt[:, 0] + platt[:, 1], -30, 30)))
    thresholds = _thresholds(oof, y)
    # Fallback to the top theme only when it helps on out-of-fold data.
    at_least_one = _micro_f1(_choose(oof, thresholds, True), y) > \
        _micro_f1(_choose(oof, thresholds, False), y)
    weights, bias = _fit_themes(x, y)
    weights *= platt[:, 0]
    bias = bias * platt[:, 0] + platt[:, 1]
    model = ThemeModel(vectorizer=vec, themes=themes, weights=weights, bias=bias,
                       thresholds=thresholds, at_least_one=bool(at_least_one))
    block = None
    if dense is not None:
        from feedback.insights.embeddings import NAME

        model.embedding, model.embedding_weight = NAME, EMBEDDING_WEIGHT
        block = EMBEDDING_WEIGHT * dense
    _fit_sentiment(model, examples, feats, seed, block)
    return model


def _fit_themes(x: sp.csr_matrix, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Raw scores of all themes at once: ridge regression on ±1 targets (one solve per fit)."""
    ridge = Ridge(alpha=THEME_ALPHA).fit(x, y.astype(np.float32) * 2 - 1)
    return ridge.coef_.T.astype(np.float32), ridge.intercept_.astype(np.float32)


def _out_of_fold(x: sp.csr_matrix, y: np.ndarray, seed: int) -> np.ndarray:
    oof = np.zeros(y.shape, dtype=np.float32)
    folds = min(FOLDS, len(y))
    if folds < 2:
        return oof
    for fit_rows, test_rows in KFold(folds, shuffle=True, random_state=seed).split(y):
        w, b = _fit_themes(x[fit_rows], y[fit_rows])
        oof[test_rows] = x[test_rows] @ w + b
    return oof


def _calibrate(scores: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Platt scaling of one theme's raw scores: probability = sigmoid(a * score + c)."""
    if truth.sum() < 2 or truth.all():
        return 1.0, -30.0  # too few examples to trust: never predicted
    platt = LogisticRegression(C=100.0).fit(scores.reshape(-1, 1), truth)
    return float(platt.coef_[0, 0]), float(platt.intercept_[0])


def _best_threshold(scores: np.ndarray, truth: np.ndarray) -> float:
    positives = int(truth.sum())
    if positives == 0:
        return 0.5
    order = np.argsort(-scores)
    tp = np.cumsum(truth[order])
    k = np.arange(1, len(scores) + 1)
    f1 = 2 * tp / (k + positives)
    best = int(f1.argmax())
    # Midway to the next score, so the threshold does not sit on one training comment.
    nxt = scores[order[best + 1]] if best + 1 < len(scores) else 0.0
    return float(np.clip((scores[order[best]] + nxt) / 2, 0.05, 0.95))


def _thresholds(oof: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-theme thresholds shrunk towards one shared threshold.

    A theme's own F1-optimal threshold rests on its few out-of-fold positives and overfits
    them; the shared one (best micro-F1 over all themes) rests on every label. Each theme's
    threshold is their average weighted by its number of positives against THRESHOLD_PRIOR.
    """
    grid = np.linspace(0.05, 0.95, 91)
    shared = float(grid[np.argmax([_micro_f1(oof >= t, y) for t in grid])])
    own = np.array([_best_threshold(oof[:, j], y[:, j]) for j in range(y.shape[1])])
    support = y.sum(axis=0)
    return ((support * own + THRESHOLD_PRIOR * shared) / (support + THRESHOLD_PRIOR)).astype(
        np.float32)


def _choose(proba: np.ndarray, thresholds: np.ndarray, at_least_one: bool) -> np.ndarray:
    chosen = proba >= thresholds
    if at_least_one:
        empty = ~chosen.any(axis=1)
        chosen[np.flatnonzero(empty), proba[empty].argmax(axis=1)] = True
    return chosen


def _micro_f1(pred: np.ndarray, truth: np.ndarray) -> float:
    tp = float((pred & truth).sum())
    denom = float(pred.sum() + truth.sum())
    return 2 * tp / denom if denom else 0.0


def _fit_sentiment(model: ThemeModel, examples: Sequence[Example], feats: Features,
                   seed: int = 0, block: np.ndarray | None = None) -> None:
    """The sentiment part of the model, and the weight of a theme's clause against its comment
    that predicts held-out labelled mentions best (see `_clause_weight`). `block`: the weighted
    embeddings of the examples, extra features of the whole comment (NHS held-out comment
    sentiment 0.823 → 0.842 with them)."""
    fitted = _sentiment_params(model, examples, feats, block)
    if fitted is None:
        return
    model.sentiments, model.sentiment_weights, model.sentiment_bias, model.sentiment_source = \
        fitted
    if model.sentiment_source == "labels":
        model.clause_weight = _clause_weight(model, examples, feats, seed, block)


def _sentiment_params(model: ThemeModel, examples: Sequence[Example], feats: Features,
                      block: np.ndarray | None = None
                      ) -> tuple[list[str], np.ndarray, np.ndarray, str] | None:
    """Comments whose mentions agree teach their sentiment whole; a comment whose mentions
    disagree teaches it clause by clause, each clause taking the sentiment of the mentioned
    theme it scores highest for (the same pairing prediction uses)."""
    x = feats.docs()
    if block is not None:
        x = sp.hstack([x, sp.csr_matrix(block)], format="csr")
    targets = [comment_sentiment(ex) for ex in examples]
    source = "labels"
    if not any(targets):
        targets = [score_sentiment(ex.classification) for ex in examples]
        source = "scores"
    rows = [i for i, t in enumerate(targets) if t]
    parts, labels = [x[rows]], [targets[i] for i in rows]
    if source == "labels":
        clause_x, clause_y = _mixed_clauses(model, examples, feats)
        if clause_y:
            if block is not None:  # a clause has no embedding of its own: zeros
                clause_x = sp.hstack([clause_x, sp.csr_matrix((clause_x.shape[0],
                                                               block.shape[1]))], format="csr")
            parts.append(clause_x)
            labels += clause_y
    x_all = sp.vstack(parts, format="csr")
    if len(set(labels)) < 2:
        return None
    clf = LogisticRegression(C=SENTIMENT_C, max_iter=2000)
    clf.fit(x_all, labels)
    coef, intercept = clf.coef_, clf.intercept_
    if len(clf.classes_) == 2:  # binary: one column for the second class; score the first as 0
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.array([0.0, intercept[0]])
    return ([str(c) for c in clf.classes_], coef.T.astype(np.float32),
            intercept.astype(np.float32), source)


def _clause_weight(model: ThemeModel, examples: Sequence[Example], feats: Features,
                   seed: int, block: np.ndarray | None = None) -> float:
    """The clause weight with the best out-of-fold accuracy on labelled mentions.

    Whether a theme's own clause or its whole comment predicts the label depends on how the
    labels were given: per theme ("lovely staff" positive, "the wait" negative in one comment)
    or per comment (a mixed comment is neutral for every theme). The training data says which.
    """
    index = {t: j for j, t in enumerate(model.themes)}
    multi = [i for i, ex in enumerate(examples)
             if any(s for _, s in ex.themes) and feats.clause_start[i + 1] - feats.clause_start[i] > 1]
    if len(multi) < 10 or len(examples) < 2 * FOLDS:
        return model.clause_weight
    hits = np.zeros(len(CLAUSE_WEIGHTS))
    for fit_rows, test_rows in KFold(FOLDS, shuffle=True, random_state=seed).split(examples):
        fitted = _sentiment_params(model, [examples[i] for i in fit_rows], feats.subset(fit_rows),
                                   None if block is None else block[fit_rows])
        if fitted is None:
            return model.clause_weight
        classes, weights, bias, _ = fitted
        fold = ThemeModel(vectorizer=model.vectorizer, themes=model.themes,
                          weights=model.weights, bias=model.bias, thresholds=model.thresholds,
                          sentiments=classes, sentiment_weights=weights, sentiment_bias=bias,
                          embedding=model.embedding, embedding_weight=model.embedding_weight)
        chosen = np.zeros((len(test_rows), len(model.themes)), dtype=bool)
        truth: dict[tuple[int, int], str] = {}
        for r, i in enumerate(test_rows.tolist()):
            for t, s in examples[i].themes:
                if s:
                    chosen[r, index[t]] = True
                    truth[(r, index[t])] = s
        doc, clause = fold.mention_scores(feats.subset(test_rows), chosen,
                                          None if block is None else block[test_rows])
        want = np.array([truth[(int(r), int(j))] for r, j in zip(*np.nonzero(chosen), strict=True)],
                        dtype=object)
        for n, w in enumerate(CLAUSE_WEIGHTS):
            hits[n] += (fold._sentiment(blend(doc, clause, w)) == want).sum()
    log.debug("themes: out-of-fold mention hits by clause weight %s: %s", CLAUSE_WEIGHTS, hits)
    # Aspect-aware sentiment is the point of the clause: the heaviest clause weight whose
    # accuracy is within CLAUSE_TOLERANCE of the best wins (small differences are noise).
    good = np.flatnonzero(hits >= hits.max() - CLAUSE_TOLERANCE * hits.sum() / len(hits))
    return float(CLAUSE_WEIGHTS[int(good.max())])


def _mixed_clauses(model: ThemeModel, examples: Sequence[Example],
                   feats: Features) -> tuple[sp.csr_matrix, list[str]]:
    index = {t: j for j, t in enumerate(model.themes)}
    starts = feats.clause_start
    every = stack(feats.clauses())
    picked: list[int] = []
    labels: list[str] = []
    for i, ex in enumerate(examples):
        mentions = [(index[t], s) for t, s in ex.themes if s]
        lo, hi = int(starts[i]), int(starts[i + 1])
        if len({s for _, s in mentions}) < 2 or hi - lo < 2:
            continue
        about = np.asarray(every[lo:hi] @ model.weights[:every.shape[1], [j for j, _ in mentions]])
        for c in range(hi - lo):
            if about[c].max() > 0:
                picked.append(lo + c)
                labels.append(mentions[int(about[c].argmax())][1])
    return every[picked], labels


def evaluate(model: ThemeModel, test: Sequence[Example]) -> dict[str, object]:
    """Held-out precision / recall / F1 per theme, micro and macro F1, sentiment accuracy."""
    predicted = model.predict([ex.text for ex in test])
    per_theme: dict[str, dict[str, float | int]] = {}
    tp_all = fp_all = fn_all = 0
    for theme in model.themes:
        tp = fp = fn = 0
        for ex, mentions in zip(test, predicted, strict=True):
            truth = any(t == theme for t, _ in ex.themes)
            pred = any(m.theme == theme for m in mentions)
            tp += truth and pred
            fp += pred and not truth
            fn += truth and not pred
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        per_theme[theme] = {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4),
                            "support": tp + fn, "tp": tp, "fp": fp, "fn": fn}
        tp_all, fp_all, fn_all = tp_all + tp, fp_all + fp, fn_all + fn
    # Labels of themes the model does not know are misses too (a model compared with a newer
    # taxonomy must not look better for ignoring its new themes).
    known = set(model.themes)
    fn_all += sum(1 for ex in test for t in {t for t, _ in ex.themes} if t not in known)
    supported = [v["f1"] for v in per_theme.values() if v["support"]]
    micro = 2 * tp_all / (2 * tp_all + fp_all + fn_all) if tp_all else 0.0
    out: dict[str, object] = {
        "micro_f1": round(micro, 4),
        "macro_f1": round(float(np.mean(supported)), 4) if supported else 0.0,
        "themes": per_theme,
    }
    truth_sent = [comment_sentiment(ex) for ex in test]
    if model.sentiment_weights is not None and any(truth_sent):
        got = model.predict_sentiment([ex.text for ex in test])
        pairs = [(t, g) for t, g in zip(truth_sent, got, strict=True) if t]
        out["sentiment_accuracy"] = round(sum(t == g for t, g in pairs) / len(pairs), 4)
    labelled = [(ex, [(t, s) for t, s in ex.themes if s]) for ex in test]
    labelled = [(ex, ms) for ex, ms in labelled if ms]
    if model.sentiment_weights is not None and labelled:
        # Per theme: the sentiment the model gives each labelled mention (the true theme is
        # given, as in aspect-category sentiment evaluation), against its label.
        got_m = model.mention_sentiments([ex.text for ex, _ in labelled],
                                         [[t for t, _ in ms] for _, ms in labelled])
        hits = [g == s for (_, ms), gs in zip(labelled, got_m, strict=True)
                for (_, s), g in zip(ms, gs, strict=True)]
        out["mention_sentiment_accuracy"] = round(sum(hits) / len(hits), 4)
        out["n_mentions"] = len(hits)
    return out
