"""The fast agreement measures equal scikit-learn's on the same labels."""

import numpy as np
import pandas as pd
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


def test_each_categorys_interval_widens_to_its_own_folds_spread() -> None:
    """A category's recall gets the same correction from that category's figures in the
    folds (a fold without a review of it does not count); the macro recall's from its own."""
    import math

    from training.evaluate import with_fold_variance
    from training.review import Z_95

    pooled = {
        "review_macro_recall": 0.90,
        "review_macro_recall_low": 0.87,
        "review_macro_recall_high": 0.93,
        "review_recall_irregular": 0.80,
        "review_recall_irregular_low": 0.70,
        "review_recall_irregular_high": 0.88,
        "review_recall_regular": 0.99,
        "review_recall_regular_low": 0.95,
        "review_recall_regular_high": 1.0,
        "reviews": 1000.0,
    }
    irregular = [0.60, 0.70, 0.80, 0.90, 1.00]
    per_fold = [
        {"review_macro_recall": 0.90, "review_recall_irregular": v, "review_recall_regular": 0.99}
        for v in irregular
    ]
    per_fold[0].pop("review_recall_regular")  # a fold without a regular review
    widened = with_fold_variance(pooled, per_fold)
    half = Z_95 * math.sqrt((1 / 5 + 1 / 4) * 0.025)
    assert widened["review_recall_irregular_low"] == pytest.approx(0.80 - half)
    assert widened["review_recall_irregular_high"] == pytest.approx(min(1.0, 0.80 + half))
    assert widened["review_recall_irregular_fold_sd"] == pytest.approx(math.sqrt(0.025))
    # The folds agree on the macro and the regular recall: those intervals stand.
    assert (widened["review_macro_recall_low"], widened["review_macro_recall_high"]) == (0.87, 0.93)
    assert (widened["review_recall_regular_low"], widened["review_recall_regular_high"]) == (
        0.95,
        1.0,
    )
    assert widened["review_recall_regular_fold_sd"] == 0.0  # from the four folds that have it
    assert widened["reviews"] == 1000.0


def test_a_hidden_spread_review_is_never_judged_by_the_reviews_its_answer_steered_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Cross-fitted rounds: while a fold of half h is hidden, no borderline review that
    half h's model drew is in the fit; the other half's are, and so is every other review.
    Only the spread reviews (a design weight) name clusters in each fold's fit."""
    from models.segmenter import ClusterSegmenter
    from training.evaluate import choose_review_weight

    seen: list[np.ndarray] = []
    naming: list[np.ndarray] = []

    class Fitted:
        def predict_proba(self, raw: np.ndarray) -> np.ndarray:
            return np.tile([0.6, 0.3, 0.1], (len(raw), 1))

    def spy(  # type: ignore[no-untyped-def]
        self, raw, y, *, champion=None, representative=None, weights, relabels=(False,),
        explain=True,
    ):  # fmt: skip
        seen.append(np.asarray(y).copy())
        naming.append(np.asarray(representative).copy())
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
    for representative in naming:
        np.testing.assert_array_equal(np.flatnonzero(representative), spread)
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


