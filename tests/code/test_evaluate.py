"""The fast agreement measures equal scikit-learn's on the same labels."""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score, recall_score

from training.evaluate import adjusted_rand, agreement, contingency


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_adjusted_rand_and_recall_equal_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, 20_000)
    predicted = np.where(rng.random(20_000) < 0.1, rng.integers(0, 3, 20_000), truth)
    assert adjusted_rand(contingency(truth, predicted, 3)) == pytest.approx(
        adjusted_rand_score(truth, predicted), abs=1e-12
    )
    names = np.array(["regular", "irregular", "needs_support"])
    measured = agreement(names[predicted], names[truth], "citizens")
    expected = recall_score(truth, predicted, labels=[0, 1, 2], average=None)
    assert measured["truth_macro_recall"] == pytest.approx(float(np.mean(expected)), abs=1e-12)
    assert measured == agreement(predicted, truth, "citizens")  # codes and names agree


def test_unknown_truth_is_left_out() -> None:
    truth = np.array([0, 1, 2, -1])
    predicted = np.array([0, 1, 2, 0])
    assert agreement(predicted, truth, "citizens")["truth_macro_recall"] == 1.0
