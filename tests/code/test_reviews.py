"""The reviews contract and the review sample's design."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data_contracts.reviews import validate_reviews
from data_contracts.validation import ContractError
from training.review import (
    Z_95,
    Interval,
    _spread,
    degrees_of_freedom,
    design_halves,
    draw_from_scores,
    drawn_at_random,
    effective_size,
    keep_design,
    load_designs,
    macro_interval,
    quantile_95,
    review_halves,
    weighted_recall,
    wilson,
)
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
    # Kish's size is 36 / 12 = 3; the one miss carries half the weight, so the linearised
    # variance (4/3 * 3 / 36) implies 0.25 / (1/9) = 2.25, the smaller.
    assert recall[0].effective_n == pytest.approx(2.25)
    # Equal weights: the linearised size is n - 1 (the variance's n / (n - 1)).
    assert recall[1].effective_n == pytest.approx(3.0)
    macro = macro_interval(recall)
    assert macro.low < 0.5 < macro.high


def test_the_macro_interval_keeps_each_side_of_the_categories_intervals() -> None:
    # Near 1 a Wilson interval reaches further down than up: so does the macro interval.
    lopsided = {c: Interval(0.95, *wilson(0.95 * 40, 40), 40) for c in range(3)}
    low, high = lopsided[0].low, lopsided[0].high
    assert 0.95 - low > 2 * (high - 0.95)
    macro = macro_interval(lopsided)
    assert macro.estimate == pytest.approx(0.95)
    # Three independent equal errors: each side sqrt(3) / 3 of the category's.
    assert 0.95 - macro.low == pytest.approx((0.95 - low) / np.sqrt(3))
    assert macro.high - 0.95 == pytest.approx((high - 0.95) / np.sqrt(3))
    # Symmetric intervals give the mean half-widths' interval, as before; never past [0, 1].
    even = {0: Interval(0.5, 0.4, 0.6, 90), 1: Interval(0.7, 0.5, 0.9, 20)}
    macro = macro_interval(even)
    half = np.sqrt(0.1**2 + 0.2**2) / 2
    assert (macro.low, macro.high) == pytest.approx((0.6 - half, 0.6 + half))
    assert macro_interval({0: Interval(0.99, 0.5, 1.0, 3)}).high == 1.0


def test_misses_in_heavy_strata_widen_the_interval_and_light_ones_never_narrow_it() -> None:
    # 60 reviews of one category, 54 right: the same recall's weight either on the misses
    # (a large cluster's few customers of this category, called by the cluster's) or not.
    hits = np.r_[np.ones(54), np.zeros(6)]
    heavy_misses = np.r_[np.full(54, 1.0), np.full(6, 6.0)]
    light_misses = np.r_[np.full(54, 6.0), np.full(6, 1.0)]
    for weights in (heavy_misses, light_misses):
        recall = float(np.sum(weights * hits) / weights.sum())
        size = effective_size(weights, hits, recall)
        assert size <= float(weights.sum() ** 2 / np.sum(weights**2)) + 1e-9
    heavy_recall = float(np.sum(heavy_misses * hits) / heavy_misses.sum())
    heavy = effective_size(heavy_misses, hits, heavy_recall)
    assert heavy < 0.8 * float(heavy_misses.sum() ** 2 / np.sum(heavy_misses**2))
    light_recall = float(np.sum(light_misses * hits) / light_misses.sum())
    light = effective_size(light_misses, hits, light_recall)
    assert light == pytest.approx(float(light_misses.sum() ** 2 / np.sum(light_misses**2)))
    # All right (no variance seen) or a single review: Kish's size.
    assert effective_size(np.array([1.0, 2.0, 3.0]), np.ones(3), 1.0) == pytest.approx(36 / 14)
    assert effective_size(np.array([2.0]), np.ones(1), 1.0) == pytest.approx(1.0)


def test_variance_from_a_few_strata_takes_student_t_and_from_many_the_normal_quantile() -> None:
    # Twelve strata of 30 reviews, each its own weight; every stratum holds some of the
    # category and some misses.
    rng = np.random.default_rng(0)
    members = rng.random(12 * 30) < 0.5
    hits = rng.random(12 * 30) < 0.9

    def df(stratum_weights: np.ndarray) -> float:
        weights = np.repeat(stratum_weights, 30)
        recall = float(np.sum((weights * hits)[members]) / weights[members].sum())
        return degrees_of_freedom(weights, members, hits, recall)

    even = df(np.arange(100.0, 112.0))  # alike weights: every stratum's variance counts
    few = df(np.r_[np.arange(100.0, 111.0), 5_000.0])  # one heavy stratum carries it
    assert 100 < even < 12 * 29
    assert 29 <= few < 40
    assert quantile_95(few) > quantile_95(even) > Z_95
    # One stratum with n reviews: Satterthwaite's n - 1.
    one = np.full(20, 5.0)
    assert degrees_of_freedom(one, np.ones(20, bool), np.arange(20) % 4 > 0, 0.75) == (
        pytest.approx(19)
    )
    # No variance seen anywhere (all right, or a single review per stratum): infinite,
    # the normal quantile.
    assert degrees_of_freedom(one, np.ones(20, bool), np.ones(20, bool), 1.0) == np.inf
    assert degrees_of_freedom(np.arange(1.0, 6.0), np.ones(5, bool), np.arange(5) > 1, 0.6) == (
        np.inf
    )
    assert quantile_95(np.inf) == Z_95


def test_weighted_recall_widens_by_t_where_the_design_has_few_degrees_of_freedom() -> None:
    # Two strata of 20 reviews of one category; the 5 misses all in the heavy first one.
    truth = np.zeros(40, dtype=np.int64)
    predicted = np.r_[np.where(np.arange(20) % 4 == 0, 1, 0), np.zeros(20, dtype=np.int64)]
    weights = np.r_[np.full(20, 50.0), np.full(20, 1.0)]
    interval = weighted_recall(truth, predicted, weights, 1)[0]
    assert interval.df == pytest.approx(19)  # all the variance in one stratum of 20
    low, high = wilson(interval.estimate * interval.effective_n, interval.effective_n)
    assert interval.low < low and interval.high > high  # t at 19 df is wider than z
    assert (interval.low, interval.high) == pytest.approx(
        wilson(interval.estimate * interval.effective_n, interval.effective_n, quantile_95(19))
    )


def test_the_macro_interval_at_infinite_degrees_of_freedom_is_the_normal_one() -> None:
    normal = {c: Interval(0.9, *wilson(0.9 * 50, 50), 50) for c in range(3)}
    macro = macro_interval(normal)
    assert macro.df == np.inf
    assert 0.9 - macro.low == pytest.approx((0.9 - normal[0].low) / np.sqrt(3))
    # Each category's interval at t for few degrees of freedom: its distances are brought
    # back to the normal quantile and the sum widened by t at the categories' combined
    # degrees of freedom (three equal parts: three times each one's).
    few = {c: Interval(0.9, *wilson(0.9 * 50, 50, quantile_95(4)), 50, 4) for c in range(3)}
    widened = macro_interval(few)
    assert widened.df == pytest.approx(12)
    assert 0.9 - widened.low == pytest.approx((0.9 - macro.low) * quantile_95(12) / Z_95)
    assert widened.low < macro.low and widened.high > macro.high


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_round_draws_its_part_and_never_a_customer_reviewed_already(seed: int) -> None:
    rng = np.random.default_rng(seed)
    strata = rng.choice(5, size=3_000, p=[0.6, 0.2, 0.1, 0.07, 0.03])
    margin = rng.random(3_000)
    ids = np.arange(10_000, 13_000)
    reviewed = np.zeros(3_000, dtype=bool)
    reviewed[rng.choice(3_000, size=400, replace=False)] = True

    spread = draw_from_scores(strata, margin, ids, n=200, seed=seed, part="spread")
    assert set(spread["part"]) == {"spread"} and len(spread) == 200
    assert set(strata[spread["id"].to_numpy() - 10_000]) == set(range(5))
    assert (1 / spread["inclusion_probability"]).sum() == pytest.approx(3_000)

    second = draw_from_scores(
        strata, margin, ids, n=300, seed=seed, part="borderline", exclude=reviewed
    )
    rows = second["id"].to_numpy() - 10_000
    assert set(second["part"]) == {"borderline"} and len(np.unique(rows)) == 300
    assert not reviewed[rows].any()
    # The least sure of the customers not reviewed yet, least sure first.
    expected = np.sort(margin[~reviewed])[:300]
    np.testing.assert_array_equal(margin[rows], expected)
    assert second["inclusion_probability"].isna().all()

    both = draw_from_scores(strata, margin, ids, n=301, seed=seed, exclude=reviewed)
    assert both["part"].value_counts().to_dict() == {"borderline": 151, "spread": 150}
    assert not reviewed[both["id"].to_numpy() - 10_000].any()
    # Excluded rows are in no stratum: the spread stands for the rows that could be drawn.
    spread_part = both[both["part"] == "spread"]
    assert (1 / spread_part["inclusion_probability"]).sum() == pytest.approx(2_600)


def test_a_round_asks_for_no_more_than_is_left() -> None:
    strata, margin = np.zeros(50, dtype=np.int64), np.linspace(0, 1, 50)
    everyone_but_ten = np.arange(50) >= 10
    sample = draw_from_scores(
        strata, margin, np.arange(50), n=40, seed=0, part="borderline", exclude=everyone_but_ten
    )
    assert sorted(sample["id"]) == list(range(10))
    with pytest.raises(ValueError, match="part"):
        draw_from_scores(strata, margin, np.arange(50), n=5, seed=0, part="half")


def test_a_later_round_never_draws_a_customer_whose_case_handlers_split() -> None:
    """Judged but unsettled (split without a majority) is reviewed all the same: a later
    round never draws the customer (its design would have turned a spread review into a
    borderline one); the third judgement comes from `review opinions` or the page."""
    from models.segmenter import ClusterSegmenter
    from segmentation.features import numeric_matrix
    from training.review import draw_cross_fitted, judged_ids

    citizens, truth = generate_citizens(3_000, 5)
    raw = numeric_matrix(citizens, "citizens")
    ids = np.arange(len(raw))
    names = ["regular", "irregular", "needs_support"]
    reviewed = np.full(len(raw), -1)
    rows = np.random.default_rng(5).choice(len(raw), size=150, replace=False)
    reviewed[rows] = pd.Categorical(truth["category"].to_numpy()[rows], categories=names).codes

    def draw(exclude: np.ndarray | None) -> np.ndarray:
        sample = draw_cross_fitted(
            ClusterSegmenter("citizens", random_state=5),
            raw,
            ids,
            reviewed,
            reviewed >= 0,
            np.full(len(raw), -1),
            n=100,
            seed=5,
            exclude=exclude,
        )
        return sample["id"].to_numpy()

    unaware = draw(None)
    split = np.zeros(len(raw), dtype=bool)
    split[unaware[:30]] = True  # the least sure: where case handlers split
    aware = draw(split)
    assert not split[aware].any() and not (reviewed[aware] >= 0).any()
    assert len(np.unique(aware)) == 100
    # The ids every judgement names, settled or not, of one population.
    given = pd.DataFrame(
        {
            "population": ["citizens", "citizens", "citizens", "employers"],
            "id": ["7", "3", "7", "5"],
        }
    )
    assert judged_ids(given, "citizens").tolist() == [3, 7]
    assert judged_ids(None, "citizens").size == 0


def test_the_halves_are_the_same_in_every_round_and_split_the_reviews_evenly() -> None:
    ids = np.arange(100_000_000_000, 100_000_002_000)
    halves = review_halves(ids)
    assert set(halves) == {0, 1} and 0.45 < halves.mean() < 0.55
    np.testing.assert_array_equal(review_halves(ids[::-1]), halves[::-1])
    np.testing.assert_array_equal(review_halves(ids.astype(str)), halves)


def _two_rounds_kept(home: Path) -> pd.DataFrame:
    """The designs of two rounds kept as `review sample` keeps them: a spread round (11, 12,
    13; probability 0.1), then a cross-fitted borderline round (21 by half 0, 22 by half 1)
    steered by the first round's reviews (halves 1, 0, 1)."""
    first = pd.DataFrame(
        {"id": ["11", "12", "13"], "part": ["spread"] * 3, "inclusion_probability": [0.1] * 3}
    )
    keep_design(home, "citizens", first, "20261101")
    second = pd.DataFrame(
        {
            "id": ["21", "22"],
            "part": ["borderline"] * 2,
            "inclusion_probability": [np.nan] * 2,
            "half": [0, 1],
        }
    )
    steered = pd.DataFrame({"id": ["11", "12", "13"], "half": [1, 0, 1]})
    keep_design(home, "citizens", second, "20261120", steered)
    return load_designs(home)


