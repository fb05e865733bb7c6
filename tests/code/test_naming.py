"""Naming clusters: by the documented traits, by reviews, by the champion; never by shares."""

import numpy as np
import pandas as pd
import pytest

from segmentation.naming import category_profiles, name_by_traits, name_clusters


def _population(
    seed: int, sizes: list[int]
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """Five clusters: three quiet ones (regular), one changing (irregular), one busy with
    several long benefits (needs support)."""
    rng = np.random.default_rng(seed)
    contacts_mean = [0.3, 0.5, 0.4, 0.9, 6.5]
    minutes_mean = [20.0, 30.0, 28.0, 25.0, 39.0]
    change = [0.05, 0.08, 0.05, 0.95, 0.4]
    long_benefits = [0.1, 0.2, 0.1, 0.6, 2.4]
    labels = np.repeat(np.arange(5), sizes)
    metrics = {
        "contacts_per_year": rng.poisson(np.repeat(contacts_mean, sizes)).astype(float),
        "handling_minutes": rng.gamma(2.0, np.repeat(minutes_mean, sizes) / 2.0),
        "life_change_rate": (rng.random(labels.size) < np.repeat(change, sizes)).astype(float),
        "concurrent_benefits": np.repeat(long_benefits, sizes) + 1,
        "long_dependency_benefits": rng.poisson(np.repeat(long_benefits, sizes)).astype(float),
    }
    return labels, metrics, np.array([0, 0, 0, 1, 2])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clusters_are_named_by_their_traits_not_their_number(seed: int) -> None:
    labels, metrics, expected = _population(seed, [3000, 2500, 2400, 1100, 1000])
    names = name_clusters("citizens", labels, metrics, 5)
    assert names.category.tolist() == expected.tolist()
    assert set(names.source) == {"traits"}
    assert ((names.confidence > 0) & (names.confidence <= 1)).all()

    # Renumbering the clusters renames them consistently.
    permutation = np.array([4, 2, 0, 3, 1])
    renamed = name_clusters("citizens", permutation[labels], metrics, 5)
    assert renamed.category[permutation].tolist() == expected.tolist()


def test_shares_far_from_the_reference_are_kept_not_forced() -> None:
    # Half the population is going through a change: the reference says 11 %, the naming
    # still calls the changing clusters irregular (the difference is reported as drift).
    labels, metrics, expected = _population(0, [1000, 800, 700, 4000, 1500])
    names = name_clusters("citizens", labels, metrics, 5)
    assert names.category.tolist() == expected.tolist()
    profiles = category_profiles("citizens", names.category[labels], metrics)
    assert profiles.loc["irregular", "share"] > 0.4
    assert profiles.loc["irregular", "reference_share"] == pytest.approx(0.11)


def test_reviews_win_over_traits_for_the_clusters_they_cover() -> None:
    labels, metrics, expected = _population(0, [3000, 2500, 2400, 1100, 1000])
    reviewed = np.full(labels.size, -1)
    # Case handlers say cluster 2 (quiet by its traits) needs support: eight reviews.
    reviewed[np.flatnonzero(labels == 2)[:8]] = 2
    names = name_clusters("citizens", labels, metrics, 5, reviewed=reviewed)
    assert names.category[2] == 2 and names.source[2] == "reviews"
    others = [0, 1, 3, 4]
    assert names.category[others].tolist() == expected[others].tolist()


def test_one_review_against_a_clear_trait_name_does_not_rename_the_cluster() -> None:
    labels, metrics, _ = _population(0, [3000, 2500, 2400, 1100, 1000])
    reviewed = np.full(labels.size, -1)
    reviewed[np.flatnonzero(labels == 0)[:1]] = 1
    names = name_clusters("citizens", labels, metrics, 5, reviewed=reviewed)
    assert names.category[0] == 0


def test_the_champion_names_clusters_when_there_are_no_reviews() -> None:
    labels, metrics, _ = _population(0, [3000, 2500, 2400, 1100, 1000])
    champion_codes = np.array([0, 1, 1, 1, 2])[labels]
    names = name_clusters("citizens", labels, metrics, 5, champion_codes=champion_codes)
    assert names.category.tolist() == [0, 1, 1, 1, 2]
    assert set(names.source) == {"champion"}


@pytest.mark.parametrize(
    ("contacts", "change", "long_benefits", "expected"),
    [
        # A change brings contacts: 4 a year around one is no sign of needing support ...
        (4.0, 0.95, 0.2, 1),
        # ... but 4 a year with no change behind them is (past the geometric middle, 2.5),
        (4.0, 0.05, 0.2, 2),
        # and so are contacts past the needs-support reference, change or not,
        (9.0, 0.95, 0.2, 2),
        # and several long benefits held at once, however few the contacts.
        (0.5, 0.95, 2.4, 2),
    ],
)
def test_contacts_around_a_change_need_more_to_mean_needs_support(
    contacts: float, change: float, long_benefits: float, expected: int
) -> None:
    profiles = pd.DataFrame(
        {
            "contacts_per_year": [0.3, contacts],
            "life_change_rate": [0.02, change],
            "long_dependency_benefits": [0.0, long_benefits],
        }
    )
    category, confidence = name_by_traits(profiles)
    assert category.tolist() == [0, expected]
    assert (confidence > 0).all()
