import numpy as np
import pandas as pd
import pytest

from models.segmenter import (
    BLEND_RELABELS,
    BLEND_WEIGHTS,
    RELABEL_MIN_REVIEWS,
    ClusterSegmenter,
)
from segmentation.features import build_features, numeric_matrix
from tests.factories import citizen_row, irregular_row, needs_support_row


@pytest.fixture(scope="module")
def fitted(population_dir) -> tuple[ClusterSegmenter, np.ndarray]:
    frame = pd.read_parquet(population_dir / "citizens.parquet").head(20_000)
    raw = numeric_matrix(frame, "citizens")
    return ClusterSegmenter("citizens", max_fit_rows=20_000).fit(raw), raw


def test_numpy_scorer_equals_scikit_learn(fitted) -> None:
    model, raw = fitted
    expected = np.zeros((len(raw), 3))
    classes = model.classifier_.classes_
    expected[:, classes] = model.classifier_.predict_proba(model.classifier_inputs(raw))
    np.testing.assert_allclose(model.predict_proba(raw), expected, atol=1e-9)
    # One row as a 1-D array (the API's path) gives the same numbers.
    one = model.probabilities(build_features(raw[0], "citizens"), model.membership_)
    np.testing.assert_allclose(one, expected[0], atol=1e-9)


def test_reviews_name_and_refine(fitted) -> None:
    """Reviewed rows are learnt: where case handlers say a quiet group needs support, the
    refit agrees with them on those rows."""
    model, raw = fitted
    predicted = model.predict_index(raw)
    quiet = np.flatnonzero(predicted == 0)[:200]
    reviewed = np.full(len(raw), -1)
    reviewed[quiet] = 2
    refit = ClusterSegmenter("citizens", max_fit_rows=20_000).fit(raw, reviewed)
    assert np.mean(refit.predict_index(raw[quiet]) == 2) > 0.5


def test_one_fit_per_review_weight_equals_a_fit_with_that_weight(fitted) -> None:
    """Choosing the review weight clusters once per fold and learns once per weight: each
    of those models is the model a plain fit with that weight gives."""
    model, raw = fitted
    reviewed = np.full(len(raw), -1)
    rows = np.random.default_rng(4).choice(len(raw), 300, replace=False)
    reviewed[rows] = model.predict_index(raw[rows])[::-1]  # reviews that disagree with it
    template = ClusterSegmenter("citizens", max_fit_rows=10_000, random_state=4)
    shared = template.fit_review_weights(raw, reviewed, champion=model, weights=(1.0, 10.0))
    for weight, one in zip((1.0, 10.0), shared, strict=True):
        plain = ClusterSegmenter(
            "citizens",
            max_fit_rows=10_000,
            random_state=4,
            review_weight=weight,
            review_blend=False,
        ).fit(raw, reviewed, champion=model)
        assert one.review_weight == weight
        # The same optimum, reached from another start: equal to the solver's tolerance.
        np.testing.assert_allclose(one.predict_proba(raw), plain.predict_proba(raw), atol=0.02)
        assert np.mean(one.predict_index(raw) == plain.predict_index(raw)) >= 0.998
    assert not np.array_equal(shared[0].predict_index(raw), shared[1].predict_index(raw))