def test_blocks_computed_side_by_side_are_joined_in_row_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`blockwise` computes the blocks a core each; the joined result is the one the whole
    matrix gives, arrays and dicts of arrays alike, the last block short."""
    from training import evaluate

    monkeypatch.setattr(evaluate, "BLOCK_ROWS", 7)
    raw = np.arange(100.0).reshape(50, 2)
    np.testing.assert_array_equal(evaluate.blockwise(raw, lambda b: b.sum(axis=1)), raw.sum(1))
    joined = evaluate.blockwise(raw, lambda b: {"first": b[:, 0], "twice": 2 * b})
    np.testing.assert_array_equal(joined["first"], raw[:, 0])
    np.testing.assert_array_equal(joined["twice"], 2 * raw)


def test_stability_compares_a_refit_with_another_seed_on_the_same_rows() -> None:
    """The refit that stability compares with has the model's settings and another seed;
    a model compared with itself keeps every customer."""
    from models.segmenter import ClusterSegmenter
    from segmentation.features import numeric_matrix
    from training.evaluate import refit_with_seed, stability
    from training.synthetic import generate_citizens

    raw = numeric_matrix(generate_citizens(6_000, 3)[0], "citizens")
    model = ClusterSegmenter("citizens", n_clusters=8, n_clusterings=2, random_state=5)
    model.fit(raw)
    other = refit_with_seed(model, raw, 106)
    assert other.random_state == 106
    assert {k: v for k, v in other.get_params().items() if k != "random_state"} == {
        k: v for k, v in model.get_params().items() if k != "random_state"
    }
    assert stability(model, raw, refits=[model], rows=2_000, seed=0) == {
        "stability": 1.0,
        "stability_ari": 1.0,
    }
    measured = stability(model, raw, refits=[other, model], rows=2_000, seed=0)
    kept = float(np.mean(other.predict_index(raw) == model.predict_index(raw)))
    assert measured["stability"] <= 1.0 and abs(measured["stability"] - kept) < 0.05


def test_a_table_read_ahead_is_the_table_and_its_fingerprint(tmp_path) -> None:
    """`train` reads the tables while it imports its libraries: what it gets is the file's
    table (as a DataFrame) and fingerprint; a population without a file is not read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from training.files import fingerprint, prefetch_tables

    path = tmp_path / "citizens.parquet"
    pq.write_table(pa.table({"customer_id": ["191212121212"], "contacts": [3]}), path)
    reads = prefetch_tables(tmp_path, ["citizens", "employers"])
    assert list(reads) == ["citizens"]
    frame, printed = reads["citizens"].take()
    assert frame.equals(pq.read_table(path).to_pandas()) and printed == fingerprint(path)
    with pytest.raises(RuntimeError, match="handed over already"):  # not kept: taken once
        reads["citizens"].take()


def test_the_training_clock_logs_each_steps_wall_and_cpu_seconds(caplog) -> None:
    """`segmentation -v train` says how long each step took and how much CPU the process
    spent in it (the fits run side by side: their CPU exceeds their wall time)."""
    import logging
    import re

    from training.train import _Clock

    clock = _Clock("citizens")
    sum(i * i for i in range(3_000_000))  # a tenth of a second or more of CPU
    with caplog.at_level(logging.INFO, logger="training.train"):
        clock.lap("validated")
    (message,) = [record.getMessage() for record in caplog.records]
    found = re.fullmatch(r"citizens: validated in (\d+\.\d) s \(CPU (\d+\.\d) s\)", message)
    assert found is not None, message
    assert float(found.group(2)) >= 0.1


def test_drift_says_how_far_a_value_is_from_a_small_reference() -> None:
    """A small reference (regular customers' 0.4 contacts a year) is flagged by an absolute
    gap, but the words give the value's own distance: 0.02 against 0.4 is -95 %, not -38 %."""
    from segmentation.settings import Settings
    from training.evaluate import GateThresholds, drift

    profiles = pd.DataFrame(
        {
            "share": [0.67, 0.02, 0.31],
            "contacts_per_year": [0.02, 0.9, 19.5],
            "handling_minutes": [26.0, 25.0, 39.0],
        },
        index=["regular", "irregular", "needs_support"],
    )
    metrics, flags = drift("citizens", profiles, GateThresholds.from_settings(Settings()))
    assert "regular: contacts_per_year 0.02 against the reference 0.4 (-95%)" in flags
    assert "needs_support: contacts_per_year 19.50 against the reference 6.5 (+200%)" in flags
    assert metrics["drift_regular_contacts_per_year"] == pytest.approx(-0.38)
    assert not any(flag.startswith("irregular: contacts") for flag in flags)
    assert not any("handling_minutes" in flag for flag in flags)
