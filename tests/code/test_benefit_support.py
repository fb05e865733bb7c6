"""Customers whose benefits alone say needs support (``models.benefit_support``): weighed by
the rest of their behaviour, with the share of them who need support estimated from the
population, not assumed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.benefit_support import (
    SUPPORT_LIKENESS,
    dependent,
    in_much_contact,
    support_likeness,
)
from models.mixture import two_kind_likeness
from segmentation.features import numeric_matrix, raw_profile_metrics
from tests.factories import citizen_row, needs_support_row

#: How far apart (in standard deviations, on the first evidence feature) the two kinds lie.
SEPARATION = 3.0


def _population(
    seed: int, quiet_support: int, quiet_regular: int
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """3,000 customers with neither sign, 1,000 with both (two long dependency benefits and
    ten contacts a year), and customers with the benefits alone of both kinds, the first
    evidence feature telling the kinds apart. Returns the metrics, the evidence and whether
    each customer needs support."""
    rng = np.random.default_rng(seed)
    sizes = [3_000, 1_000, quiet_support, quiet_regular]
    benefits = np.repeat([0.0, 2.0, 2.0, 2.0], sizes)
    contacts = np.repeat([0.0, 10.0, 1.0, 1.0], sizes)
    support = np.repeat([False, True, True, False], sizes)
    evidence = rng.normal(size=(sum(sizes), 2))
    evidence[support, 0] += SEPARATION
    metrics = {"long_dependency_benefits": benefits, "contacts_per_year": contacts}
    return metrics, evidence, support


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(("quiet_support", "quiet_regular"), [(2000, 200), (200, 2000)])
def test_the_share_is_estimated_and_each_customer_named_by_their_behaviour(
    seed: int, quiet_support: int, quiet_regular: int
) -> None:
    metrics, evidence, support = _population(seed, quiet_support, quiet_regular)
    rows = len(support)
    found = support_likeness(metrics, np.zeros(rows), np.ones(rows, bool), evidence)
    assert found is not None
    undecided, likeness, share = found
    # The benefits alone: neither the quiet customers without them nor those with both signs.
    assert undecided.sum() == quiet_support + quiet_regular
    truth = quiet_support / (quiet_support + quiet_regular)
    assert abs(share - truth) < 0.08, (share, truth)
    named_support = likeness >= SUPPORT_LIKENESS
    assert np.mean(named_support == support[undecided]) > 0.85


def test_only_customers_named_regular_are_weighed() -> None:
    metrics, evidence, _ = _population(0, 500, 500)
    named_regular = np.ones(len(evidence), bool)
    named_regular[::3] = False  # named irregular (a change of life) or needs support
    found = support_likeness(metrics, np.zeros(len(evidence)), named_regular, evidence)
    assert found is not None
    assert not (found[0] & ~named_regular).any()


def test_a_change_in_the_year_keeps_a_customer_out_of_the_quiet_kind() -> None:
    """The plain regular kind is customers with neither sign and no change: with every quiet
    customer going through a change, no plain kind is left and the step stands aside."""
    metrics, evidence, _ = _population(0, 500, 500)
    rows = len(evidence)
    assert support_likeness(metrics, np.ones(rows), np.ones(rows, bool), evidence) is None


def test_the_likeness_does_not_depend_on_the_fits_seed() -> None:
    """Anchors drawn with a fixed seed: the same rows give the same likeness (stable names)."""
    rng = np.random.default_rng(0)
    evidence = rng.normal(size=(3_000, 2))
    kinds = rng.integers(0, 3, 3_000)
    first = two_kind_likeness(kinds == 0, kinds == 2, kinds == 1, evidence, anchor_rows=500)
    second = two_kind_likeness(kinds == 0, kinds == 2, kinds == 1, evidence, anchor_rows=500)
    assert first is not None and second is not None
    assert np.array_equal(first[0], second[0]) and first[1] == second[1]


def test_the_signs_are_read_from_the_contract_columns() -> None:
    """Sickness compensation and housing allowance all year with one contact: the benefits
    alone; the documented needs-support row shows both signs; a plain customer neither."""
    quiet = citizen_row(
        contacts_phone=1, benefit_months_sjukersattning=12, benefit_months_bostadsbidrag=12
    )
    raw = numeric_matrix(pd.DataFrame([citizen_row(), needs_support_row(), quiet]), "citizens")
    metrics = raw_profile_metrics(raw, "citizens")
    assert dependent(metrics).tolist() == [False, True, True]
    assert in_much_contact(metrics).tolist() == [False, True, False]