def test_relabelling_learns_from_rows_the_reviews_rename(fitted) -> None:
    """With ``relabel``, a classifier of the reviews alone re-names the unreviewed rows it
    disagrees with surely: reviews that say the model's quiet customers need support move
    more of the customers like them than reviews that only outweigh the named rows; with
    fewer reviews than the minimum nothing changes; and the one-clustering fits of
    ``fit_review_weights`` equal plain fits with that setting."""
    model, raw = fitted
    predicted = model.predict_index(raw)
    quiet = np.flatnonzero(predicted == 0)
    rows = quiet[: RELABEL_MIN_REVIEWS + 50]
    reviewed = np.full(len(raw), -1)
    reviewed[rows] = 2  # the reviewers say these need support
    irregular = np.flatnonzero(predicted == 1)[:50]
    reviewed[irregular] = 1  # and these are what the model says
    others = quiet[RELABEL_MIN_REVIEWS + 50 :]
    plain, renamed = (
        ClusterSegmenter(
            "citizens", max_fit_rows=20_000, random_state=3, relabel=relabel, review_blend=False
        ).fit(raw, reviewed, champion=model)
        for relabel in (False, True)
    )
    moved_plain = np.mean(plain.predict_index(raw[others]) == 2)
    moved_renamed = np.mean(renamed.predict_index(raw[others]) == 2)
    assert moved_renamed > moved_plain
    few = np.full(len(raw), -1)
    few[rows[: RELABEL_MIN_REVIEWS - 51]] = 2
    few[irregular] = 1
    unchanged = [
        ClusterSegmenter(
            "citizens", max_fit_rows=20_000, random_state=3, relabel=relabel, review_blend=False
        )
        .fit(raw, few, champion=model)
        .predict_proba(raw[:2_000])
        for relabel in (False, True)
    ]
    np.testing.assert_array_equal(unchanged[0], unchanged[1])
    template = ClusterSegmenter("citizens", max_fit_rows=20_000, random_state=3)
    shared = template.fit_review_weights(
        raw, reviewed, champion=model, weights=(1.0,), relabels=(False, True)
    )
    assert [one.relabel for one in shared] == [False, True]
    for one, alone in zip(shared, (plain, renamed), strict=True):
        assert np.mean(one.predict_index(raw) == alone.predict_index(raw)) >= 0.998
    # The reviews' classifier re-names once for every weight: the heavier weight's fit is
    # still the plain fit at that weight.
    _, heavier = template.fit_review_weights(
        raw, reviewed, champion=model, weights=(1.0, 3.0), relabels=(True,)
    )
    alone = ClusterSegmenter(
        "citizens",
        max_fit_rows=20_000,
        random_state=3,
        relabel=True,
        review_weight=3.0,
        review_blend=False,
    ).fit(raw, reviewed, champion=model)
    assert np.mean(heavier.predict_index(raw) == alone.predict_index(raw)) >= 0.998


def test_a_fit_with_reviews_is_the_average_of_the_settings(fitted) -> None:
    """With reviews, a model is the average of a fit per review weight and re-naming (one
    quadratic model: the coefficients' mean, which the folded scorer still equals); without
    reviews there is nothing to average and blending changes nothing."""
    model, raw = fitted
    reviewed = np.full(len(raw), -1)
    rows = np.random.default_rng(5).choice(len(raw), 300, replace=False)
    reviewed[rows] = model.predict_index(raw[rows])[::-1]
    blended = ClusterSegmenter("citizens", max_fit_rows=10_000, random_state=5).fit(
        raw, reviewed, champion=model
    )
    assert blended.review_blend
    settings = ClusterSegmenter("citizens", max_fit_rows=10_000, random_state=5).fit_review_weights(
        raw, reviewed, champion=model, weights=BLEND_WEIGHTS, relabels=BLEND_RELABELS
    )
    assert len(settings) == 6 and not any(one.review_blend for one in settings)
    assert blended.classifier_ is not None
    for name in ("coef_", "intercept_"):
        np.testing.assert_allclose(
            getattr(blended.classifier_, name),
            np.mean([getattr(one.classifier_, name) for one in settings], axis=0),
        )
    features = build_features(raw, "citizens")
    np.testing.assert_allclose(
        blended._log_joint(features),
        np.mean([one._log_joint(features) for one in settings], axis=0),
        atol=1e-6,
    )
    expected = blended.classifier_.predict_proba(blended.classifier_inputs(raw))
    np.testing.assert_allclose(blended.predict_proba(raw), expected, atol=1e-9)
    # ``blended`` (what cross-validation scores) is the same model.
    np.testing.assert_allclose(
        ClusterSegmenter.blended(settings).predict_proba(raw), blended.predict_proba(raw)
    )
    # The typical values explain the average's categories.
    assert blended.typical_features_.shape == model.typical_features_.shape
    # Without reviews: the same model as without blending.
    alone = [
        ClusterSegmenter("citizens", max_fit_rows=10_000, random_state=5, review_blend=blend).fit(
            raw
        )
        for blend in (True, False)
    ]
    np.testing.assert_array_equal(alone[0].predict_proba(raw), alone[1].predict_proba(raw))


