"""Fixtures of the integration tier."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.runs import write_scoring_data


@pytest.fixture(scope="session")
def scoring_data(population_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The citizens plus a few broken rows of different kinds, and the employers."""
    return write_scoring_data(population_dir, tmp_path_factory.mktemp("scoring"))
