"""Theme discovery: clusters of unlabelled comments with readable key-phrase labels.

Comments go through the same analyser as the classifier (so Chinese is split into character
bigrams and Persian spellings are folded), then LSA (truncated SVD of the TF-IDF) to a dense
space where short comments that share no exact word can still meet. Near-duplicates (the same
content words) are folded into one point first. Without a given k, HDBSCAN (density-based)
finds the clusters and so the number of themes; with a k, weighted k-means. Given sentence
embeddings (`embed`), the space is the centred embeddings beside the LSA.

On banking77 (3,080 customer questions, 77 topics; `benchmarks/themes_bench.py --discovery`)
automatic k finds 58 topics at NMI 0.650 on TF-IDF and 55 at 0.713 with e5 embeddings beside
it. The app's own discovery (`POST /api/themes/discover`) stays on TF-IDF: it answers within
the request, and encoding thousands of comments takes minutes (the CLI has --embeddings). On
the NHS comments embeddings do not help (NMI 0.28-0.31 either way).

A label is 2–3 key phrases chosen by c-TF-IDF (how much more a phrase is used inside the
cluster than overall), preferring two-word phrases and CJK bigrams, skipping stop words and
phrases already covered by a chosen one ("wait" once "long wait" is in).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import HDBSCAN, KMeans, MiniBatchKMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import normalize as l2_normalize

from feedback.insights.features import Vectorizer
from feedback.insights.text import is_cjk, word_set
from surveys.errors import ValidationFailed

NO_TEXT = ""  # the label of a comment with no usable words
_SAMPLE = 3000
_MIN_SHARE = 0.004  # smallest proposed theme: 0.4 % of the distinct comments (and >= 3)
_MIN_DENSITY_POINTS = 30  # fewer distinct comments: k-means with the best silhouette
_DIMS = 100
_LSA_WEIGHT = 0.5  # of the LSA block beside sentence embeddings (discover(embed=...))
_PERSIAN_STOP = word_set(
    "و در به از که این آن را با برای است بود هم یک تا بر یا شد شده می من ما شما او آنها "
    "خیلی بسیار هر همه اما ولی نه هست بودم کرد کردم کنم کند دارد داشت دیگر چه چون اگر "
    "باید بعد قبل خود ها های ای هیچ نیز"
)
_CJK_STOP = frozenset("的了是我很在有也都就和吧呢啊吗么这那你他她们个一")
# Fillers of spoken-style comments ("Honestly, ...", "Yeah ...") that say nothing of a topic.
_EXTRA_STOP = word_set(
    "0 ve im dont didnt wasnt ok really just got get did does like think know doing nope yes "
    "yeah well overall honestly"
)


@dataclass
class Cluster:
    label: str
    size: int
    keywords: list[str]
    examples: list[str]


@dataclass
class Discovery:
    clusters: list[Cluster]
    assignment: np.ndarray  # cluster index per comment, -1 for a comment with no usable words
    # How k was found: comments, distinct after folding, min cluster size, noise share...
    scores: dict[str, float] = field(default_factory=dict)

    def row_labels(self) -> list[str]:
        return [self.clusters[c].label if c >= 0 else NO_TEXT for c in self.assignment.tolist()]


def discover(texts: Sequence[str], *, k: int | None = None, seed: int = 0,
             examples: int = 3,
             embed: Callable[[Sequence[str]], np.ndarray] | None = None) -> Discovery:
    """Clusters of the comments; `embed` (sentence embeddings, L2-normalised rows) replaces
    LSA as the space the folded comments are clustered in (`feedback themes discover
    --embeddings`); folding and labels stay on the words."""
    if k is not None and k < 2:
        raise ValidationFailed("k must be at least 2", field="k")
    too_few = ValidationFailed("too few comments with words to discover themes (need 4 or more)",
                               field="text")
    if sum(1 for t in texts if t and t.strip()) < 4:
        raise too_few
    vec, words, x = content_features(texts)
    usable = np.flatnonzero(x.getnnz(axis=1) > 0)
    assignment = np.full(len(texts), -1, dtype=np.int64)
    if len(usable) < 4 or x.shape[1] < 3:
        raise too_few
    # Near-duplicates ("Thank you!", "thank you", "Thanks you") share their content words and
    # are folded into one point: hundreds of identical short answers would otherwise form
    # dense knots that density clustering splits into many tiny clusters.
    key_rows = [words[i] if words[i].nnz else x[i] for i in usable.tolist()]
    fold: dict[bytes, int] = {}
    group = np.array([fold.setdefault(r.indices.tobytes(), len(fold)) for r in key_rows],
                     dtype=np.int64)
    first = np.unique(group, return_index=True)[1]
    unique_rows = usable[first]
    weight = np.bincount(group).astype(np.float32)
    dims = max(2, min(_DIMS, x.shape[1] - 1, len(unique_rows) - 1))
    dense = l2_normalize(TruncatedSVD(dims, random_state=seed).fit_transform(x[unique_rows]))
    if embed is not None:
        # Meaning and wording together: the centred sentence embeddings beside the LSA
        # (weighted LSA_WEIGHT) cluster better than either alone (banking77: NMI at the true k
        # 0.745, embeddings alone 0.726, LSA alone 0.677).
        vecs = embed([texts[i] for i in unique_rows.tolist()])
        vecs = l2_normalize(vecs - np.average(vecs, axis=0, weights=weight))
        dense = l2_normalize(np.hstack([vecs, _LSA_WEIGHT * dense]))
    dense = dense.astype(np.float32)
    scores: dict[str, float] = {"comments": float(len(usable)),
                                "distinct_after_folding": float(len(unique_rows))}
    labels_u: np.ndarray | None = None
    if k is None:
        labels_u, found = _density_clusters(dense, seed, scores)
        if labels_u is None:  # too few distinct comments for density: best silhouette
            k, _ = _choose_k(dense, seed)
        else:
            k = found
    if labels_u is None:
        assert k is not None
        k = min(k, len(unique_rows))
        # Full k-means while it is cheap (it finds small, clean splits that mini-batches miss).
        km = KMeans(k, random_state=seed, n_init=3) if len(dense) <= 20_000 else \
            MiniBatchKMeans(k, random_state=seed, n_init=3, batch_size=4096)
        labels_u = km.fit(dense, sample_weight=weight).labels_
    assert k is not None
    centres = _centres(dense, labels_u, k, weight)
    labels = labels_u[group]
    point = dense[group]  # each comment's (folded) point
    assignment[usable] = labels
    inverse = {i: t for t, i in vec.words.vocabulary.items()}
    clusters: list[Cluster] = []
    overall = np.asarray(words[usable].mean(axis=0)).ravel()
    taken: set[str] = set()
    for c in range(k):
        members = usable[labels == c]
        inside = np.asarray(words[members].mean(axis=0)).ravel() if len(members) else overall
        phrases = _key_phrases(inside, overall, inverse)
        dist = ((point[labels == c] - centres[c]) ** 2).sum(axis=1)
        # Examples: the comments nearest the centre, one per folded group (no three "thanks").
        seen: set[int] = set()
        near_list = []
        for i in np.argsort(dist, kind="stable").tolist():
            g = int(group[labels == c][i])
            if g not in seen:
                seen.add(g)
                near_list.append(int(members[i]))
            if len(near_list) == examples:
                break
        near = np.asarray(near_list, dtype=np.int64)
        label = ", ".join(phrases[:3]) or f"theme {c + 1}"
        if label in taken:  # two clusters about the same words: tell them apart
            label = ", ".join([*phrases[:2], *phrases[3:4]]) if len(phrases) > 3 \
                else f"{label} ({c + 1})"
        taken.add(label)
        clusters.append(Cluster(label, len(members), phrases, [texts[i] for i in near]))
    # Largest first, with the assignment renumbered to match.
    order = sorted(range(k), key=lambda c: -clusters[c].size)
    remap = np.empty(k + 1, dtype=np.int64)
    remap[np.asarray(order)] = np.arange(k)
    remap[k] = -1
    assignment = remap[assignment]  # -1 indexes the last slot: stays -1
    return Discovery([clusters[c] for c in order], assignment, scores)


def content_features(texts: Sequence[str]) -> tuple[Vectorizer, sp.csr_matrix, sp.csr_matrix]:
    """The vectoriser, the content-word block and all features (content words + char
    n-grams) of the texts: what discovery clusters on, and what theme suggestions compare.

    Stop words and fillers are dropped from the word block, so that comments do not group by
    how they start ("Honestly, ...") rather than what they say.
    """
    vec = Vectorizer(min_df=2, max_char_features=50_000).fit(texts)
    feats = vec.transform(texts)
    keep = np.array([not _stop(t) for t in sorted(vec.words.vocabulary,
                                                  key=vec.words.vocabulary.__getitem__)])
    words = feats.doc_blocks[0] @ sp.diags(keep.astype(np.float32))
    return vec, sp.csr_matrix(words), sp.hstack([words, *feats.doc_blocks[1:]], format="csr")


def _density_clusters(dense: np.ndarray, seed: int,
                      scores: dict[str, float]) -> tuple[np.ndarray | None, int]:
    """Clusters found by HDBSCAN on (a sample of) the folded points; k is what it finds.

    k-means with a silhouette-chosen k kept choosing the largest k tried on text (the
    silhouette rises with k in a high-dimensional sparse space), so discovery now lets density
    decide: a theme worth proposing is a dense group of at least MIN_SHARE of the distinct
    comments (and at least 3). Comments HDBSCAN calls noise join the nearest cluster centre, as
    does every comment outside the sample. None when fewer than two clusters are found.
    """
    rng = np.random.default_rng(seed)
    n = len(dense)
    if n < _MIN_DENSITY_POINTS:
        return None, 0
    rows = rng.choice(n, min(_SAMPLE, n), replace=False) if n > _SAMPLE else np.arange(n)
    sample = dense[rows]
    min_size = max(3, int(round(len(sample) * _MIN_SHARE)))
    found = HDBSCAN(min_cluster_size=min_size, min_samples=3, copy=True).fit_predict(sample)
    k = int(found.max()) + 1
    scores.update(min_cluster_size=float(min_size), sample=float(len(sample)),
                  noise_share=round(float((found < 0).mean()), 4), clusters=float(k))
    if k < 2:
        return None, 0
    centres = _centres(sample, found, k, np.ones(len(sample), dtype=np.float32))
    labels = np.asarray(dense @ centres.T).argmax(axis=1)
    labels[rows[found >= 0]] = found[found >= 0]  # sampled members keep their cluster
    present = np.unique(labels)  # a cluster can lose every member to a neighbour
    remap = np.full(k, -1, dtype=np.int64)
    remap[present] = np.arange(len(present))
    return remap[labels], len(present)


def _centres(points: np.ndarray, labels: np.ndarray, k: int, weight: np.ndarray) -> np.ndarray:
    """Weighted, re-normalised mean of each cluster's points (rows of k x dims)."""
    out = np.zeros((k, points.shape[1]), dtype=np.float32)
    ok = labels >= 0
    np.add.at(out, labels[ok], points[ok] * weight[ok, None])
    return l2_normalize(out).astype(np.float32)


