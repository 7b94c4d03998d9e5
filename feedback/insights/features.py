"""TF-IDF features over words and character n-grams, stored as plain arrays.

A small vectoriser of our own instead of scikit-learn's, for three reasons:
- the model file then holds only dicts and numpy arrays, so it loads under any future
  scikit-learn version (pickled sklearn estimators are only guaranteed within one version);
- one analyser pass per comment yields both feature blocks, and the two blocks are
  L2-normalised separately and then weighted, so thousands of char n-grams cannot drown the
  handful of word features of a short comment;
- comments are analysed clause by clause once, and the comment vector is the sum of its
  clause counts: per-theme sentiment needs the clause vectors anyway, so classification pays
  for a single analysis.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize as l2_normalize

from feedback.insights.text import (
    char_features,
    clause_tokens,
    is_cjk,
    is_negator,
    normalize,
    token_char_ngrams,
    word_features,
)


@dataclass
class Block:
    """Vocabulary and idf of one feature block (words or char n-grams)."""

    vocabulary: dict[str, int] = field(default_factory=dict)
    idf: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    weight: float = 1.0

    @property
    def size(self) -> int:
        return len(self.vocabulary)

    def fit(self, docs: Sequence[list[str]], min_df: int, max_features: int | None) -> None:
        df: Counter[str] = Counter()
        for feats in docs:
            df.update(set(feats))
        kept = [(t, c) for t, c in df.items() if c >= min_df]
        # Most frequent first; ties by term so that training is deterministic.
        kept.sort(key=lambda tc: (-tc[1], tc[0]))
        if max_features is not None:
            kept = kept[:max_features]
        kept.sort()
        n = len(docs)
        self.vocabulary = {t: i for i, (t, _) in enumerate(kept)}
        # Smooth idf as in scikit-learn: log((1 + n) / (1 + df)) + 1.
        self.idf = np.array(
            [math.log((1 + n) / (1 + c)) + 1.0 for _, c in kept], dtype=np.float32
        )

    def tfidf(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        x = counts.astype(np.float32, copy=True)
        # Sublinear tf: a word repeated in a rant should not outweigh the rest of the comment.
        np.log(x.data, out=x.data)
        x.data += 1.0
        x.data *= self.idf[x.indices]
        if x.shape[1]:  # an all-Chinese corpus has no char n-gram block at all
            l2_normalize(x, copy=False)
        if self.weight != 1.0:
            x.data *= self.weight
        return x


@dataclass
class Features:
    """TF-IDF of comments, kept as one matrix per block, plus clause counts for later.

    Blocks are not stacked: a linear model scores `sum(block @ W[block rows])`, which skips a
    copy of the largest matrix on the prediction path. Clause TF-IDF is computed only for the
    clauses per-theme sentiment actually looks at.
    """

    blocks: list[Block]
    doc_blocks: list[sp.csr_matrix]
    clause_counts: list[sp.csr_matrix]
    clause_start: np.ndarray  # first clause row of each comment, n_docs + 1 entries

    @property
    def n_docs(self) -> int:
        return len(self.clause_start) - 1

    def docs(self) -> sp.csr_matrix:
        return sp.hstack(self.doc_blocks, format="csr", dtype=np.float32)

    def dot(self, weights: np.ndarray) -> np.ndarray:
        """Comment matrix times dense weights (n_features x k) without stacking the blocks."""
        return block_dot(self.doc_blocks, weights)

    def subset(self, docs: np.ndarray) -> Features:
        """The features of the given comments only (their clauses come along)."""
        starts = self.clause_start
        n_clauses = np.diff(starts)[docs]
        rows = np.concatenate([np.arange(starts[i], starts[i + 1]) for i in docs.tolist()]
                              or [np.zeros(0, dtype=np.int64)])
        return Features(blocks=self.blocks, doc_blocks=[b[docs] for b in self.doc_blocks],
                        clause_counts=[c[rows] for c in self.clause_counts],
                        clause_start=np.r_[0, np.cumsum(n_clauses)].astype(np.int64))

    def clauses(self, rows: np.ndarray | None = None) -> list[sp.csr_matrix]:
        """TF-IDF blocks of the given clause rows (all when None)."""
        out = []
        for block, counts in zip(self.blocks, self.clause_counts, strict=True):
            out.append(block.tfidf(counts if rows is None else counts[rows]))
        return out


def block_dot(parts: list[sp.csr_matrix], weights: np.ndarray) -> np.ndarray:
    out: np.ndarray | None = None
    offset = 0
    for part in parts:
        width = part.shape[1]
        term = part @ weights[offset : offset + width]
        out = term if out is None else out + term
        offset += width
    assert out is not None
    return np.asarray(out)


def stack(parts: list[sp.csr_matrix]) -> sp.csr_matrix:
    return sp.hstack(parts, format="csr", dtype=np.float32)


_NEG_WINDOW = 3
_CACHE_LIMIT = 500_000


@dataclass
class Vectorizer:
    """Words (1–2-grams, CJK char 1–2-grams, negation marks) + char 3–5-grams, TF-IDF."""

    words: Block = field(default_factory=Block)
    chars: Block = field(default_factory=lambda: Block(weight=0.8))
    use_chars: bool = True
    min_df: int = 2
    max_word_features: int | None = 200_000
    max_char_features: int | None = 200_000
    # token -> (word column or -1, char columns, is a negator); rebuilt lazily, never saved.
    _cache: dict[str, tuple[int, list[int], bool]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        state["_cache"] = {}
        return state

    @property
    def n_features(self) -> int:
        return self.words.size + (self.chars.size if self.use_chars else 0)

    def fit(self, texts: Sequence[str]) -> Vectorizer:
        # Training goes through the readable string path (text.word_features/char_features);
        # `_encode` is its fast twin for prediction and a test keeps the two identical.
        doc_words: list[list[str]] = []
        doc_chars: list[list[str]] = []
        for text in texts:
            w: list[str] = []
            c: list[str] = []
            for toks in clause_tokens(normalize(text or "")):
                w.extend(word_features(toks))
                if self.use_chars:
                    c.extend(char_features(toks))
            doc_words.append(w)
            doc_chars.append(c)
        self.words.fit(doc_words, self.min_df, self.max_word_features)
        if self.use_chars:
            self.chars.fit(doc_chars, self.min_df, self.max_char_features)
        self._cache = {}
        return self

    def _token(self, tok: str) -> tuple[int, list[int], bool]:
        cget = self.chars.vocabulary.get
        char_cols = (
            [j for j in map(cget, token_char_ngrams(tok)) if j is not None]
            if self.use_chars else []
        )
        entry = (self.words.vocabulary.get(tok, -1), char_cols, is_negator(tok))
        if len(self._cache) > _CACHE_LIMIT:
            self._cache.clear()
        self._cache[tok] = entry
        return entry

    def _encode(self, texts: Sequence[str]) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
        """Clause-level word and char count matrices and the first clause of each comment."""
        wget = self.words.vocabulary.get
        cache_get = self._cache.get
        w_idx: list[int] = []
        c_idx: list[int] = []
        w_ptr = [0]
        c_ptr = [0]
        starts = [0]
        n_clauses = 0
        for text in texts:
            for toks in clause_tokens(normalize(text or "")):
                prev: str | None = None
                neg_left = 0
                for tok in toks:
                    entry = cache_get(tok)
                    if entry is None:
                        if is_cjk(tok):
                            grams = list(tok) + [tok[i : i + 2] for i in range(len(tok) - 1)]
                            w_idx.extend([j for j in map(wget, grams) if j is not None])
                            prev = None
                            continue
                        entry = self._token(tok)
                    col, char_cols, negator = entry
                    if col >= 0:
                        w_idx.append(col)
                    if prev is not None:
                        j = wget(prev + " " + tok)
                        if j is not None:
                            w_idx.append(j)
                    prev = tok
                    if neg_left:
                        j = wget("not_" + tok)
                        if j is not None:
                            w_idx.append(j)
                        neg_left -= 1
                    if negator:
                        neg_left = _NEG_WINDOW
                    c_idx.extend(char_cols)
                w_ptr.append(len(w_idx))
                c_ptr.append(len(c_idx))
                n_clauses += 1
            starts.append(n_clauses)
        words = _csr(w_idx, w_ptr, (n_clauses, self.words.size))
        chars = _csr(c_idx, c_ptr, (n_clauses, self.chars.size))
        return words, chars, np.asarray(starts, dtype=np.int64)

    def transform(self, texts: Sequence[str]) -> Features:
        words, chars, starts = self._encode(texts)
        n_clauses = words.shape[0]
        counts = [words, chars] if self.use_chars else [words]
        blocks = [self.words, self.chars] if self.use_chars else [self.words]
        if n_clauses == len(texts):
            doc_counts = counts  # one clause per comment: nothing to sum
        else:
            # Summing clause counts into comment counts is one sparse product.
            to_doc = sp.csr_matrix(
                (np.ones(n_clauses, dtype=np.float32), np.arange(n_clauses), starts),
                shape=(len(texts), n_clauses),
            )
            doc_counts = [sp.csr_matrix(to_doc @ c) for c in counts]
        return Features(
            blocks=blocks,
            doc_blocks=[b.tfidf(c) for b, c in zip(blocks, doc_counts, strict=True)],
            clause_counts=counts,
            clause_start=starts,
        )


def _csr(indices: list[int], indptr: list[int], shape: tuple[int, int]) -> sp.csr_matrix:
    x = sp.csr_matrix(
        (np.ones(len(indices), dtype=np.float32), np.asarray(indices, dtype=np.int32),
         np.asarray(indptr, dtype=np.int64)),
        shape=shape,
    )
    x.sum_duplicates()
    return x
