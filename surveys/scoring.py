"""Survey kinds, their scales and how a score is classified.

The thresholds are the industry conventions (NPS promoter 9–10 / passive 7–8 / detractor 0–6,
CSAT satisfied 4–5, CES easy 5–7) but they are data, not code: a deployment may tune them and
every caller passes the `Thresholds` it was configured with.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from surveys.errors import ValidationFailed


class SurveyKind(StrEnum):
    CSAT = "csat"
    NPS = "nps"
    CES = "ces"


class Classification(StrEnum):
    PROMOTER = "promoter"
    PASSIVE = "passive"
    DETRACTOR = "detractor"
    SATISFIED = "satisfied"
    NEUTRAL = "neutral"
    DISSATISFIED = "dissatisfied"
    EASY = "easy"
    DIFFICULT = "difficult"


# The "good" and "bad" class of each kind, so reports and recovery can speak generically.
POSITIVE = {Classification.PROMOTER, Classification.SATISFIED, Classification.EASY}
NEGATIVE = {Classification.DETRACTOR, Classification.DISSATISFIED, Classification.DIFFICULT}


@dataclass(frozen=True)
class Scale:
    low: int
    high: int

    def contains(self, score: int) -> bool:
        return self.low <= score <= self.high

    @property
    def values(self) -> list[int]:
        return list(range(self.low, self.high + 1))


SCALES: dict[SurveyKind, Scale] = {
    SurveyKind.CSAT: Scale(1, 5),
    SurveyKind.NPS: Scale(0, 10),
    SurveyKind.CES: Scale(1, 7),
}


@dataclass(frozen=True)
class Thresholds:
    """Lowest score of the top band and highest score of the bottom band, per kind."""

    nps_promoter_min: int = 9
    nps_detractor_max: int = 6
    csat_satisfied_min: int = 4
    csat_dissatisfied_max: int = 2
    ces_easy_min: int = 5
    ces_difficult_max: int = 3

    def __post_init__(self) -> None:
        pairs = [
            ("nps", self.nps_detractor_max, self.nps_promoter_min),
            ("csat", self.csat_dissatisfied_max, self.csat_satisfied_min),
            ("ces", self.ces_difficult_max, self.ces_easy_min),
        ]
        for name, bottom, top in pairs:
            if bottom >= top:
                raise ValueError(f"{name}: the bottom band must end below the top band")


DEFAULT_THRESHOLDS = Thresholds()


def validate_score(kind: SurveyKind, score: object, field: str = "score") -> int:
    """Return the score as an int or raise a 422 naming the field and the allowed range."""
    scale = SCALES[SurveyKind(kind)]
    if isinstance(score, bool):
        score = None
    if isinstance(score, str) and score.strip().lstrip("-").isdigit():
        score = int(score.strip())
    if not isinstance(score, int) or not scale.contains(score):
        raise ValidationFailed(
            f"{field} must be a whole number from {scale.low} to {scale.high} for {kind.upper()}",
            field=field,
        )
    return score


def classify(kind: SurveyKind, score: int, t: Thresholds = DEFAULT_THRESHOLDS) -> Classification:
    kind = SurveyKind(kind)
    validate_score(kind, score)
    if kind is SurveyKind.NPS:
        if score >= t.nps_promoter_min:
            return Classification.PROMOTER
        return Classification.DETRACTOR if score <= t.nps_detractor_max else Classification.PASSIVE
    if kind is SurveyKind.CSAT:
        if score >= t.csat_satisfied_min:
            return Classification.SATISFIED
        if score <= t.csat_dissatisfied_max:
            return Classification.DISSATISFIED
        return Classification.NEUTRAL
    if score >= t.ces_easy_min:
        return Classification.EASY
    return Classification.DIFFICULT if score <= t.ces_difficult_max else Classification.NEUTRAL
