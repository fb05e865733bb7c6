import numpy as np
import pandas as pd
from sklearn.mixture import GaussianMixture

from models.segmenter import ClusterSegmenter
from segmentation.features import build_features, numeric_matrix
from tests.factories import citizen_row, irregular_row, needs_support_row


def test_numpy_scorer_equals_scikit_learn_mixture(population_dir) -> None:
    frame = pd.read_parquet(population_dir / "citizens.parquet").head(20_000)
    raw = numeric_matrix(frame, "citizens")
    model = ClusterSegmenter("citizens", method="gmm", n_clusters=6, max_fit_rows=20_000).fit(raw)
    mixture = GaussianMixture(n_components=6, covariance_type="diag")
    mixture.weights_ = np.exp(model.log_weights_)
    mixture.means_ = model.means_
    mixture.covariances_ = model.variances_
    mixture.precisions_cholesky_ = 1.0 / np.sqrt(model.variances_)
    scaled = (build_features(raw, "citizens") - model.feature_mean_) / model.feature_scale_
    np.testing.assert_array_equal(model.cluster_index(raw), mixture.predict(scaled))
    expected = np.zeros((len(raw), 3))
    np.add.at(expected.T, model.cluster_category_, mixture.predict_proba(scaled).T)
    np.testing.assert_allclose(model.predict_proba(raw), expected, atol=1e-9)


def test_champion_behaves_like_the_categories_say(champion_bundles) -> None:
    bundle, _ = champion_bundles["citizens"]
    rows = pd.DataFrame([citizen_row(), irregular_row(), needs_support_row()])
    names = bundle.predict_frame(rows).tolist()
    assert names == ["regular", "irregular", "needs_support"]


def test_probabilities_sum_to_one_and_agree_with_the_category(champion_bundles) -> None:
    bundle, _ = champion_bundles["citizens"]
    rows = pd.DataFrame([citizen_row(), irregular_row(), needs_support_row()])
    raw = numeric_matrix(rows, "citizens")
    probabilities = bundle.predict_proba(raw)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    np.testing.assert_array_equal(probabilities.argmax(axis=1), bundle.predict_index(raw))


def test_fit_refuses_non_finite_input() -> None:
    raw = np.ones((200, 26))
    raw[3, 4] = np.nan
    try:
        ClusterSegmenter("citizens").fit(raw)
    except ValueError as error:
        assert "NaN" in str(error)
    else:  # pragma: no cover
        raise AssertionError("NaN accepted")
