"""Customers with exactly one change: weighed by the rest of their behaviour
(``models.single_change``), with the share of them who lead an irregular life estimated
from the population, not assumed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.single_change import irregular_likeness, likely_needs_support
from segmentation.features import change_counts, numeric_matrix, raw_profile_metrics
from tests.factories import citizen_row, needs_support_row

#: How far apart (in standard deviations, on the first evidence feature) the two kinds lie.
SEPARATION = 3.0


def _population(
    seed: int, single_irregular: int, single_regular: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """3,000 customers without a change, 1,000 with several, and single-change customers of
    both kinds; evidence: two features, the first telling the kinds apart. Returns the
    changes, the evidence and, for the single-change rows, whether they are irregular."""
    rng = np.random.default_rng(seed)
    sizes = [3_000, 1_000, single_irregular, single_regular]
    changes = np.repeat([0, 3, 1, 1], sizes)
    irregular = np.repeat([False, True, True, False], sizes)
    evidence = rng.normal(size=(sum(sizes), 2))
    evidence[irregular, 0] += SEPARATION
    return changes, evidence, irregular


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(
    ("single_irregular", "single_regular"), [(3000, 300), (300, 3000), (1500, 1500)]
)
def test_the_share_is_estimated_and_each_customer_named_by_their_behaviour(
    seed: int, single_irregular: int, single_regular: int
) -> None:
    changes, evidence, irregular = _population(seed, single_irregular, single_regular)
    found = irregular_likeness(changes, np.zeros(len(changes), bool), evidence)
    assert found is not None
    likeness, share = found
    single = changes == 1
    truth = single_irregular / (single_irregular + single_regular)
    assert abs(share - truth) < 0.08, (share, truth)
    named_irregular = likeness[single] >= 0.35
    assert np.mean(named_irregular == irregular[single]) > 0.85
    # The kinds the changes settle keep their names.
    assert (likeness[changes == 0] == 0).all() and (likeness[changes >= 2] == 1).all()


def test_rows_outside_both_kinds_neither_teach_nor_are_weighed() -> None:
    changes, evidence, _ = _population(0, 500, 500)
    outside = np.zeros(len(changes), bool)
    outside[::7] = True
    found = irregular_likeness(changes, outside, evidence)
    assert found is not None
    assert (found[0][outside] == 0).all()


def test_without_enough_customers_of_a_kind_the_step_stands_aside() -> None:
    changes, evidence, _ = _population(0, 500, 500)
    several = changes >= 2
    assert (
        irregular_likeness(changes[~several], np.zeros((~several).sum(), bool), evidence[~several])
        is None
    )


def test_the_likeness_does_not_depend_on_the_fits_seed() -> None:
    """Anchors drawn with a fixed seed: the same rows give the same likeness (stable names)."""
    changes, evidence, _ = _population(3, 800, 1200)
    outside = np.zeros(len(changes), bool)
    first = irregular_likeness(changes, outside, evidence)
    second = irregular_likeness(changes, outside, evidence)
    assert first is not None and second is not None
    assert np.array_equal(first[0], second[0]) and first[1] == second[1]


def test_changes_count_life_events_and_benefits_that_start_or_stop() -> None:
    quiet, busy = citizen_row(), citizen_row()
    busy.update(life_events=2, benefit_months_sjukpenning=4, benefit_months_barnbidrag=12)
    raw = numeric_matrix(pd.DataFrame([quiet, busy]), "citizens")
    counts = change_counts(raw)
    assert counts[1] - counts[0] == 3  # two events and a sickness spell that stopped


def test_a_customer_with_long_dependency_benefits_stands_outside_the_kinds() -> None:
    raw = numeric_matrix(pd.DataFrame([citizen_row(), needs_support_row()]), "citizens")
    assert likely_needs_support(raw_profile_metrics(raw, "citizens")).tolist() == [False, True]
