"""What `segmentation train` tells an operator about a population's new version."""

from __future__ import annotations

import pandas as pd
import pytest

from training.train import PopulationReport


def _report(
    population: str, metrics: dict[str, float], drift: list[str] | None = None
) -> PopulationReport:
    return PopulationReport(
        population=population,  # type: ignore[arg-type]
        rows_accepted=1_000,
        rows_rejected=0,
        version="3",
        promoted=True,
        champion_version="3",
        gate_reasons=[],
        metrics={"stability": 0.99, **metrics},
        profiles=pd.DataFrame(),
        drift=drift or [],
    )


def test_citizens_trained_without_reviews_are_told_their_categories_are_unmeasured() -> None:
    note = _report("citizens", {}).unmeasured
    assert note is not None
    assert "not measured (no reviews)" in note and "right category" in note


def test_a_profile_far_from_the_reference_without_reviews_says_reviews_tell_why() -> None:
    """Far from the reference, the warning says what it cannot tell apart: a population
    that differs, or contacts counted otherwise (the traits name by contacts)."""
    note = _report("citizens", {}, ["needs_support: share 0.311 against the reference 0.10"])
    assert note.unmeasured is not None
    assert "far from the reference" in note.unmeasured
    assert "contacts are counted otherwise" in note.unmeasured
    measured = _report("citizens", {"review_macro_recall": 0.95}, ["regular: share 0.6"])
    assert measured.unmeasured is None


@pytest.mark.parametrize("measured", ["review_macro_recall", "truth_macro_recall"])
def test_agreement_measured_by_reviews_or_a_truth_file_needs_no_warning(measured: str) -> None:
    assert _report("citizens", {measured: 0.95}).unmeasured is None


def test_employers_are_defined_by_head_count_and_need_no_reviews() -> None:
    assert _report("employers", {}).unmeasured is None
