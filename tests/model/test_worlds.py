"""The method on every world of the suite, at any seed: quality, stability, reviews, and the
documented behaviour of the categories (README, "Model quality on unseen worlds").

Small populations (20,000); `bench/bench_worlds.py` runs the same at full size. Floors are
below what was measured at this size (worst world 0.78 macro recall unsupervised; stability
0.982 at worst over every world at seeds 3-6 with the nine voting clusterings, 2026-11-30)
so that they hold for any seed, and far above the method this replaced (0.43 on the
latent-need world).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.benefit_support import benefits_alone
from models.segmenter import ClusterSegmenter
from segmentation.features import numeric_matrix, raw_profile_metrics
from tests.factories import citizen_row, irregular_row, needs_support_row
from training.evaluate import agreement
from training.review import draw_sample
from training.worlds import WORLDS

pytestmark = pytest.mark.slow
SIZE = 20_000
NAMES = ["regular", "irregular", "needs_support"]
#: Worlds where reviews must add: in the latent-need worlds the unsupervised method already
#: reaches the world's supervised ceiling (about 0.84 with every label).
LEARNABLE = (
    "archetype",
    "life_course",
    "life_course_86",
    "between",
    "latent_need_wide",
    "life_course_onset",
    "life_stage",
    "segments",
    "life_course_habits",
)
#: The floor without reviews where a world sits below the others: in ``life_stage`` (written
#: apart, twenty-sixth session) ordinary lives are busy (families' parental benefit in
#: chunks, pensioners' health contacts), and without reviews the method reaches 0.763-0.784
#: macro recall at this size (seeds 0-7; 0.767-0.772 at 100,000; 0.694-0.712 before the
#: benefit-support step), as 1,000 true categories teach the issue's peer only 0.85; 300
#: reviews bring it to 0.889-0.897.
UNSUPERVISED_FLOOR = {"life_stage": 0.72}


def _world(name: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    frame, truth = WORLDS[name].citizens(SIZE, seed)
    codes = pd.Categorical(truth["category"], categories=NAMES).codes.astype(np.int64)
    return numeric_matrix(frame, "citizens"), codes


@pytest.mark.parametrize("seed", [3, 4])
@pytest.mark.parametrize("world", list(WORLDS))
def test_every_world_at_any_seed(world: str, seed: int) -> None:
    raw, truth = _world(world, seed)
    model = ClusterSegmenter("citizens", random_state=seed).fit(raw)
    predicted = model.predict_index(raw)
    without_reviews = agreement(predicted, truth, "citizens")
    unsupervised = without_reviews["truth_macro_recall"]
    assert unsupervised >= UNSUPERVISED_FLOOR.get(world, 0.75), unsupervised

    # Stable: a re-fit with another seed keeps nearly everyone in their category.
    refit = ClusterSegmenter("citizens", random_state=seed + 1000).fit(raw)
    assert np.mean(refit.predict_index(raw) == predicted) >= 0.97

    # Behaviour the source documents give, whatever world the model learnt from.
    rows = pd.DataFrame([citizen_row(), needs_support_row()])
    assert model.predict(numeric_matrix(rows, "citizens")).tolist() == [
        "regular",
        "needs_support",
    ]

    # 300 reviews drawn by the review sample and answered truthfully.
    sample = draw_sample(model, raw, np.arange(len(raw)), n=300, seed=seed)
    reviewed = np.full(len(raw), -1)
    rows_reviewed = sample["id"].to_numpy()
    reviewed[rows_reviewed] = truth[rows_reviewed]
    with_reviews = ClusterSegmenter("citizens", random_state=seed).fit(
        raw, reviewed, champion=model
    )
    figures = agreement(with_reviews.predict_index(raw), truth, "citizens")
    learnt = figures["truth_macro_recall"]
    assert learnt >= 0.75
    if world in LEARNABLE:
        assert learnt >= unsupervised + 0.03, (unsupervised, learnt)


@pytest.mark.parametrize("seed", [3, 4])
@pytest.mark.parametrize(
    "world",
    [
        "latent_need_clear",
        "latent_need_a",
        "latent_need_wide",
        "latent_need_joint",
        "latent_need_habits",
    ],
)
def test_without_reviews_the_issue_bar_holds_where_the_data_allows_it(
    world: str, seed: int
) -> None:
    """Issue 8's bar without reviews (macro recall >= 0.90, ARI >= 0.85 on a population like
    A) on the latent-need worlds as learnable as A or a little less; measured 0.957-0.970 /
    0.879-0.891 on ``latent_need_clear`` at seeds 0-7 at this size before the single-change
    step. On ``latent_need_wide`` (written apart), where a change of life also comes to
    regular customers, the ARI was 0.78-0.79 until customers with one change were weighed
    by the rest of their behaviour (``models.single_change``): 0.912-0.923 / 0.862-0.876 at
    seeds 0-7 at this size. ``latent_need_joint``, A as both of the issue's peers read it
    (calibrated on them, then run once): 0.947-0.962 / 0.926-0.942 at seeds 0-7 at this
    size. ``latent_need_habits`` (A with habits that are not need, written apart and
    calibrated on the peers, then run once): 0.939-0.953 / 0.921-0.931 at seeds 0-7 at this
    size. The plain latent-need world cannot be held to it: there every true category of
    half the population teaches a classifier only about 0.82."""
    raw, truth = _world(world, seed)
    model = ClusterSegmenter("citizens", random_state=seed).fit(raw)
    figures = agreement(model.predict_index(raw), truth, "citizens")
    assert figures["truth_macro_recall"] >= 0.90, figures
    assert figures["truth_ari"] >= 0.85, figures


@pytest.mark.parametrize("seed", [3, 4])
@pytest.mark.parametrize("world", ["life_course", "life_course_86"])
def test_contacts_around_a_change_do_not_make_a_life_course_needs_support(
    world: str, seed: int
) -> None:
    """A change brings contacts of its own (``TraitRule``): without reviews, few of the
    customers going through a sickness or a job loss are named needs support, and the
    life-course worlds stay above issue 8's bar of 0.80 for a population like B. Measured
    at this size, seeds 0-7: 0.828-0.861 macro recall (0.847-0.883 before the single-change
    step, which trades a little macro recall for ARI: 0.835-0.865 against 0.718-0.765 at
    100,000 citizens, seeds 0-2), 1-7 % of
    irregular customers named needs support; with the contact threshold fixed at the
    geometric middle 15-19 % were, and macro recall was 0.82-0.84 (seeds 0, 3, 4)."""
    raw, truth = _world(world, seed)
    predicted = ClusterSegmenter("citizens", random_state=seed).fit(raw).predict_index(raw)
    assert np.mean(predicted[truth == 1] == 2) < 0.12
    assert agreement(predicted, truth, "citizens")["truth_macro_recall"] >= 0.81


@pytest.mark.parametrize("seed", [3, 4])
def test_quiet_customers_whose_benefits_say_needs_support_are_weighed_by_behaviour(
    seed: int,
) -> None:
    """``models.benefit_support``: on ``life_stage`` the customers with two or more long
    dependency benefits and few contacts are vulnerable customers who rarely call and single
    parents on maintenance support and housing allowance. Named by their quiet cluster,
    nearly all were regular; weighed by how they contact and apply, most of those who need
    support are named so. Measured at this size, seeds 0-7: their needs-support recall
    0.785-0.880 with the step against 0.311-0.427 without, macro recall 0.763-0.784 against
    0.694-0.712 (and 55-78 % of the regular ones named needs support, against 10-25 %)."""
    raw, truth = _world("life_stage", seed)
    _, weighed, by_cluster = _with_and_without_benefit_step(raw, seed)
    needs_support = benefits_alone(raw_profile_metrics(raw, "citizens")) & (truth == 2)
    assert np.mean(weighed[needs_support] == 2) >= 0.7
    assert np.mean(weighed[needs_support] == 2) >= np.mean(by_cluster[needs_support] == 2) + 0.25
    assert (
        agreement(weighed, truth, "citizens")["truth_macro_recall"]
        >= agreement(by_cluster, truth, "citizens")["truth_macro_recall"] + 0.04
    )


@pytest.mark.parametrize("seed", [3, 4])
def test_where_need_drives_every_behaviour_the_benefit_step_moves_few(seed: int) -> None:
    """On ``latent_need_a`` a customer's benefits, contacts and the rest rise with one need:
    quiet customers with long benefits behave quietly, and the step names few of them needs
    support (measured at this size, seeds 0-7: 0.09-0.35 % of customers moved, the estimated
    share 0.02-0.04, macro recall within 0.004 of the method without the step)."""
    raw, truth = _world("latent_need_a", seed)
    model, weighed, by_cluster = _with_and_without_benefit_step(raw, seed)
    assert np.mean(weighed != by_cluster) < 0.01
    assert model.benefit_support_share_ is not None and model.benefit_support_share_ < 0.15
    assert (
        agreement(weighed, truth, "citizens")["truth_macro_recall"]
        >= agreement(by_cluster, truth, "citizens")["truth_macro_recall"] - 0.01
    )


def _with_and_without_benefit_step(
    raw: np.ndarray, seed: int
) -> tuple[ClusterSegmenter, np.ndarray, np.ndarray]:
    """The method fitted without reviews, its categories, and the categories of the same fit
    without the benefit-support step (such customers named by their cluster)."""
    model = ClusterSegmenter("citizens", random_state=seed).fit(raw)
    without = ClusterSegmenter("citizens", random_state=seed, weigh_benefit_support=False)
    return model, model.predict_index(raw), without.fit(raw).predict_index(raw)


def test_a_champion_keeps_its_customers_on_a_retrain() -> None:
    """Stable names: a retrain named by the champion keeps >= 98 % in their category."""
    raw, _ = _world("life_course", 5)
    champion = ClusterSegmenter("citizens", random_state=1).fit(raw)
    retrain = ClusterSegmenter("citizens", random_state=2).fit(raw, champion=champion)
    assert np.mean(retrain.predict_index(raw) == champion.predict_index(raw)) >= 0.98


def test_irregular_row_is_irregular_on_the_projects_own_world() -> None:
    raw, _ = _world("archetype", 6)
    model = ClusterSegmenter("citizens", random_state=6).fit(raw)
    rows = pd.DataFrame([irregular_row()])
    assert model.predict(numeric_matrix(rows, "citizens")).tolist() == ["irregular"]


def test_the_review_weight_is_the_one_the_reviews_agree_with_most() -> None:
    """Training weighs the reviews by cross-validated agreement with them: the chosen weight
    is the best candidate's (a tie to the lighter), and its reported figure is the one
    measured for a model of that weight alone on the same folds."""
    from training.evaluate import ReviewWeight, choose_review_weight

    raw, truth = _world("life_course", 7)
    champion = ClusterSegmenter("citizens", random_state=7).fit(raw)
    sample = draw_sample(champion, raw, np.arange(len(raw)), n=300, seed=7)
    reviewed = np.full(len(raw), -1)
    rows = sample["id"].to_numpy()
    reviewed[rows] = truth[rows]
    weights = np.full(len(raw), np.nan)
    weights[rows] = 1.0 / sample["inclusion_probability"].to_numpy()

    def measure(blend: bool, candidates: tuple[float, ...], **kwargs: object) -> ReviewWeight:
        model = ClusterSegmenter("citizens", random_state=7, review_blend=blend)
        return choose_review_weight(
            model, raw, reviewed, weights, folds=3, seed=7, champion=champion,
            candidates=candidates, **kwargs,  # type: ignore[arg-type]
        )  # fmt: skip

    chosen = measure(False, (1.0, 10.0))
    assert not chosen.blend and chosen.agreement["review_blend"] == 0.0
    weight, agreed = chosen.weight, chosen.agreement
    # Out-of-fold probabilities of every reviewed row (what calibration learns from).
    assert chosen.out_of_fold.shape == (int((reviewed >= 0).sum()), 3)
    np.testing.assert_allclose(chosen.out_of_fold.sum(axis=1), 1.0)
    # Every weight, without and with the reviews re-naming rows: the best; among equals the
    # lighter weight, then not re-naming.
    by_setting = {
        (w, relabel): agreed[f"review_macro_recall_at_weight_{w:g}{'_relabel' if relabel else ''}"]
        for w in (1.0, 10.0)
        for relabel in (False, True)
    }
    best = max(by_setting.values())
    assert (weight, chosen.relabel) == min(s for s, value in by_setting.items() if value == best)
    assert agreed["review_weight"] == weight
    assert agreed["review_relabel"] == float(chosen.relabel)
    again = measure(False, (weight,), relabels=(chosen.relabel,)).agreement
    assert again["review_macro_recall"] == agreed["review_macro_recall"] == best
    # A model that blends (the default) is measured as the settings' average, on the
    # same folds: its figure is the average's, each setting's beside it.
    blending = measure(True, (1.0, 10.0))
    assert blending.blend and blending.agreement["review_blend"] == 1.0
    assert "review_weight" not in blending.agreement
    assert blending.agreement["review_macro_recall"] == agreed["review_macro_recall_blended"]
    assert blending.agreement["review_macro_recall_at_weight_10"] == by_setting[(10.0, False)]
    np.testing.assert_allclose(blending.out_of_fold.sum(axis=1), 1.0)
    assert not np.allclose(blending.out_of_fold, chosen.out_of_fold)


def test_a_review_sample_drawn_chunk_by_chunk_is_the_same_sample() -> None:
    """`review sample` scores a large table a chunk at a time: each row's stratum and margin
    do not depend on the chunk it is scored in, so the sample is the one-pass sample."""
    from training.review import draw_from_scores, sample_scores

    raw, _ = _world("between", 8)
    model = ClusterSegmenter("citizens", random_state=8).fit(raw)
    ids = np.arange(len(raw)) + 10**11
    whole = draw_sample(model, raw, ids, n=400, seed=8)
    parts = [
        sample_scores(model, raw[start : start + 7_000]) for start in range(0, len(raw), 7_000)
    ]
    strata = np.concatenate([p[0] for p in parts])
    margin = np.concatenate([p[1] for p in parts])
    pd.testing.assert_frame_equal(draw_from_scores(strata, margin, ids, n=400, seed=8), whole)
    assert set(whole["part"]) == {"spread", "borderline"} and whole["id"].is_unique


@pytest.mark.parametrize("seed", [3, 4])
def test_a_cross_fitted_second_round_teaches_and_never_repeats_a_customer(seed: int) -> None:
    """Reviews in two rounds: a spread round, then a borderline round drawn by two models,
    each taught by half of the first round; the second round's reviews add to the first's."""
    from training.review import draw_cross_fitted, review_halves

    raw, truth = _world("life_course", seed)
    model = ClusterSegmenter("citizens", random_state=seed).fit(raw)
    first = draw_sample(model, raw, np.arange(len(raw)), n=300, seed=seed, part="spread")
    reviewed = np.full(len(raw), -1)
    rows = first["id"].to_numpy()
    reviewed[rows] = truth[rows]
    template = ClusterSegmenter("citizens", random_state=seed, relabel=True)
    first_round = template.fit(raw, reviewed, champion=model)
    second = draw_cross_fitted(
        ClusterSegmenter("citizens", random_state=seed, relabel=True),
        raw,
        np.arange(len(raw)),
        reviewed,
        reviewed >= 0,
        np.full(len(raw), -1),
        n=300,
        seed=seed,
    )
    drawn = second["id"].to_numpy()
    assert len(np.unique(drawn)) == 300 and not (reviewed[drawn] >= 0).any()
    assert set(second["part"]) == {"borderline"}
    assert second["half"].value_counts().to_dict() == {0: 150, 1: 150}
    assert second["half"].head(4).tolist() == [0, 1, 0, 1]  # the halves interleaved
    assert 100 < review_halves(rows).sum() < 200
    reviewed[drawn] = truth[drawn]
    both = ClusterSegmenter("citizens", random_state=seed, relabel=True).fit(
        raw, reviewed, champion=first_round
    )
    before = agreement(first_round.predict_index(raw), truth, "citizens")["truth_macro_recall"]
    after = agreement(both.predict_index(raw), truth, "citizens")["truth_macro_recall"]
    assert after >= before + 0.005, (before, after)
