"""Discovery: readable labels, k automatic or given, Chinese and Persian comments."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from sklearn.metrics import normalized_mutual_info_score

from feedback.insights.discovery import NO_TEXT, discover
from surveys.errors import ValidationFailed

EN = ["waited an hour on hold", "on hold for an hour again", "long wait on hold today",
      "the hold music for an hour", "charged twice on my bill", "wrong amount on my bill",
      "my bill has a double charge", "bill charged twice this month"]
ZH = ["快递太慢了", "快递很慢，等了一周", "快递慢得离谱", "这次快递也太慢",
      "客服态度很差", "客服态度太差了", "客服态度差，不耐烦", "客服的态度非常差"]
FA = ["قیمت خیلی گران است", "قیمت ها گران شده", "قیمت بسیار گران", "چرا قیمت اینقدر گران",
      "ارسال خیلی دیر شد", "ارسال دیر بود", "ارسال بسته دیر رسید", "ارسال سفارش خیلی دیر"]


@pytest.mark.parametrize("texts", [EN, ZH, FA], ids=["english", "chinese", "persian"])
def test_two_clear_themes_per_language(texts: list[str]) -> None:
    found = discover(texts * 3, k=2)
    truth = ([0] * 4 + [1] * 4) * 3
    assert normalized_mutual_info_score(truth, found.assignment) == pytest.approx(1.0)
    assert sorted(c.size for c in found.clusters) == [12, 12]
    for cluster in found.clusters:
        phrases = cluster.label.split(", ")
        assert 2 <= len(phrases) <= 3 and len(set(phrases)) == len(phrases)
        assert not {"the", "on", "my", "的", "了", "است", "و"} & set(phrases)
        assert len(cluster.examples) == 3


def test_labels_name_the_topic() -> None:
    found = discover(EN * 3 + ZH * 3, k=4)
    labels = " / ".join(c.label for c in found.clusters)
    assert "hold" in labels and "charged" in labels and "快递" in labels and "态度" in labels


def test_k_chosen_automatically_and_blank_rows_kept() -> None:
    texts = EN * 10 + ["", "   "]
    found = discover(texts)
    assert 2 <= len(found.clusters) <= 30 and found.scores
    labels = found.row_labels()
    assert len(labels) == len(texts) and labels[-2:] == [NO_TEXT, NO_TEXT]


def test_bad_arguments() -> None:
    with pytest.raises(ValidationFailed, match="k must be at least 2"):
        discover(EN, k=1)
    with pytest.raises(ValidationFailed, match="too few comments"):
        discover(["a", "", "b"])


TOPICS = {
    "hold": "hold queue waited hour phone line music minutes",
    "bill": "bill invoice charged twice refund amount overcharged fee",
    "parcel": "parcel courier delivery late arrived damaged box doorstep",
    "app": "app login password crashes website screen update button",
    "staff": "rude agent manager attitude polite impatient shouted advisor",
    "price": "price expensive cheaper cost increase subscription tariff plan",
    "noise": "noisy room neighbours loud music night sleep walls",
    "food": "breakfast food cold dinner menu coffee tasty buffet",
}


def _topic_set(per_topic: int = 40, seed: int = 1) -> tuple[list[str], list[str]]:
    import random

    rng = random.Random(seed)
    texts, truth = [], []
    for name, words in TOPICS.items():
        vocab = words.split()
        for _ in range(per_topic):
            texts.append(" ".join(rng.sample(vocab, 3)) + rng.choice(["", " really", " again"]))
            truth.append(name)
    return texts, truth


def test_automatic_k_finds_the_topics_not_the_largest_k() -> None:
    texts, truth = _topic_set()
    found = discover(texts)
    assert 6 <= len(found.clusters) <= 12, found.scores  # 8 topics; not the top of a grid
    assert normalized_mutual_info_score(truth, found.assignment) > 0.8
    assert found.scores["min_cluster_size"] >= 3


def test_near_duplicates_are_folded() -> None:
    texts, _ = _topic_set()
    dupes = ["Thank you!", "thank you", "THANK YOU.", "thank   you!!"] * 25
    found = discover(texts + dupes)
    assert found.scores["distinct_after_folding"] <= len(set(texts)) + 1
    thanks = {int(c) for c in found.assignment[len(texts):]}
    assert len(thanks) == 1  # every variant of the same answer lands in one cluster
    cluster = found.clusters[thanks.pop()]
    assert len({e.casefold().strip("!. ") for e in cluster.examples}) == len(cluster.examples)


def test_embeddings_join_what_the_words_keep_apart() -> None:
    """With sentence embeddings (here a stand-in that knows each comment's meaning), comments
    that share no word but mean the same land together; labels still come from the words."""
    late = ["parcel came a week late", "courier never turned up", "delivery took forever",
            "still waiting for my package"]
    bill = ["charged twice this month", "invoice amount is wrong", "overcharged on my statement",
            "refund never reached my card"]
    meaning = {t: (1.0, 0.0) for t in late} | {t: (0.0, 1.0) for t in bill}

    def embed(texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), 8), dtype=np.float32)
        out[:, :2] = [meaning[t] for t in texts]
        out[:, 2:] = 0.05 * np.random.default_rng(len(texts)).standard_normal((len(texts), 6))
        return out

    texts = late + bill
    truth = [0] * 4 + [1] * 4
    words_only = discover(texts, k=2)
    assert normalized_mutual_info_score(truth, words_only.assignment) < 1.0
    found = discover(texts, k=2, embed=embed)
    assert normalized_mutual_info_score(truth, found.assignment) == pytest.approx(1.0)
    assert all(len(c.examples) == 3 and c.label for c in found.clusters)
