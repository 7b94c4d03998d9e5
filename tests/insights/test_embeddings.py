"""The optional sentence-embedding block: trained, recorded in the file, refused without it."""

from __future__ import annotations

import numpy as np
import pytest

from feedback.insights import embeddings
from feedback.insights.model import ModelFileError, ThemeModel
from feedback.insights.training import TrainingError, train
from tests.insights.conftest import FakeE5, examples


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


def test_each_comment_is_encoded_once_while_cached(fake_e5: FakeE5) -> None:
    first = embeddings.encode(["the wait was awful", "lovely staff", "the wait was awful"])
    again = embeddings.encode(["lovely staff", "late parcel"])
    assert [texts for texts, _ in fake_e5.calls] == [["the wait was awful", "lovely staff"],
                                                    ["late parcel"]]
    assert all(is_query for _, is_query in fake_e5.calls)  # e5's prefix for features
    np.testing.assert_array_equal(first[1], again[0])
    embeddings.encode(["lovely staff"], name=embeddings.PASSAGE)  # another encoding: not cached
    assert fake_e5.calls[-1] == (["lovely staff"], False)


def test_sentiment_reads_the_embeddings_too(fake_e5: FakeE5) -> None:
    """With embeddings, the comment's sentiment is scored on TF-IDF ⊕ embeddings (a clause
    stays on TF-IDF); the file keeps both, and a reloaded model says the same."""
    trained = train(examples(400, seed=5), embeddings=True)
    n = trained.vectorizer.n_features
    assert trained.embedding == embeddings.NAME
    assert trained.sentiment_weights is not None
    assert trained.sentiment_weights.shape[0] == n + embeddings.DIM
    assert trained.sentiment_reads_embeddings
    assert np.abs(trained.sentiment_weights[n:]).sum() > 0
    again = ThemeModel.from_bytes(trained.to_bytes())
    texts = ["the staff were lovely but the delivery was late", "客服态度很差", "قیمت خیلی گران بود"]
    assert again.predict(texts) == trained.predict(texts)
    assert again.predict_sentiment(texts) == trained.predict_sentiment(texts)
    tagged = [["staff_attitude", "delivery"], ["staff_attitude"], ["price"]]
    assert again.mention_sentiments(texts, tagged) == trained.mention_sentiments(texts, tagged)
    assert trained.mention_sentiments(texts[:1], tagged[:1]) == [["positive", "negative"]]


def test_files_trained_before_keep_their_encoding(fake_e5: FakeE5, model: ThemeModel) -> None:
    """A file from before: "passage: " vectors for the themes, sentiment on TF-IDF only."""
    old = ThemeModel.from_bytes(model.to_bytes())
    old.embedding, old.embedding_weight = embeddings.PASSAGE, 3.0
    old.weights = np.vstack([model.weights, np.zeros((embeddings.DIM, len(model.themes)),
                                                     dtype=np.float32)])
    reread = ThemeModel.from_bytes(old.to_bytes())
    assert not reread.sentiment_reads_embeddings
    texts = ["the agent was rude", "delivery was fast"]
    assert reread.predict(texts) == model.predict(texts)
    assert reread.predict_sentiment(texts) == model.predict_sentiment(texts)
    assert fake_e5.calls and not any(is_query for _, is_query in fake_e5.calls)


def test_unknown_encoding_refused(fake_e5: FakeE5, model: ThemeModel) -> None:
    other = ThemeModel.from_bytes(model.to_bytes())
    other.embedding, other.embedding_weight = "someone-elses-model", 3.0
    with pytest.raises(ModelFileError, match="does not know"):
        ThemeModel.from_bytes(other.to_bytes())
