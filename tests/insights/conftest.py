"""Shared data for the insights tests: a small trained model on the generated comment set."""

from __future__ import annotations

import pytest

from benchmarks.data.survey_comments import generate
from feedback.insights.model import ThemeModel
from feedback.insights.training import Example, train
from tests.recovery.conftest import answer, staff  # noqa: F401 - re-exported fixtures


def examples(n: int = 1500, seed: int = 3) -> list[Example]:
    return [Example(r.text, [(t, s) for t, s in r.themes], r.classification)
            for r in generate(n, seed)]


@pytest.fixture(scope="session")
def model() -> ThemeModel:
    return train(examples())