def test_a_cross_fitted_round_marks_its_halves_only_once_it_is_reviewed(tmp_path: Path) -> None:
    designs = _two_rounds_kept(tmp_path)
    assert list(designs["sample"].unique()) == ["20261101", "20261120"]

    # Only the first round reviewed: its spread reviews belong to no half.
    only_first = pd.Series(["11", "12", "13"])
    assert design_halves(designs, only_first).tolist() == [-1, -1, -1]
    # Both rounds reviewed: the spread reviews and the borderline ones each half drew.
    both = pd.Series(["11", "12", "13", "21", "22", "99"])
    assert design_halves(designs, both).tolist() == [1, 0, 1, 0, 1, -1]


def test_designs_kept_before_the_halves_still_load(tmp_path: Path) -> None:
    folder = tmp_path / "reviews"
    folder.mkdir()
    pd.DataFrame(
        {
            "id": ["11"],
            "part": ["spread"],
            "inclusion_probability": [0.2],
            "population": ["citizens"],
        }
    ).to_parquet(folder / "design-citizens-old.parquet")
    designs = load_designs(tmp_path)
    assert designs[["half", "sample"]].values.tolist() == [[-1, "design-citizens-old"]]
    assert design_halves(designs, pd.Series(["11"])).tolist() == [-1]


