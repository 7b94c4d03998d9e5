import pytest

from surveys.errors import ValidationFailed
from surveys.scoring import Classification as C
from surveys.scoring import SurveyKind as K
from surveys.scoring import Thresholds, classify, validate_score


@pytest.mark.parametrize(("kind", "score", "expected"), [
    (K.NPS, 0, C.DETRACTOR), (K.NPS, 6, C.DETRACTOR), (K.NPS, 7, C.PASSIVE),
    (K.NPS, 8, C.PASSIVE), (K.NPS, 9, C.PROMOTER), (K.NPS, 10, C.PROMOTER),
    (K.CSAT, 1, C.DISSATISFIED), (K.CSAT, 2, C.DISSATISFIED), (K.CSAT, 3, C.NEUTRAL),
    (K.CSAT, 4, C.SATISFIED), (K.CSAT, 5, C.SATISFIED),
    (K.CES, 1, C.DIFFICULT), (K.CES, 3, C.DIFFICULT), (K.CES, 4, C.NEUTRAL),
    (K.CES, 5, C.EASY), (K.CES, 7, C.EASY),
])
def test_classification_boundaries(kind, score, expected):  # type: ignore[no-untyped-def]
    assert classify(kind, score) is expected


@pytest.mark.parametrize(("kind", "score"), [
    (K.NPS, -1), (K.NPS, 11), (K.CSAT, 0), (K.CSAT, 6), (K.CES, 0), (K.CES, 8),
    (K.NPS, "nine"), (K.NPS, None), (K.NPS, True), (K.NPS, 7.5),
])
def test_out_of_range_scores_are_refused_naming_the_range(kind, score):  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as err:
        validate_score(kind, score)
    assert err.value.field == "score"
    assert "from" in err.value.message


def test_numeric_strings_are_accepted():
    assert validate_score(K.NPS, " 9 ") == 9


def test_thresholds_are_configurable_and_checked():
    strict = Thresholds(nps_promoter_min=10, nps_detractor_max=7)
    assert classify(K.NPS, 9, strict) is C.PASSIVE
    assert classify(K.NPS, 7, strict) is C.DETRACTOR
    with pytest.raises(ValueError):
        Thresholds(csat_satisfied_min=3, csat_dissatisfied_max=3)
