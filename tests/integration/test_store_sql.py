"""Point reads bind their parameters through the driver, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from segmentation.store import SegmentStore

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path, postgres_url: str) -> SegmentStore:
    url = f"sqlite:///{tmp_path / 'segments.db'}" if request.param == "sqlite" else postgres_url
    created = SegmentStore(url)
    created.create()
    yield created
    created.dispose()


def test_a_literal_question_mark_survives_and_parameters_bind(store: SegmentStore) -> None:
    # The old server path rewrote every "?" into "%s", the literal one included.
    rows = store._read([("SELECT 'why?' AS q, CAST(:x AS INTEGER) AS x", {"x": 7})])
    assert rows == [[("why?", 7)]]
    assert store.lookup("citizens", "198112189876") is None  # the real query still binds