def test_reviews_set_aside_say_why_by_rule_without_a_value(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A file whose rows are set aside says why, in the warning training and `review
    opinions` print: each reason by its column and rule, counted, commonest first; the value
    that broke it (a name, an id) is left out."""
    from training.train import load_reviews

    frame = _reviews().iloc[:4].copy()
    frame["reviewed_at"] = pd.Timestamp.now(tz="UTC") + pd.Timedelta(hours=2)
    frame.loc[frame.index[0], "reviewer"] = " "
    path = tmp_path / "r.parquet"
    frame.to_parquet(path)
    with caplog.at_level("WARNING"):
        reviews, rejected = load_reviews(path)
    assert (len(reviews), rejected) == (0, 4)
    assert "reviews: 4 rows set aside (r.parquet): reviewed_at: in the future: 4; " in caplog.text
    assert "reviewer: not blank: 1" in caplog.text
    assert "' '" not in caplog.text and frame["customer_id"].dropna().iloc[0] not in caplog.text


def test_reviews_of_several_rounds_are_read_together_a_later_judgement_replacing_its_own(
    tmp_path: Path,
) -> None:
    """A case handler's judgement in a later file replaces their own earlier one; another
    case handler's judgement of the same customer is a second opinion, and both stay."""
    from training.train import load_reviews

    frame = _reviews()
    first, second = tmp_path / "first.parquet", tmp_path / "second.parquet"
    frame.iloc[[0, 4]].to_parquet(first)
    changed = frame.iloc[[0]].assign(category="needs_support", reviewer=" Anna")
    other = frame.iloc[[0]].assign(category="irregular", reviewer="bo")
    pd.concat([changed, other, frame.iloc[[6]]]).to_parquet(second)
    reviews, rejected = load_reviews([first, second])
    assert rejected == 1  # the second file's row with a category no population has
    assert reviews[["population", "category", "reviewer"]].values.tolist() == [
        ["employers", "small", "dan"],
        ["citizens", "needs_support", " Anna"],
        ["citizens", "irregular", "bo"],
    ]
    assert load_reviews(first)[0]["category"].tolist() == ["regular", "small"]


def test_a_customer_judged_by_several_case_handlers_counts_once_by_their_majority() -> None:
    """Second opinions: the majority stands; where the case handlers split evenly the
    customer is left out until another judges them; and what the opinions say of the
    reviews (how often case handlers agree, beyond chance) is reported."""
    from training.review import settle_opinions

    reviews = pd.DataFrame(
        {
            "id": ["1", "2", "2", "3", "3", "4", "4", "4", "5"],
            "category": [
                *["regular", "regular", "irregular", "regular", "regular"],
                *["needs_support", "regular", "needs_support", "irregular"],
            ],
            "reviewer": ["a", "a", "b", "a", "b", "a", "b", "c", "a"],
        }
    )
    settled, opinions = settle_opinions(reviews)
    assert settled[["id", "category", "reviewer"]].values.tolist() == [
        ["1", "regular", "a"],
        ["3", "regular", "b"],
        ["4", "needs_support", "c"],
        ["5", "irregular", "a"],
    ]
    # Customers 2, 3 and 4: agreeing pairs 0/1, 1/1 and 1/3 of their judgements.
    assert opinions["reviews_second_opinions"] == 3
    assert opinions["reviewer_agreement"] == pytest.approx((0 + 1 + 1 / 3) / 3)
    # Seven judgements: regular 4, irregular 1, needs support 2; chance agreement 21/49.
    chance = (16 + 1 + 4) / 49
    assert opinions["reviewer_kappa"] == pytest.approx((4 / 9 - chance) / (1 - chance))
    assert opinions["reviews_without_majority"] == 1
    # One judgement per customer: the reviews as they are, and nothing to report.
    alone = reviews.drop_duplicates("id")
    assert settle_opinions(alone)[0] is alone and settle_opinions(alone)[1] == {}


def test_second_opinions_in_a_file_are_matched_by_their_majority(tmp_path: Path) -> None:
    """`train --reviews FILE` with several case handlers on a customer: the contract keeps
    each case handler's judgement (the same case handler twice is a duplicate), and the
    customer counts once, by the majority, with the opinions' figures beside."""
    from training.train import load_reviews, match_reviews

    citizens, _ = generate_citizens(3, 1)
    ids = list(citizens["customer_id"])
    frame = pd.DataFrame(
        {
            "customer_id": [ids[0], ids[0], ids[0], ids[1], ids[1], ids[2], ids[2]],
            "category": [
                *["irregular", "regular", "irregular", "regular", "needs_support"],
                *["regular", "irregular"],
            ],
            "reviewer": ["anna", "bo", "cia", "anna", "bo", "anna", "ANNA "],
            "reviewed_at": ["2026-01-01"] * 7,
        }
    )
    path = tmp_path / "reviews.parquet"
    frame.to_parquet(path)
    reviews, rejected = load_reviews(path)
    assert rejected == 2  # anna twice on the third customer
    matched = match_reviews("citizens", reviews, np.array([int(i) for i in ids]))
    assert matched.codes.tolist() == [1, -1, -1]  # irregular by two of three; a split
    assert matched.opinions["reviews_second_opinions"] == 2
    assert matched.opinions["reviews_without_majority"] == 1


def test_files_ask_another_case_handler_where_a_spread_judgement_differs_or_splits() -> None:
    """`review opinions`: the spread customers judged once otherwise than the model, or by
    case handlers who split, each once with who judged already; a borderline customer, one
    judged as the model has it, one with a majority, one the model did not score (its id
    not in the data) and one with three judgements get none. The part and probability come
    from the review's own columns, else from the kept design."""
    from training.review import awaiting_opinion

    when = pd.Timestamp("2026-11-20", tz="UTC")
    reviews = pd.DataFrame(
        {
            "id": ["1", "2", "3", "4", "4", "5", "5", "5", "6", "7", "8", "8"],
            "category": [
                *["irregular", "regular", "irregular", "regular", "irregular", "regular"],
                *["irregular", "needs_support", "irregular", "irregular", "regular", "regular"],
            ],
            "reviewer": [
                *["anna", "anna", "anna", "anna", " bo", "anna", "bo", "cia"],
                *["anna", "anna", "anna", "bo"],
            ],
            "reviewed_at": [when + pd.Timedelta(minutes=m) for m in range(12)],
            "part": [
                *[None, "spread", "borderline", "spread", "spread", "spread", "spread"],
                *["spread", "spread", None, "spread", "spread"],
            ],
            "inclusion_probability": [np.nan, 0.2, 0.1, *[0.3] * 5, 0.4, np.nan, 0.1, 0.1],
        }
    )
    designs = pd.DataFrame(
        {
            "id": ["1", "1", "7"],
            "part": ["borderline", "spread", "borderline"],
            "inclusion_probability": [np.nan, 0.05, np.nan],
            "half": [-1, -1, -1],
            "population": "citizens",
            "sample": ["a", "b", "b"],
        }
    )
    model = pd.Series(["regular"] * 5 + ["regular"] + ["regular"], index=list("1234578"))
    waiting = awaiting_opinion(reviews, designs, model)
    assert waiting.to_dict("list") == {
        "id": ["1", "4"],
        "part": ["spread", "spread"],
        "inclusion_probability": [0.05, 0.3],
        "judged_by": ["anna", "anna, bo"],
        "judgements": [1, 2],
    }
    # Nothing reviewed: nothing to ask.
    nothing = awaiting_opinion(reviews.head(0), designs, model)
    assert nothing.empty and list(nothing.columns) == list(waiting.columns)


def test_one_exported_file_of_both_rounds_weighs_the_reviews_as_the_filled_in_files(
    tmp_path: Path,
) -> None:
    """Reviews given on the review page come back through `review export` in one file with
    no design columns: the kept designs give each its weight and half, as the rounds' own
    filled-in files (which carry their inclusion probabilities) do."""
    from training.train import match_reviews

    designs = _two_rounds_kept(tmp_path)
    answers = {
        "population": "citizens",
        "id": ["11", "12", "13", "21", "22"],
        "category": ["regular", "irregular", "needs_support", "regular", "irregular"],
    }
    filled_in = pd.DataFrame({**answers, "inclusion_probability": [0.1] * 3 + [np.nan] * 2})
    exported = pd.DataFrame(answers)
    ids = np.array([11, 12, 13, 21, 22, 30])
    from_files = match_reviews("citizens", filled_in, ids, designs)
    from_export = match_reviews("citizens", exported, ids, designs)
    assert from_export.codes.tolist() == from_files.codes.tolist() == [0, 1, 2, 0, 1, -1]
    np.testing.assert_array_equal(from_export.weights, from_files.weights)
    assert from_export.weights[:3].tolist() == [10.0] * 3
    assert from_export.halves is not None and from_files.halves is not None
    assert from_export.halves.tolist() == from_files.halves.tolist() == [1, 0, 1, 0, 1, -1]


def test_reviews_in_a_file_take_their_customers_off_the_review_page_or_say_why_not(
    tmp_path: Path,
) -> None:
    """`train --reviews FILE` (and `review opinions`): the customers answered in the file
    leave the case handlers' page, both populations (a review set aside does not count); a
    store that cannot be reached is said in one line, and the training (done already)
    stands."""
    from segmentation.settings import Settings
    from segmentation.store import SegmentStore
    from training.cli.common import answered_off_page
    from training.train import load_reviews

    frame = _reviews()
    path = tmp_path / "reviews.parquet"
    frame.to_parquet(path)
    answered, set_aside = load_reviews([path])
    assert set_aside == 5  # the bad rows of `_reviews`
    settings = Settings(home=tmp_path / "home")
    settings.home.mkdir()
    store = SegmentStore(settings.resolved_store_url)
    store.create()
    waiting = [frame["customer_id"][0], frame["customer_id"][2], "195002021231"]
    store.queue_reviews("citizens", "s1", waiting, ["spread"] * 3)
    store.queue_reviews("employers", "s2", [frame["org_number"][4]], ["spread"])
    assert answered_off_page(settings, answered) == (
        "review page: 2 customers answered in the files taken off it"
    )
    # A review set aside (a citizen judged "small") leaves its customer waiting.
    assert [c["customer_id"] for c in store.review_queue("citizens")["customers"]] == [
        frame["customer_id"][2],
        "195002021231",
    ]
    assert store.review_queue("employers")["open"] == 0
    assert [(x["sample"], x["queued"], x["open"]) for x in store.review_samples()] == [
        ("s1", 3, 2),  # the answered one still counted
        ("s2", 1, 0),
    ]
    assert "no customer" in answered_off_page(settings, answered)
    store.dispose()
    nobody_listens = "postgresql+psycopg://postgres@127.0.0.1:9/test?connect_timeout=2"
    unreachable = Settings(home=tmp_path / "home", store_url=nobody_listens)
    assert "could not be reached" in answered_off_page(unreachable, answered)


def test_only_reviews_with_a_design_weight_are_drawn_at_random() -> None:
    """The spread (a positive, finite design weight) names clusters and estimates; a
    borderline review, an override with a reason or a weight without a review do not."""
    reviewed = np.array([0, 1, 2, -1, 2, 0])
    weights = np.array([20.0, np.nan, 0.0, 15.0, np.inf, 3.5])
    np.testing.assert_array_equal(
        drawn_at_random(reviewed, weights), [True, False, False, False, False, True]
    )
