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


def test_truth_is_matched_by_id_in_any_order(tmp_path) -> None:
    """The truth file's categories reach the right rows whether the file is in the data's
    order (the fast path) or shuffled with a repeated id and an id the data lacks."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from training.train import _truth_codes

    labels = ["regular", "irregular", "needs_support"]
    ids = np.array([101, 202, 303, 404], dtype=np.int64)
    categories = ["irregular", "regular", "needs_support", "regular"]
    in_order = tmp_path / "in_order.parquet"
    pq.write_table(pa.table({"customer_id": ids.astype(str), "category": categories}), in_order)
    expected = np.array([1, 0, 2, 0])
    np.testing.assert_array_equal(_truth_codes(in_order, ids, "customer_id", labels), expected)
    shuffled = tmp_path / "shuffled.parquet"
    pq.write_table(
        pa.table(
            {
                "customer_id": ["303", "101", "999", "101", "404"],
                "category": ["needs_support", "irregular", "regular", "regular", None],
            }
        ),
        shuffled,
    )
    np.testing.assert_array_equal(
        _truth_codes(shuffled, ids, "customer_id", labels), np.array([1, -1, 2, -1])
    )


def test_the_interval_widens_to_the_folds_spread_and_never_narrows() -> None:
    """Nadeau and Bengio's corrected variance of a k-fold estimate: the Wilson interval
    stands when the folds agree, and widens when they disagree more than it says."""
    import math

    from training.evaluate import with_fold_variance
    from training.review import Z_95

    pooled = {
        "review_macro_recall": 0.90,
        "review_macro_recall_low": 0.87,
        "review_macro_recall_high": 0.93,
    }
    agreeing = [{"review_macro_recall": v} for v in (0.899, 0.901, 0.900, 0.900, 0.900)]
    kept = with_fold_variance(pooled, agreeing)
    assert (kept["review_macro_recall_low"], kept["review_macro_recall_high"]) == (0.87, 0.93)
    spread = [0.80, 0.85, 0.90, 0.95, 1.00]
    widened = with_fold_variance(pooled, [{"review_macro_recall": v} for v in spread])
    half = Z_95 * math.sqrt((1 / 5 + 1 / 4) * 0.00625)  # the folds' sample variance
    assert widened["review_macro_recall_low"] == pytest.approx(0.90 - half)
    assert widened["review_macro_recall_high"] == pytest.approx(min(1.0, 0.90 + half))
    assert widened["review_macro_recall_fold_sd"] == pytest.approx(math.sqrt(0.00625))
    assert widened["review_macro_recall"] == 0.90  # the figure itself is the pooled one
    assert with_fold_variance(pooled, agreeing[:1]) == pooled  # one fold: nothing to add


def test_a_hidden_spread_review_is_never_judged_by_the_reviews_its_answer_steered_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Cross-fitted rounds: while a fold of half h is hidden, no borderline review that
    half h's model drew is in the fit; the other half's are, and so is every other review."""
    from models.segmenter import ClusterSegmenter
    from training.evaluate import choose_review_weight

    seen: list[np.ndarray] = []

    class Fitted:
        def predict_proba(self, raw: np.ndarray) -> np.ndarray:
            return np.tile([0.6, 0.3, 0.1], (len(raw), 1))

    def spy(self, raw, y, *, champion=None, weights, relabels=(False,), explain=True):  # type: ignore[no-untyped-def]
        seen.append(np.asarray(y).copy())
        return [Fitted() for _ in range(len(weights) * len(relabels))]

    monkeypatch.setattr(ClusterSegmenter, "fit_review_weights", spy)
    monkeypatch.setattr(ClusterSegmenter, "blended", staticmethod(lambda fitted: fitted[0]))
    rng = np.random.default_rng(4)
    n = 2_000
    reviewed = np.full(n, -1)
    weights = np.full(n, np.nan)
    halves = np.full(n, -1)
    spread = np.arange(0, 200)
    borderline = np.arange(200, 400)
    plain = np.arange(400, 450)  # reviews of no design (an override with a reason)
    reviewed[:450] = rng.integers(0, 3, 450)
    weights[spread] = 20.0
    halves[spread] = rng.integers(0, 2, 200)
    halves[borderline] = np.repeat([0, 1], 100)
    chosen = choose_review_weight(
        ClusterSegmenter("citizens"), np.zeros((n, 3)), reviewed, weights,
        folds=5, seed=1, candidates=(1.0,), relabels=(False,), halves=halves,
    )  # fmt: skip
    assert len(seen) == 4  # two folds per half
    for y in seen:
        hidden_spread = spread[y[spread] < 0]
        (half,) = set(halves[hidden_spread])
        assert (y[borderline[halves[borderline] == half]] < 0).all()
        # The other half's borderline reviews are hidden only with a fold of their half.
        assert (y[borderline[halves[borderline] == 1 - half]] >= 0).all()
        assert (y[plain] >= 0).mean() > 0.5
    assert chosen.out_of_fold.shape == (450, 3)


def test_the_logged_params_say_a_model_with_reviews_is_the_settings_average() -> None:
    """MLflow params of a blending model trained with reviews name every setting it averaged,
    not the unused ``review_weight`` it carries; without reviews, or choosing one setting,
    the params are the model's own."""
    from models.segmenter import ClusterSegmenter
    from training.train import _model_params

    blending = ClusterSegmenter("citizens", random_state=1)
    params = _model_params(blending, blended=True)
    assert params["model_review_weight"] == "average of 1, 3, 10"
    assert params["model_relabel"] == "average of False, True"
    assert params["model_review_blend"] is True and "model_population" not in params
    assert _model_params(blending, blended=False)["model_review_weight"] == 1.0
    chosen = ClusterSegmenter("citizens", review_blend=False, review_weight=3.0, relabel=True)
    assert _model_params(chosen, blended=True)["model_review_weight"] == 3.0
    assert _model_params(chosen, blended=True)["model_relabel"] is True