def test_an_average_of_fits_without_some_category_never_loses_it(fitted) -> None:
    """Where a setting learnt no row of some category, each category's logit is the mean
    over the settings that know it: a category only one setting knows still wins its rows."""
    _, raw = fitted
    settings = ClusterSegmenter("citizens", max_fit_rows=10_000, random_state=6).fit_review_weights(
        raw, np.full(len(raw), -1), weights=(1.0, 3.0)
    )
    features = build_features(raw[:2_000], "citizens")
    knows_all = settings[0]._log_joint(features)
    settings[1].constant_ = settings[1].constant_.copy()
    settings[1].constant_[2] = -1e9  # the second never named needs_support
    settings[1].classifier_ = None
    average = ClusterSegmenter.blended(settings)
    assert average.classifier_ is None
    logits = average._log_joint(features)
    np.testing.assert_allclose(logits[:, 2], knows_all[:, 2])
    np.testing.assert_allclose(
        logits[:, :2], (knows_all[:, :2] + settings[1]._log_joint(features)[:, :2]) / 2
    )
    assert (average.predict_index_features(features) == 2).sum() > 0


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
    raw = np.ones((2_000, 26))
    raw[3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ClusterSegmenter("citizens").fit(raw)


def test_employers_are_named_by_head_count() -> None:
    rng = np.random.default_rng(0)
    raw = rng.poisson(3.0, size=(3_000, 9)).astype(float)
    raw[:, 0] = rng.integers(0, 200, 3_000)  # employees
    raw[:, 8] = rng.integers(0, 2, 3_000)  # payroll_integration
    model = ClusterSegmenter("employers").fit(raw)
    expected = np.where(raw[:, 0] < 20, "small", "medium_large")
    assert np.mean(model.predict(raw) == expected) > 0.98


def test_only_reviews_drawn_at_random_inside_a_cluster_name_it(fitted) -> None:
    """A borderline review was chosen for being unlike its cluster: it teaches the
    regression, but a cluster is named only by the reviews drawn at random inside it
    (``representative``), so edge cases do not re-name the quiet customers around them."""
    model, raw = fitted
    predicted = model.predict_index(raw)
    regular = np.flatnonzero(predicted == 0)
    contacts = build_features(raw, "citizens")[:, model.feature_names_.index("contacts_per_year")]
    # The hundred regular customers with the most contacts, reviewed as needing support.
    edge = regular[np.argsort(-contacts[regular], kind="stable")[:100]]
    reviewed = np.full(len(raw), -1)
    reviewed[edge] = 2
    others = np.setdiff1d(regular, edge)
    settings = {"max_fit_rows": 20_000, "random_state": 3}
    # Every review names its cluster: the regular customers around the edge cases move.
    naming = ClusterSegmenter("citizens", **settings).fit(raw, reviewed, champion=model)
    moved_when_naming = np.mean(naming.predict_index(raw[others]) != 0)
    # The same reviews drawn for being borderline: they are learnt, and far fewer of the
    # customers around them move.
    taught = ClusterSegmenter("citizens", **settings).fit(
        raw, reviewed, champion=model, representative=np.zeros(len(raw), dtype=bool)
    )
    moved_when_taught = np.mean(taught.predict_index(raw[others]) != 0)
    assert np.mean(taught.predict_index(raw[edge]) == 2) > 0.9
    assert moved_when_taught < 0.1
    assert moved_when_naming > 2 * moved_when_taught
    # Drawn at random inside their clusters, the same reviews name them again.
    drawn = ClusterSegmenter("citizens", **settings).fit(
        raw, reviewed, champion=model, representative=reviewed >= 0
    )
    np.testing.assert_array_equal(drawn.predict_index(raw), naming.predict_index(raw))
