import numpy as np
import pandas as pd

from data_contracts.validation import validate
from segmentation.taxonomy import CITIZEN_CATEGORIES
from training.synthetic import generate_citizens, generate_employers


def test_generator_is_deterministic_by_seed() -> None:
    first, _ = generate_citizens(5_000, seed=3)
    second, _ = generate_citizens(5_000, seed=3)
    third, _ = generate_citizens(5_000, seed=4)
    pd.testing.assert_frame_equal(first, second)
    assert not first.equals(third)


def test_generated_rows_keep_the_contract_and_ids_are_unique() -> None:
    citizens, _ = generate_citizens(50_000, seed=1)
    employers, _ = generate_employers(5_000, seed=1)
    assert validate(citizens, "citizens").counts["rejected"] == 0
    assert validate(employers, "employers").counts["rejected"] == 0
    assert citizens["customer_id"].is_unique and employers["org_number"].is_unique


def test_true_categories_match_the_reference_table() -> None:
    citizens, truth = generate_citizens(200_000, seed=2)
    contacts = citizens[
        ["contacts_phone", "contacts_office", "contacts_digital", "contacts_letter"]
    ].sum(axis=1)
    by_category = pd.DataFrame(
        {
            "category": truth["category"],
            "contacts": contacts,
            "minutes": citizens["handling_minutes"],
        }
    ).groupby("category")
    for category in CITIZEN_CATEGORIES:
        share = (truth["category"] == category.name).mean()
        assert abs(share - category.share) < 0.01
        assert (
            abs(
                by_category["contacts"].mean()[category.name]
                / category.profile["contacts_per_year"]
                - 1
            )
            < 0.10
        )
        assert (
            abs(
                by_category["minutes"].mean()[category.name] / category.profile["handling_minutes"]
                - 1
            )
            < 0.15
        )


def test_categories_overlap_on_every_single_column() -> None:
    """No one column separates the categories: the model must combine them."""
    citizens, truth = generate_citizens(100_000, seed=5)
    irregular = truth["category"].to_numpy() == "irregular"
    for column in ("life_events", "contacts_phone", "portal_logins"):
        values = citizens[column].to_numpy()
        threshold_hits = [
            min((values[irregular] > t).mean(), 1 - (values[~irregular] > t).mean())
            for t in range(0, 5)
        ]
        assert max(threshold_hits) < 0.95, column


def test_employer_sizes_follow_the_definition() -> None:
    employers, truth = generate_employers(20_000, seed=1)
    small = truth["category"].to_numpy() == "small"
    assert abs(small.mean() - 0.8) < 0.02
    assert (employers["employees"].to_numpy()[small] < 20).all()
    assert (employers["employees"].to_numpy()[~small] >= 20).all()
    assert np.isfinite(employers["handling_minutes"]).all()
