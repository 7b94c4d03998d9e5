"""Merge and split suggestions for the taxonomy, read from the tagged comments themselves.

MERGE: two themes whose comments say the same thing. Evidence: the share of the smaller theme's
comments also tagged with the other (overlap), and the cosine similarity of the two themes'
comment centroids. Centroids are taken after subtracting the mean of every compared comment,
so what two themes have in common with all comments ("the", "service", a greeting) does not
make them look alike: on the generated comment set two names for one topic score 0.85, two
different topics at most 0.13. The space is the content TF-IDF of discovery, or the sentence
embeddings when the model in use is trained with them (they see that "parcel" and "courier" are
one topic; TF-IDF does not).

SPLIT: one theme whose comments form two or more well-separated groups. Discovery's clustering
runs on the comments tagged with this theme only (a comment that is also tagged "staff" would
otherwise make a "staff" group inside every theme); its clusters are often finer than topics
(one per recurring phrase), so clusters whose centroids are alike are joined (average linkage)
into groups. A split is suggested when at least two groups each hold a real share of the
comments; the evidence is the similarity between the groups (low: well separated). TF-IDF
cannot tell that a Persian and an English comment say the same thing, so the comments of each
script are clustered separately: a theme is never "split" into its languages. When the model
in use has embeddings, splits are looked for in their space too (discovery with embeddings,
group similarity on centred embeddings), within a budget of encoded comments.

Small themes get "not enough data" rather than a guess. Nothing here writes: accepting a
suggestion is `service.merge_themes` / `service.split_theme`, which also make the moved
comments' links the training data of the next model version.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import scipy.sparse as sp
import sqlalchemy as sa
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.preprocessing import normalize as l2_normalize
from sqlmodel import Session, col, select

from feedback.insights.discovery import content_features, discover
from feedback.insights.models import ResponseTheme, Theme, ThemeSuggestionDismissal
from surveys.errors import ValidationFailed
from surveys.models import Response

MIN_COMMENTS = 20  # tagged comments a theme needs before it is compared at all
MIN_SPLIT = 40  # comments (tagged with this theme only, one script) before a split is looked for
MERGE_SIMILARITY = 0.7  # centroid similarity from which two themes are suggested as one
MERGE_OVERLAP = 0.8  # or: 80 % of the smaller theme's comments carry the other theme too
# Praise and complaints in the same words are two themes, not one: no merge by similarity when
# the two themes' tones ((positive - negative) / mentions) are this far apart and of opposite
# sign. On the NHS labels "Negative experience & dissatisfaction" and "Positive experience &
# gratitude" (tones -0.9 / +0.9, both short generic comments) were the one merge suggested.
OPPOSITE_TONE = 1.0
LINK_SIMILARITY = 0.3  # discovery clusters at least this alike are one group of a theme
SPLIT_SHARE = 0.2  # a group worth its own theme: 20 % of the theme's comments (and >= 8)
# Groups of one theme share that theme's direction away from the mean comment (similarity > 0);
# the groups of a theme that mixes two topics do not. On NHS labels (a mixture built of two
# themes' comments vs the themes as labelled) TF-IDF separates the two only roughly: see
# benchmarks/themes_bench.py --suggestions.
SPLIT_SIMILARITY = 0.0
MIN_PART = 8
PER_THEME = 2000  # newest tagged comments read per theme (bounds the worker's computation)
# Embedded per theme when the model uses embeddings: the engine encodes ~70-100 comments/s on
# two cores (and caches them), so one computation embeds at most EMBED_BUDGET comments for
# merges and SPLIT_EMBED_BUDGET for splits (a theme past it is looked at in TF-IDF).
EMBED_PER_THEME = 40
EMBED_BUDGET = 400
SPLIT_EMBED_BUDGET = 3000
# In the embedding space discovery's clusters of one topic are less alike than in TF-IDF, so
# they are joined from a lower similarity. On the NHS suggestion trials (a theme built of two
# themes' comments; benchmarks/themes_bench.py --suggestions --embeddings) the two topics are
# told apart in 4 of 8 mixtures at 0.1 (3 at 0.3 and at 0.0; TF-IDF: 2); of the NHS themes as
# labelled, the catch-alls "Not assigned" and "Positive experience & gratitude" are split.
EMBED_LINK_SIMILARITY = 0.1
SPLIT_SAMPLE = 600  # comments of a theme clustered for a split
_KEY = re.compile(r"^(merge:[1-9][0-9]{0,17}-[1-9][0-9]{0,17}|split:[1-9][0-9]{0,17})$")
_ARABIC = re.compile(r"[\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF]")
_CJK = re.compile(r"[\u3040-\u30FF\u3400-\u4DBF\u4E00-\u9FFF\uAC00-\uD7AF]")


@dataclass
class ThemeComments:
    theme_id: int
    name: str
    comments: list[tuple[int, str]]  # (response id, comment), newest first
    # How its mentions feel: counts of positive / negative / neutral (/ conflict) mentions.
    sentiments: dict[str, int] = field(default_factory=dict)

    def tone(self) -> float | None:
        """(positive - negative) / mentions with a sentiment; None under MIN_COMMENTS."""
        n = sum(self.sentiments.values())
        if n < MIN_COMMENTS:
            return None
        return (self.sentiments.get("positive", 0) - self.sentiments.get("negative", 0)) / n


@dataclass
class Merge:
    key: str
    source_id: int  # the smaller theme: merged into the larger
    source: str
    into_id: int
    into: str
    n_source: int
    n_into: int
    shared: int  # comments tagged with both
    overlap: float  # shared / the smaller theme's comments
    similarity: float


@dataclass
class Part:
    label: str
    keywords: list[str]
    size: int
    examples: list[str]
    response_ids: list[int]
    # The examples' responses: the stored suggestions keep these, not the comments' text.
    example_ids: list[int] = field(default_factory=list)


@dataclass
class Split:
    key: str
    theme_id: int
    theme: str
    n: int  # comments clustered (tagged with this theme only, one script)
    similarity: float  # the highest similarity between two of its groups (low: well separated)
    parts: list[Part]


@dataclass
class Suggestions:
    merges: list[Merge] = field(default_factory=list)
    splits: list[Split] = field(default_factory=list)
    too_small: list[tuple[str, int]] = field(default_factory=list)  # (theme, comments)
    compared: int = 0  # themes with enough comments to compare
    space: str = "tf-idf"  # or "embeddings"
    dismissed: int = 0  # suggestions hidden because a lead dismissed them


def merge_key(a: int, b: int) -> str:
    return f"merge:{min(a, b)}-{max(a, b)}"


def split_key(theme_id: int) -> str:
    return f"split:{theme_id}"


def check_key(key: str | None) -> str:
    value = (key or "").strip()
    if not _KEY.match(value):
        raise ValidationFailed("key must be a suggestion's key: merge:ID-ID or split:ID",
                               field="key")
    return value


def _script(text: str) -> str:
    if _CJK.search(text):
        return "cjk"
    return "arabic" if _ARABIC.search(text) else "other"


def _centred_centroids(rows: sp.csr_matrix | np.ndarray, groups: Sequence[np.ndarray],
                       mean: np.ndarray) -> np.ndarray:
    out = np.zeros((len(groups), rows.shape[1]), dtype=np.float64)
    for g, idx in enumerate(groups):
        out[g] = np.asarray(rows[idx].mean(axis=0)).ravel() - mean
    return l2_normalize(out)


@dataclass
class _Space:
    """Where a theme's comments are compared for a split: TF-IDF rows of every comment, or
    the embeddings of those encoded (`pos`: a comment's row among them, -1 if none)."""

    rows: sp.csr_matrix | np.ndarray
    mean: np.ndarray
    link: float = LINK_SIMILARITY
    pos: np.ndarray | None = None
    embed: Callable[[Sequence[str]], np.ndarray] | None = None

    def at(self, idx: np.ndarray) -> np.ndarray:
        return idx if self.pos is None else self.pos[idx]

    def covers(self, idx: np.ndarray) -> bool:
        return self.pos is None or bool((self.pos[idx] >= 0).all())


def _embedding_space(samples: list[np.ndarray], texts: list[str],
                     embed: Callable[[Sequence[str]], np.ndarray]) -> _Space | None:
    """The themes' split samples encoded, as many whole themes as SPLIT_EMBED_BUDGET holds."""
    wanted: list[int] = []
    for s in sorted(samples, key=len):
        if len(wanted) + len(s) > SPLIT_EMBED_BUDGET:
            break
        wanted += s.tolist()
    if len(wanted) < MIN_SPLIT:
        return None
    vectors = l2_normalize(embed([texts[i] for i in wanted]))
    pos = np.full(len(texts), -1, dtype=np.int64)
    pos[np.asarray(wanted, dtype=np.int64)] = np.arange(len(wanted))
    by_text = {texts[i]: vectors[j] for j, i in enumerate(wanted)}
    return _Space(rows=vectors, mean=vectors.mean(axis=0), link=EMBED_LINK_SIMILARITY, pos=pos,
                  embed=lambda ts: np.vstack([by_text[t] for t in ts]))


def suggest(themes: Sequence[ThemeComments],
            embed: Callable[[Sequence[str]], np.ndarray] | None = None) -> Suggestions:
    """Merge and split suggestions for the given themes (no dismissals applied here)."""
    out = Suggestions(space="embeddings" if embed is not None else "tf-idf")
    ok = [t for t in themes if len(t.comments) >= MIN_COMMENTS]
    out.too_small = [(t.name, len(t.comments)) for t in themes if len(t.comments) < MIN_COMMENTS]
    out.compared = len(ok)
    if not ok:
        return out
    # One row per distinct comment of the compared themes.
    index: dict[int, int] = {}
    texts: list[str] = []
    row_ids: list[int] = []  # the response of each row
    for t in ok:
        for rid, text in t.comments:
            if rid not in index:
                index[rid] = len(texts)
                texts.append(text)
                row_ids.append(rid)
    members = [np.fromiter((index[rid] for rid, _ in t.comments), dtype=np.int64) for t in ok]
    rows: sp.csr_matrix | None = None
    if len(texts) >= 4:
        try:
            rows = sp.csr_matrix(l2_normalize(content_features(texts)[2]))
        except ValueError:  # no term kept (every comment a stop word)
            rows = None
    if len(ok) >= 2:
        out.merges = _merges(ok, members, rows, texts, embed)
    if rows is not None:
        words = _Space(rows=rows, mean=np.asarray(rows.mean(axis=0)).ravel())
        other: dict[int, int] = {}
        for m in members:
            for i in m.tolist():
                other[i] = other.get(i, 0) + 1
        samples = [np.asarray([i for i in m.tolist() if other[i] == 1][:SPLIT_SAMPLE],
                              dtype=np.int64) for m in members]
        meaning = _embedding_space(samples, texts, embed) if embed is not None else None
        for t, only in zip(ok, samples, strict=True):
            space = meaning if meaning is not None and meaning.covers(only) else words
            split = _split(t, only, space, texts, row_ids)
            if split is not None:
                out.splits.append(split)
    return out


def _merges(ok: Sequence[ThemeComments], members: list[np.ndarray], rows: sp.csr_matrix | None,
            texts: list[str], embed: Callable[[Sequence[str]], np.ndarray] | None) -> list[Merge]:
    sim = np.full((len(ok), len(ok)), np.nan)
    # The mean of all compared comments is subtracted before the centroids are compared; with
    # only two themes that mean lies between them and would push them apart, so similarity
    # needs a third theme (overlap is judged anyway).
    if embed is not None and len(ok) >= 3:
        per_theme = max(8, min(EMBED_PER_THEME, EMBED_BUDGET // len(ok)))
        picked = [m[:per_theme] for m in members]
        wanted = np.unique(np.concatenate(picked))
        vectors = embed([texts[i] for i in wanted.tolist()])
        where = {int(i): j for j, i in enumerate(wanted.tolist())}
        groups = [np.asarray([where[int(i)] for i in p.tolist()]) for p in picked]
        cents = _centred_centroids(vectors, groups, vectors.mean(axis=0))
        sim = cents @ cents.T
    elif rows is not None and len(ok) >= 3:
        cents = _centred_centroids(rows, members, np.asarray(rows.mean(axis=0)).ravel())
        sim = cents @ cents.T
    sets = [set(m.tolist()) for m in members]
    found = []
    for a in range(len(ok)):
        for b in range(a + 1, len(ok)):
            shared = len(sets[a] & sets[b])
            overlap = shared / min(len(sets[a]), len(sets[b]))
            s = float(sim[a, b])
            if overlap < MERGE_OVERLAP and not s >= MERGE_SIMILARITY:
                continue
            tones = ok[a].tone(), ok[b].tone()
            if overlap < MERGE_OVERLAP and tones[0] is not None and tones[1] is not None \
                    and tones[0] * tones[1] < 0 and abs(tones[0] - tones[1]) >= OPPOSITE_TONE:
                continue
            small, big = (a, b) if len(sets[a]) < len(sets[b]) or (
                len(sets[a]) == len(sets[b]) and ok[a].name > ok[b].name) else (b, a)
            found.append(Merge(
                key=merge_key(ok[a].theme_id, ok[b].theme_id), source_id=ok[small].theme_id,
                source=ok[small].name, into_id=ok[big].theme_id, into=ok[big].name,
                n_source=len(sets[small]), n_into=len(sets[big]), shared=shared,
                overlap=round(overlap, 3), similarity=round(s, 3) if s == s else float("nan")))
    found.sort(key=lambda m: (-max(m.overlap, m.similarity if m.similarity == m.similarity
                                   else 0.0), m.key))
    return found


def _split(theme: ThemeComments, only: np.ndarray, space: _Space,
           texts: list[str], row_ids: list[int]) -> Split | None:
    by_script: dict[str, list[int]] = {}
    for i in only.tolist():
        by_script.setdefault(_script(texts[i]), []).append(i)
    best: Split | None = None
    for _, part in sorted(by_script.items(), key=lambda kv: -len(kv[1])):
        if len(part) < MIN_SPLIT:
            continue
        split = _split_one(theme, np.asarray(part, dtype=np.int64), space, texts, row_ids)
        if split is not None and (best is None or split.similarity < best.similarity):
            best = split
    return best


def _split_one(theme: ThemeComments, idx: np.ndarray, space: _Space,
               texts: list[str], row_ids: list[int]) -> Split | None:
    sub = [texts[i] for i in idx.tolist()]
    try:
        found = discover(sub, seed=0, examples=3, embed=space.embed)
    except ValidationFailed:  # too few comments with words
        return None
    clusters = [np.flatnonzero(found.assignment == c) for c in range(len(found.clusters))]
    keep = [c for c, m in enumerate(clusters) if len(m)]
    if len(keep) < 2:
        return None
    cents = _centred_centroids(space.rows, [space.at(idx[clusters[c]]) for c in keep],
                               space.mean)
    # Average linkage on cosine distance: clusters joined while on average this alike.
    tree = linkage(cents, method="average", metric="cosine")
    group_of = fcluster(tree, t=1.0 - space.link, criterion="distance")
    groups: dict[int, list[int]] = {}
    for c, g in zip(keep, group_of.tolist(), strict=True):
        groups.setdefault(int(g), []).append(c)
    need = max(MIN_PART, int(np.ceil(SPLIT_SHARE * len(idx))))
    big = [cs for cs in groups.values() if sum(len(clusters[c]) for c in cs) >= need]
    if len(big) < 2:
        return None
    big.sort(key=lambda cs: -sum(len(clusters[c]) for c in cs))
    group_rows = [np.concatenate([idx[clusters[c]] for c in cs]) for cs in big]
    gc = _centred_centroids(space.rows, [space.at(g) for g in group_rows], space.mean)
    between = gc @ gc.T
    similarity = float(between[np.triu_indices(len(big), 1)].max())
    if similarity > SPLIT_SIMILARITY:
        return None
    parts = []
    for cs, grows in zip(big, group_rows, strict=True):
        cs = sorted(cs, key=lambda c: -len(clusters[c]))
        keywords = list(dict.fromkeys(k for c in cs for k in found.clusters[c].keywords))
        examples = [e for c in cs for e in found.clusters[c].examples][:3]
        by_text = {texts[i]: row_ids[i] for i in grows.tolist()[::-1]}  # the first one wins
        parts.append(Part(label=", ".join(keywords[:3]) or found.clusters[cs[0]].label,
                          keywords=keywords[:5], size=len(grows), examples=examples,
                          response_ids=sorted(row_ids[i] for i in grows.tolist()),
                          example_ids=[by_text[e] for e in examples if e in by_text]))
    return Split(key=split_key(theme.theme_id), theme_id=theme.theme_id, theme=theme.name,
                 n=len(idx), similarity=round(similarity, 3), parts=parts)



# --- from the database ----------------------------------------------------------------------


def theme_comments(session: Session, per_theme: int = PER_THEME) -> list[ThemeComments]:
    """Every theme with its newest tagged comments (at most `per_theme`)."""
    out = []
    for theme in session.exec(select(Theme).order_by(col(Theme.name))):
        stmt = (select(Response.id, Response.comment)
                .join(ResponseTheme, col(ResponseTheme.response_id) == Response.id)
                .where(ResponseTheme.theme_id == theme.id, col(Response.comment).is_not(None))
                .order_by(col(Response.id).desc()).limit(per_theme))
        comments = [(int(rid or 0), text) for rid, text in session.exec(stmt)
                    if text and text.strip()]
        tone = session.exec(select(ResponseTheme.sentiment, sa.func.count())
                            .where(ResponseTheme.theme_id == theme.id,
                                   col(ResponseTheme.sentiment).is_not(None))
                            .group_by(col(ResponseTheme.sentiment)))
        out.append(ThemeComments(int(theme.id or 0), theme.name, comments,
                                 {str(s): int(n) for s, n in tone}))
    return out


def dismiss(session: Session, key: str, *, by: str, now: datetime) -> str:
    """Hide a suggestion for good; dismissing twice (two leads at once) is one dismissal."""
    key = check_key(key)
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    table = ThemeSuggestionDismissal.__table__  # type: ignore[attr-defined]
    session.execute(insert(table).values(key=key, dismissed_by=by[:320], dismissed_at=now)
                    .on_conflict_do_nothing(index_elements=["key"]))
    return key
