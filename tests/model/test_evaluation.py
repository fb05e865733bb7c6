"""Training's evaluation of a fitted model: one pass over the rows, in blocks, gives what the
whole matrix gives."""

import numpy as np
import pandas as pd
import pytest

from models.segmenter import ClusterSegmenter
from segmentation.features import numeric_matrix, raw_profile_metrics
from segmentation.naming import category_profiles
from tests.conftest import make_settings
from training import evaluate
from training.evaluate import GateThresholds, silhouette
from training.train import Reviewed, evaluate_model


@pytest.fixture(scope="module")
def fitted(population_dir) -> tuple[ClusterSegmenter, ClusterSegmenter, np.ndarray]:
    frame = pd.read_parquet(population_dir / "citizens.parquet").head(30_000)
    raw = numeric_matrix(frame, "citizens")
    fit = ClusterSegmenter("citizens", max_fit_rows=15_000, n_clusterings=2).fit
    return fit(raw[:15_000]), fit(raw[15_000:]), raw


def test_the_profile_and_outcomes_are_the_whole_matrix_s(fitted, monkeypatch, tmp_path) -> None:
    model, champion, raw = fitted
    monkeypatch.setattr(evaluate, "BLOCK_ROWS", 7_000)  # several blocks, the last one short
    none = np.full(len(raw), -1)
    metrics, profiles, _, verdict, outcome = evaluate_model(
        model,
        raw,
        reviewed=Reviewed(none, np.full(len(raw), np.nan)),
        current=champion,
        truth_codes=None,
        thresholds=GateThresholds.from_settings(make_settings(tmp_path)),
        seed=3,
        measured_beside=lambda: {"stability": 1.0},
    )
    predicted = model.predict_index(raw)
    expected = category_profiles("citizens", predicted, raw_profile_metrics(raw, "citizens"))
    pd.testing.assert_frame_equal(profiles, expected)
    np.testing.assert_array_equal(outcome["category"], predicted)
    assert metrics["changed_vs_champion"] == np.mean(champion.predict_index(raw) != predicted)
    assert metrics["silhouette_sample"] == silhouette(model, raw, rows=5_000, seed=3)
    assert metrics["stability"] == 1.0 and verdict is not None