def _choose_k(dense: np.ndarray, seed: int) -> tuple[int, dict[int, float]]:
    """The k with the best silhouette on a sample (k-means fitted on the sample too)."""
    rng = np.random.default_rng(seed)
    sample = dense[rng.choice(len(dense), min(_SAMPLE, len(dense)), replace=False)]
    top = max(2, min(30, len(sample) // 10))
    candidates = sorted({c for c in (4, 6, 8, 10, 12, 15, 20, 25, 30) if c <= top} or {2})
    scores: dict[int, float] = {}
    for c in candidates:
        labels = MiniBatchKMeans(c, random_state=seed, n_init=3, batch_size=4096).fit_predict(sample)
        if len(set(labels.tolist())) < 2:
            continue
        scores[c] = float(silhouette_score(sample, labels, random_state=seed))
    best = max(scores, key=scores.__getitem__) if scores else candidates[0]
    return best, scores


def _stop(term: str) -> bool:
    if term.startswith("not_") or term in ENGLISH_STOP_WORDS or term in _PERSIAN_STOP \
            or term in _EXTRA_STOP:
        return True
    if is_cjk(term):
        return len(term) < 2 or any(ch in _CJK_STOP for ch in term)
    if "'" in term:  # contractions: don't, can't, couldn't
        return True
    parts = term.split()
    if len(parts) == 2:
        return _stop(parts[0]) or _stop(parts[1])
    return len(term) < 3


def _key_phrases(inside: np.ndarray, overall: np.ndarray, inverse: dict[int, str],
                 n: int = 5) -> list[str]:
    # c-TF-IDF: frequent inside the cluster and distinctive of it.
    score = inside * np.log1p(inside / (overall + 1e-6))
    chosen: list[str] = []
    for j in np.argsort(-score)[:200].tolist():
        if score[j] <= 0:
            break
        term = inverse[j]
        if _stop(term) or any(_overlaps(term, c) for c in chosen):
            continue
        chosen.append(term)
        if len(chosen) == n:
            break
    return chosen


def _overlaps(term: str, chosen: str) -> bool:
    """Covered by a chosen phrase: "wait" by "long wait"; for CJK bigrams, a shared character
    (the bigram 递太 straddles the words 快递 and 太慢)."""
    if is_cjk(term) and is_cjk(chosen):
        return bool(set(term) & set(chosen))
    return term in chosen or chosen in term
