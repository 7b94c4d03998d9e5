"""The theme model: multi-label theme detection plus per-mention sentiment.

Themes: one logistic regression per theme over the word + char TF-IDF of `features.py`.
Each theme gets its own decision threshold, tuned on out-of-fold probabilities (a rare theme
needs a lower bar than "staff attitude"), and the same out-of-fold pass decides whether a
comment that clears no threshold should still get its most likely theme (right when every
training comment carries a label, wrong when "none" is common). Held-out figures per theme come
from a separate test split, so a lead sees how far to trust each theme.

Sentiment: one multinomial logistic regression over the same features, trained on the
labelled sentiments, or — without any — on the survey score itself (promoter / satisfied / easy
→ positive, detractor / dissatisfied / difficult → negative). A theme mentioned in a comment of
several clauses gets the sentiment of the clause that speaks most about it ("staff lovely but
the wait was awful"), weighed against the whole comment's: scores = comment + w × clause. The
weight w is chosen on out-of-fold training data, so labels given per theme (where the clause
decides) teach a large w and labels given per comment (a mixed comment is "neutral" for all its
themes, as in the NHS set) a small one.

The file holds only JSON and numpy arrays (`np.load(allow_pickle=False)`), so loading a model
never runs code and does not depend on the scikit-learn version.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from feedback.insights.features import Block, Features, Vectorizer, block_dot
from surveys.errors import DomainError

FORMAT = "feedback-theme-model"
FORMAT_VERSION = 2  # 1 was a pickled scikit-learn pipeline; never loaded again
SENTIMENTS = ("positive", "negative", "neutral", "conflict")
POSITIVE_CLASSES = frozenset({"promoter", "satisfied", "easy"})
NEGATIVE_CLASSES = frozenset({"detractor", "dissatisfied", "difficult"})
CLAUSE_ONLY = -1.0  # the weight meaning "the clause alone decides" (files before the weight)


class ModelFileError(DomainError):
    status_code = 422
    code = "model_file"


class TrainingError(DomainError):
    status_code = 422
    code = "training_data"


@dataclass(frozen=True)
class Mention:
    theme: str
    confidence: float
    sentiment: str | None


@dataclass
class ThemeModel:
    vectorizer: Vectorizer
    themes: list[str]
    weights: np.ndarray  # n_features x n_themes
    bias: np.ndarray
    thresholds: np.ndarray
    at_least_one: bool = False
    sentiments: list[str] = field(default_factory=list)
    sentiment_weights: np.ndarray | None = None  # n_features x n_sentiments
    sentiment_bias: np.ndarray | None = None
    sentiment_source: str | None = None  # "labels" | "scores" | None
    clause_weight: float = CLAUSE_ONLY  # w in comment + w × clause; CLAUSE_ONLY: clause alone
    # Optional sentence embeddings (see embeddings.py): their name, and the weight of that block
    # against the TF-IDF; its rows follow the TF-IDF rows of `weights`. None: TF-IDF only.
    embedding: str | None = None
    embedding_weight: float = 0.0
    evaluation: dict[str, Any] = field(default_factory=dict)

    # --- prediction ---------------------------------------------------------------------------

    def embed(self, texts: Sequence[str]) -> np.ndarray | None:
        """The weighted embedding block of the texts (None for a TF-IDF-only model): encoded
        once per call and shared by the theme and the sentiment scores."""
        if self.embedding is None:
            return None
        from feedback.insights.embeddings import encode

        return self.embedding_weight * encode(texts, name=self.embedding)

    def theme_probabilities(self, feats: Features, dense: np.ndarray | None = None
                            ) -> np.ndarray:
        """Per theme; `dense` is `embed(texts)`, needed only by a model with embeddings."""
        scores = feats.dot(self.weights) + self.bias
        if dense is not None:
            scores += dense @ self.weights[self.vectorizer.n_features:]
        return _sigmoid(scores)

    def predict(self, texts: Sequence[str]) -> list[list[Mention]]:
        feats = self.vectorizer.transform(texts)
        dense = self.embed(texts)
        proba = self.theme_probabilities(feats, dense)
        chosen = proba >= self.thresholds
        if self.at_least_one and len(self.themes):
            # Only texts with words the model knows get a fallback theme: "ok" or "" stay none.
            known = np.asarray(feats.doc_blocks[0].getnnz(axis=1) > 0)
            empty = ~chosen.any(axis=1) & known
            chosen[np.flatnonzero(empty), proba[empty].argmax(axis=1)] = True
        sentiments = self._mention_sentiments(feats, chosen, dense)
        rows, cols = np.nonzero(chosen)
        out: list[list[Mention]] = [[] for _ in texts]
        for i, j, s in zip(rows.tolist(), cols.tolist(), sentiments, strict=True):
            out[i].append(Mention(self.themes[j], round(float(proba[i, j]), 4), s))
        return out

    def mention_sentiments(self, texts: Sequence[str],
                           themes: Sequence[Sequence[str]]) -> list[list[str | None]]:
        """The sentiment of given themes in each text (aspect-aware: the clause about the theme
        decides), e.g. for themes a person tagged; unknown theme names get None."""
        feats = self.vectorizer.transform(texts)
        index = {t: j for j, t in enumerate(self.themes)}
        chosen = np.zeros((len(texts), len(self.themes)), dtype=bool)
        for i, names in enumerate(themes):
            for name in names:
                if name in index:
                    chosen[i, index[name]] = True
        dense = self.embed(texts) if self.sentiment_reads_embeddings and chosen.any() else None
        found = iter(self._mention_sentiments(feats, chosen, dense))
        by_cell = {(int(i), int(j)): next(found) for i, j in zip(*np.nonzero(chosen), strict=True)}
        return [[by_cell.get((i, index.get(n, -1))) for n in names]
                for i, names in enumerate(themes)]

    def predict_sentiment(self, texts: Sequence[str]) -> list[str | None]:
        """Comment-level sentiment (None when the model has no sentiment part)."""
        if self.sentiment_weights is None:
            return [None] * len(texts)
        feats = self.vectorizer.transform(texts)
        dense = self.embed(texts) if self.sentiment_reads_embeddings else None
        return [str(s) for s in self._sentiment(self._doc_sentiment(feats, dense))]

    @property
    def sentiment_reads_embeddings(self) -> bool:
        """Sentiment trained on TF-IDF ⊕ embeddings (files before it have TF-IDF rows only)."""
        return (self.embedding is not None and self.sentiment_weights is not None
                and self.sentiment_weights.shape[0] > self.vectorizer.n_features)

    def _doc_sentiment(self, feats: Features, dense: np.ndarray | None) -> np.ndarray:
        """Whole-comment sentiment scores (before the bias)."""
        assert self.sentiment_weights is not None
        scores = feats.dot(self.sentiment_weights)
        if dense is not None and self.sentiment_reads_embeddings:
            scores = scores + dense @ self.sentiment_weights[self.vectorizer.n_features:]
        return scores

    def _sentiment(self, scores: np.ndarray) -> np.ndarray:
        assert self.sentiment_bias is not None
        labels = np.asarray(self.sentiments, dtype=object)
        return labels[(scores + self.sentiment_bias).argmax(axis=1)]

    def _mention_sentiments(self, feats: Features, chosen: np.ndarray,
                            dense: np.ndarray | None = None,
                            clause_weight: float | None = None) -> list[str | None]:
        """Sentiment of each chosen (comment, theme), in np.nonzero order."""
        if self.sentiment_weights is None:
            return [None] * int(chosen.sum())
        doc, clause = self.mention_scores(feats, chosen, dense)
        w = self.clause_weight if clause_weight is None else clause_weight
        return [str(s) for s in self._sentiment(blend(doc, clause, w))]

    def mention_scores(self, feats: Features, chosen: np.ndarray,
                       dense: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Sentiment scores (before the bias) of each chosen (comment, theme), in np.nonzero
        order: the comment's, and the clause's that scores highest for the theme (NaN rows for
        a one-clause comment: nothing to weigh). All clauses of the batch are scored in two
        matrix products, not comment by comment. Embeddings (`dense`) inform the comment's
        score only: a clause is not encoded on its own (the engine is the slow part).
        """
        assert self.sentiment_weights is not None
        n = self.vectorizer.n_features
        rows, cols = np.nonzero(chosen)
        doc = self._doc_sentiment(feats, dense)[rows]
        clause = np.full_like(doc, np.nan)
        starts = feats.clause_start
        n_clauses = np.diff(starts)
        multi = np.flatnonzero(n_clauses[rows] > 1)
        if len(multi):
            wanted = np.unique(rows[multi])
            clause_rows = np.concatenate([np.arange(starts[i], starts[i + 1]) for i in wanted])
            parts = feats.clauses(clause_rows)
            offset = np.zeros(len(starts), dtype=np.int64)
            offset[wanted] = np.cumsum(np.r_[0, n_clauses[wanted][:-1]])
            about = block_dot(parts, self.weights[:n])
            sent = block_dot(parts, self.sentiment_weights[:n])
            for k in multi.tolist():
                i, j = int(rows[k]), int(cols[k])
                lo = int(offset[i])
                clause[k] = sent[lo + int(about[lo:lo + int(n_clauses[i]), j].argmax())]
        return doc, clause

    # --- persistence ----------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        v = self.vectorizer
        meta = {
            "format": FORMAT, "format_version": FORMAT_VERSION,
            "features": {"use_chars": v.use_chars, "min_df": v.min_df,
                         "char_weight": v.chars.weight, "word_weight": v.words.weight,
                         "max_word_features": v.max_word_features,
                         "max_char_features": v.max_char_features},
            "themes": self.themes, "at_least_one": self.at_least_one,
            "sentiments": self.sentiments, "sentiment_source": self.sentiment_source,
            "clause_weight": self.clause_weight, "embedding": self.embedding,
            "embedding_weight": self.embedding_weight, "evaluation": self.evaluation,
        }
        arrays: dict[str, np.ndarray] = {
            "meta": np.array(json.dumps(meta)),
            "word_terms": _terms(v.words), "word_idf": v.words.idf,
            "char_terms": _terms(v.chars), "char_idf": v.chars.idf,
            "weights": self.weights, "bias": self.bias, "thresholds": self.thresholds,
        }
        if self.sentiment_weights is not None and self.sentiment_bias is not None:
            arrays["sentiment_weights"] = self.sentiment_weights
            arrays["sentiment_bias"] = self.sentiment_bias
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)  # type: ignore[arg-type]
        return buf.getvalue()

    def save(self, path: str | Path) -> None:
        try:
            Path(path).write_bytes(self.to_bytes())
        except OSError as exc:
            raise ModelFileError(f"cannot write model file {path}: {exc.strerror}") from None

    @classmethod
    def from_bytes(cls, data: bytes, *, name: str = "model") -> ThemeModel:
        try:
            npz = np.load(io.BytesIO(data), allow_pickle=False)
            meta = json.loads(str(npz["meta"]))
        except (zipfile.BadZipFile, ValueError, KeyError, OSError, EOFError) as exc:
            raise ModelFileError(f"{name} is not a theme model file ({exc.__class__.__name__}); "
                                 "train one with `feedback themes train`") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ModelFileError(f"{name} is not a theme model file; "
                                 "train one with `feedback themes train`")
        version = meta.get("format_version")
        if version != FORMAT_VERSION:
            raise ModelFileError(
                f"{name} is a theme model of format version {version}, this program reads "
                f"version {FORMAT_VERSION}; retrain it with `feedback themes train`")
        if meta.get("embedding"):
            from feedback.insights.embeddings import NAMES, available

            if meta["embedding"] not in NAMES:
                raise ModelFileError(
                    f"{name} uses sentence embeddings this program does not know "
                    f"({meta['embedding']}); retrain it with `feedback themes train`")
            if not available():
                raise ModelFileError(
                    f"{name} uses sentence embeddings ({meta['embedding']}), which this "
                    "installation lacks: pip install 'feedback[embeddings]', or retrain "
                    "without --embeddings")
        try:
            return cls._from_arrays(npz, meta)
        except (KeyError, ValueError, TypeError) as exc:
            raise ModelFileError(f"{name} is damaged ({exc}); "
                                 "retrain it with `feedback themes train`") from None

    @classmethod
    def _from_arrays(cls, npz: Any, meta: dict[str, Any]) -> ThemeModel:
        conf = meta["features"]
        vec = Vectorizer(use_chars=conf["use_chars"], min_df=conf["min_df"],
                         max_word_features=conf["max_word_features"],
                         max_char_features=conf["max_char_features"])
        vec.words = _block(npz["word_terms"], npz["word_idf"], conf["word_weight"])
        vec.chars = _block(npz["char_terms"], npz["char_idf"], conf["char_weight"])
        has_sent = "sentiment_weights" in npz.files
        return cls(
            vectorizer=vec, themes=list(meta["themes"]), weights=npz["weights"],
            bias=npz["bias"], thresholds=npz["thresholds"], at_least_one=meta["at_least_one"],
            sentiments=list(meta["sentiments"]),
            sentiment_weights=npz["sentiment_weights"] if has_sent else None,
            sentiment_bias=npz["sentiment_bias"] if has_sent else None,
            sentiment_source=meta["sentiment_source"],
            clause_weight=float(meta.get("clause_weight", CLAUSE_ONLY)),
            embedding=meta.get("embedding"),
            embedding_weight=float(meta.get("embedding_weight", 0.0)),
            evaluation=meta["evaluation"])

    @classmethod
    def load(cls, path: str | Path) -> ThemeModel:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise ModelFileError(f"cannot read model file {path}: {exc.strerror}") from None
        return cls.from_bytes(data, name=f"model file {path}")


def _terms(block: Block) -> np.ndarray:
    terms = sorted(block.vocabulary, key=block.vocabulary.__getitem__)
    return np.array(terms, dtype=str) if terms else np.zeros(0, dtype="<U1")


def _block(terms: np.ndarray, idf: np.ndarray, weight: float) -> Block:
    return Block(vocabulary={str(t): i for i, t in enumerate(terms.tolist())},
                 idf=idf.astype(np.float32), weight=weight)


def blend(doc: np.ndarray, clause: np.ndarray, weight: float) -> np.ndarray:
    """comment + weight × clause where a clause was scored (CLAUSE_ONLY: the clause alone)."""
    has = ~np.isnan(clause[:, 0]) if len(clause) else np.zeros(0, dtype=bool)
    out = doc.copy()
    if weight == CLAUSE_ONLY:
        out[has] = clause[has]
    else:
        out[has] += weight * clause[has]
    return out


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))
