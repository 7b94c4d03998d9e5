"""The theme model: multi-label, none, per-mention sentiment, languages, the file format."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from feedback.insights.model import CLAUSE_ONLY, ModelFileError, ThemeModel
from feedback.insights.training import Example, TrainingError, parse_labels, train
from tests.insights.conftest import examples


def themes(model: ThemeModel, text: str) -> dict[str, str | None]:
    return {m.theme: m.sentiment for m in model.predict([text])[0]}


def test_multi_label_with_sentiment_per_mention(model: ThemeModel) -> None:
    got = themes(model, "The agent was friendly and patient but I waited over an hour on hold")
    assert got == {"staff_attitude": "positive", "wait_time": "negative"}
    got = themes(model, "Charged twice this month and the app keeps logging me out")
    assert set(got) == {"billing", "website_app"}


def test_none_of_the_above(model: ThemeModel) -> None:
    assert model.predict(["n/a", "", "nothing to add"]) == [[], [], []]


def test_confidence_and_held_out_figures(model: ThemeModel) -> None:
    mention = model.predict(["the room was dirty"])[0][0]
    assert mention.theme == "cleanliness" and 0.5 < mention.confidence <= 1.0
    ev = model.evaluation
    assert ev["micro_f1"] > 0.8 and ev["sentiment_accuracy"] > 0.7
    assert set(ev["themes"]["billing"]) == {"precision", "recall", "f1", "support", "tp", "fp", "fn"}


def test_chinese_and_persian(model: ThemeModel) -> None:
    assert themes(model, "客服态度很差，等了一个多小时") == {"staff_attitude": "negative",
                                                    "wait_time": "negative"}
    assert themes(model, "قیمت خیلی گران است") == {"price": "negative"}
    # Arabic kaf/yeh and no ZWNJ: folded to the same words.
    assert themes(model, "كارمند خیلی مودب و صبور بود") == {"staff_attitude": "positive"}


def test_sentiment_bootstrapped_from_scores() -> None:
    data = [Example(ex.text, [(t, None) for t, _ in ex.themes], ex.classification)
            for ex in examples(500, seed=5)]
    model = train(data)
    # The middle band (passives) teaches "neutral": a score-trained model shows neutral too.
    assert model.sentiment_source == "scores"
    assert model.sentiments == ["negative", "neutral", "positive"]
    assert model.predict_sentiment(["really polite and kind team, great deal"]) == ["positive"]
    assert model.predict_sentiment(["the agent was rude and they overcharged me"]) == ["negative"]


def test_no_sentiment_part_without_labels_or_scores() -> None:
    data = [Example(ex.text, [(t, None) for t, _ in ex.themes]) for ex in examples(300)]
    model = train(data)
    assert model.sentiment_weights is None
    assert all(m.sentiment is None for ms in model.predict(["the room was dirty"]) for m in ms)


def test_file_round_trip(model: ThemeModel, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "m.npz"
    model.save(path)
    again = ThemeModel.load(path)
    texts = ["delivery was late but good value for money", "客服态度很好"]
    assert again.predict(texts) == model.predict(texts)
    assert again.evaluation == model.evaluation
    assert again.clause_weight == model.clause_weight


def _rewrite_meta(data: bytes, **changes: object) -> bytes:
    npz = np.load(io.BytesIO(data))
    arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(str(arrays["meta"]))
    meta.update(changes)
    arrays["meta"] = np.array(json.dumps(meta))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_older_format_version_refused(model: ThemeModel) -> None:
    old = _rewrite_meta(model.to_bytes(), format_version=1)
    with pytest.raises(ModelFileError, match="format version 1.*retrain"):
        ThemeModel.from_bytes(old)


@pytest.mark.parametrize("data", [b"", b"not a model", b"PK\x03\x04garbage"])
def test_foreign_file_refused(data: bytes) -> None:
    with pytest.raises(ModelFileError, match="not a theme model file"):
        ThemeModel.from_bytes(data)


def test_other_npz_refused(model: ThemeModel) -> None:
    with pytest.raises(ModelFileError, match="not a theme model file"):
        ThemeModel.from_bytes(_rewrite_meta(model.to_bytes(), format="something-else"))


def test_damaged_file_refused(model: ThemeModel) -> None:
    npz = np.load(io.BytesIO(model.to_bytes()))
    buf = io.BytesIO()
    np.savez(buf, **{k: npz[k] for k in npz.files if k != "weights"})
    with pytest.raises(ModelFileError, match="is damaged.*weights is not a file"):
        ThemeModel.from_bytes(buf.getvalue())


def test_unwritable_path_refused(model: ThemeModel, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ModelFileError, match="cannot write model file"):
        model.save(tmp_path / "no" / "such" / "dir" / "m.npz")


def test_missing_file_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ModelFileError, match="cannot read model file"):
        ThemeModel.load(tmp_path / "absent.npz")


def test_label_parsing() -> None:
    assert parse_labels("billing:Negative | staff |") == [("billing", "negative"),
                                                          ("staff", None)]
    assert parse_labels("") == []
    with pytest.raises(TrainingError, match="row 3.*'angry'"):
        parse_labels("billing:angry", where="row 3")
    with pytest.raises(TrainingError, match="empty theme"):
        parse_labels(":positive")


def test_training_needs_labels() -> None:
    with pytest.raises(TrainingError, match="no training examples"):
        train([])
    with pytest.raises(TrainingError, match="no example carries a theme"):
        train([Example("hello"), Example("world")])


def test_sentiment_per_theme_with_contrast_and_negation(model: ThemeModel) -> None:
    """Aspect-aware: each theme takes the sentiment of its own clause, in three languages."""
    got = model.mention_sentiments(
        ["the staff were lovely but the wait was awful",
         "waited over an hour on hold, but the agent was friendly and patient",
         "客服态度很好，但是快递太慢了",
         "کارمندان خیلی مودب بودند اما ارسال خیلی دیر بود"],
        [["staff_attitude", "wait_time"], ["wait_time", "staff_attitude"],
         ["staff_attitude", "delivery"], ["staff_attitude", "delivery"]])
    assert got[0] == ["positive", "negative"]
    assert got[1] == ["negative", "positive"]
    assert got[2] == ["positive", "negative"]
    assert got[3] == ["positive", "negative"]
    assert model.mention_sentiments(["fine"], [["no such theme"]]) == [[None]]
    ev = model.evaluation
    assert ev["mention_sentiment_accuracy"] >= 0.8 and ev["n_mentions"] > 100


def test_clause_weight_follows_how_labels_were_given(model: ThemeModel) -> None:
    """Labels given per theme teach "the clause decides"; labels given per comment (a mixed
    comment is neutral for every theme, as NHS coders label) teach "the comment decides"."""
    assert model.clause_weight == CLAUSE_ONLY or model.clause_weight >= 2.0
    per_comment = []
    for ex in examples(1200, seed=5):
        found = {s for _, s in ex.themes if s}
        whole = found.pop() if len(found) == 1 else "neutral"
        per_comment.append(Example(ex.text, [(t, whole) for t, _ in ex.themes]))
    coarse = train(per_comment)
    assert 0.0 <= coarse.clause_weight <= 1.0
    assert coarse.evaluation["mention_sentiment_accuracy"] >= 0.75
