"""The optional sentence-embedding block: trained, recorded in the file, refused without it."""

from __future__ import annotations

import pytest

from feedback.insights import embeddings
from feedback.insights.model import ModelFileError, ThemeModel
from feedback.insights.training import TrainingError, train
from tests.insights.conftest import examples


def test_training_with_embeddings_needs_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embeddings, "available", lambda: False)
    with pytest.raises(TrainingError, match=r"feedback\[embeddings\]"):
        train(examples(60), embeddings=True)


def test_file_with_embeddings_refused_without_the_extra(monkeypatch: pytest.MonkeyPatch,
                                                        model: ThemeModel) -> None:
    model.embedding, model.embedding_weight = embeddings.NAME, 3.0
    try:
        data = model.to_bytes()
    finally:
        model.embedding, model.embedding_weight = None, 0.0
    monkeypatch.setattr(embeddings, "available", lambda: False)
    with pytest.raises(ModelFileError, match=r"pip install 'feedback\[embeddings\]'"):
        ThemeModel.from_bytes(data)


def test_tf_idf_stays_the_default(model: ThemeModel) -> None:
    assert model.embedding is None
    assert model.weights.shape[0] == model.vectorizer.n_features


@pytest.mark.skipif(not embeddings.available(), reason="optional extra 'embeddings' absent")
def test_embeddings_path_in_three_languages() -> None:
    small = train(examples(300, seed=11), embeddings=True)
    assert small.embedding == embeddings.NAME
    assert small.weights.shape[0] == small.vectorizer.n_features + embeddings.DIM
    again = ThemeModel.from_bytes(small.to_bytes())
    texts = ["the room was dirty", "客服态度很差", "قیمت خیلی گران بود"]
    assert again.predict(texts) == small.predict(texts)
    assert small.evaluation["micro_f1"] > 0.7
