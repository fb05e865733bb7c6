"""The reviews contract and the review sample's design."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data_contracts.reviews import validate_reviews
from data_contracts.validation import ContractError
from training.review import _spread, macro_interval, weighted_recall, wilson
from training.synthetic import generate_citizens, generate_employers


def _reviews() -> pd.DataFrame:
    citizens, _ = generate_citizens(4, 1)
    employers, _ = generate_employers(2, 1)
    ids = list(citizens["customer_id"])
    return pd.DataFrame(
        {
            "customer_id": [ids[0], ids[1], ids[1], "198001011234", None, ids[2], ids[3]],
            "org_number": [None, None, None, None, employers["org_number"][0], None, None],
            "category": ["regular", "irregular", "regular", "regular", "small", "small", "x"],
            "reviewer": ["anna", "bo", "bo", "cia", "dan", "   ", "eva"],
            "reviewed_at": ["2026-01-01"] * 6 + ["2099-01-01"],
            "note": [None] * 7,
            "part": ["spread"] * 7,  # an extra column travels along
        }
    )


def test_reviews_are_validated_row_by_row_with_reasons() -> None:
    result = validate_reviews(_reviews())
    assert result.accepted[["population", "category"]].values.tolist() == [
        ["citizens", "regular"],
        ["employers", "small"],
    ]
    reasons = result.rejected["reason"].tolist()
    assert reasons[0] == reasons[1] == "duplicate customer_id"
    assert reasons[2] == "customer_id: bad check digit"
    assert "reviewer: not blank" in reasons[3] and "category: not a citizens category" in reasons[3]
    assert "category: " in reasons[4] and "reviewed_at: in the future" in reasons[4]
    assert "part" in result.accepted.columns


def test_a_missing_column_is_named() -> None:
    with pytest.raises(ContractError, match="reviewer"):
        validate_reviews(_reviews().drop(columns=["reviewer"]))
    with pytest.raises(ContractError, match="customer_id or org_number"):
        validate_reviews(_reviews().drop(columns=["customer_id", "org_number"]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_spread_covers_every_stratum_with_known_probabilities(seed: int) -> None:
    rng = np.random.default_rng(seed)
    strata = rng.choice(6, size=5_000, p=[0.5, 0.2, 0.15, 0.1, 0.04, 0.01])
    rows, probability = _spread(rng, strata, 120)
    assert len(rows) == 120 and len(np.unique(rows)) == 120
    assert set(strata[rows]) == set(range(6))
    counts = np.bincount(strata[rows], minlength=6)
    sizes = np.bincount(strata, minlength=6)
    np.testing.assert_allclose(probability[rows], (counts / sizes)[strata[rows]])
    # Weighted by 1 / probability, the sample stands for the whole population.
    assert (1 / probability[rows]).sum() == pytest.approx(5_000)


def test_weighted_recall_and_wilson_intervals() -> None:
    low, high = wilson(45, 50)
    assert 0.78 < low < 0.9 < high < 0.97
    truth = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    predicted = np.array([0, 0, 0, 1, 1, 1, 0, 0])
    weights = np.array([1, 1, 1, 3, 1, 1, 1, 1], dtype=float)
    recall = weighted_recall(truth, predicted, weights, 2)
    assert recall[0].estimate == pytest.approx(0.5)  # 3 of weight 6 right
    assert recall[1].estimate == pytest.approx(0.5)
    assert recall[0].effective_n == pytest.approx(36 / 12)
    macro = macro_interval(recall)
    assert macro.low < 0.5 < macro.high
