"""Theme discovery: clusters of unlabelled comments with readable key-phrase labels.

Comments go through the same analyser as the classifier (so Chinese is split into character
bigrams and Persian spellings are folded), then LSA (truncated SVD of the TF-IDF) to a dense
space where k-means is fast and short comments that share no exact word can still meet.
k is chosen by the silhouette on a sample when not given.

A label is 2–3 key phrases chosen by c-TF-IDF (how much more a phrase is used inside the
cluster than overall), preferring two-word phrases and CJK bigrams, skipping stop words and
phrases already covered by a chosen one ("wait" once "long wait" is in).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import MiniBatchKMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import normalize as l2_normalize

from feedback.insights.features import Vectorizer
from feedback.insights.text import is_cjk, word_set
from surveys.errors import ValidationFailed

NO_TEXT = ""  # the label of a comment with no usable words
_SAMPLE = 3000
_DIMS = 100
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
    scores: dict[int, float] = field(default_factory=dict)  # silhouette per k tried

    def row_labels(self) -> list[str]:
        return [self.clusters[c].label if c >= 0 else NO_TEXT for c in self.assignment.tolist()]


def discover(texts: Sequence[str], *, k: int | None = None, seed: int = 0,
             examples: int = 3) -> Discovery:
    if k is not None and k < 2:
        raise ValidationFailed("k must be at least 2", field="k")
    too_few = ValidationFailed("too few comments with words to discover themes (need 4 or more)",
                               field="text")
    if sum(1 for t in texts if t and t.strip()) < 4:
        raise too_few
    vec = Vectorizer(min_df=2, max_char_features=50_000).fit(texts)
    feats = vec.transform(texts)
    # Stop words and fillers are dropped from the word block before clustering too, so that
    # comments do not group by how they start ("Honestly, ...") rather than what they say.
    keep = np.array([not _stop(t) for t in sorted(vec.words.vocabulary,
                                                  key=vec.words.vocabulary.__getitem__)])
    words = feats.doc_blocks[0] @ sp.diags(keep.astype(np.float32))
    x = sp.hstack([words, *feats.doc_blocks[1:]], format="csr")
    usable = np.flatnonzero(x.getnnz(axis=1) > 0)
    assignment = np.full(len(texts), -1, dtype=np.int64)
    if len(usable) < 4 or x.shape[1] < 3:
        raise too_few
    dims = max(2, min(_DIMS, x.shape[1] - 1, len(usable) - 1))
    dense = TruncatedSVD(dims, random_state=seed).fit_transform(x[usable])
    dense = l2_normalize(dense).astype(np.float32)
    scores: dict[int, float] = {}
    if k is None:
        k, scores = _choose_k(dense, seed)
    k = min(k, len(usable))
    km = MiniBatchKMeans(k, random_state=seed, n_init=3, batch_size=4096).fit(dense)
    assignment[usable] = km.labels_
    inverse = {i: t for t, i in vec.words.vocabulary.items()}
    clusters: list[Cluster] = []
    overall = np.asarray(words[usable].mean(axis=0)).ravel()
    taken: set[str] = set()
    for c in range(k):
        members = usable[km.labels_ == c]
        inside = np.asarray(words[members].mean(axis=0)).ravel() if len(members) else overall
        phrases = _key_phrases(inside, overall, inverse)
        dist = ((dense[km.labels_ == c] - km.cluster_centers_[c]) ** 2).sum(axis=1)
        near = members[np.argsort(dist)[:examples]]
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
