"""What `segmentation train` tells an operator about a population's new version."""

from __future__ import annotations

import pandas as pd
import pytest

from training.train import PopulationReport


def _report(population: str, metrics: dict[str, float]) -> PopulationReport:
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
    )


def test_citizens_trained_without_reviews_are_told_their_categories_are_unmeasured() -> None:
    note = _report("citizens", {}).unmeasured
    assert note is not None
    assert "not measured (no reviews)" in note and "right category" in note


@pytest.mark.parametrize("measured", ["review_macro_recall", "truth_macro_recall"])
def test_agreement_measured_by_reviews_or_a_truth_file_needs_no_warning(measured: str) -> None:
    assert _report("citizens", {measured: 0.95}).unmeasured is None


def test_employers_are_defined_by_head_count_and_need_no_reviews() -> None:
    assert _report("employers", {}).unmeasured is None
