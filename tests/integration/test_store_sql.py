"""Point reads bind their parameters through the driver, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def _chunk(ids: list[int]) -> Any:
    import numpy as np

    from segmentation.store import ScoredChunk

    n = len(ids)
    return ScoredChunk(
        subject_ids=np.array(ids, dtype=np.int64),
        category_codes=np.zeros(n, dtype=np.int64),
        category_names=["regular", "irregular", "needs_support"],
        channel_codes=np.zeros(n, dtype=np.int64),
        channel_names=["digital_self_service", "guided_digital", "personal_handler"],
        regions=np.array(["01"] * n, dtype=object),
        supportive=0,
        confidence=np.full(n, 0.9),
        risk=np.zeros(n),
        signals=np.zeros(n, dtype=np.int16),
        inputs=np.ones((n, 26)),
    )


def test_chunks_are_written_in_any_order_and_never_twice(store: SegmentStore) -> None:
    import datetime as dt

    from segmentation.store import prepare_rows

    period = dt.date(2025, 12, 31)
    progress = store.start_run(
        run_key="k", population="citizens", model_version="1", chunk_rows=3, period_end=period
    )
    # 40 rows: more than one multi-row statement, and a remainder.
    second = prepare_rows("citizens", _chunk(list(range(200_000_000_000, 200_000_000_040))))
    first = prepare_rows("citizens", _chunk([100_000_000_003, 100_000_000_001]))
    assert store.write_chunk(second, progress=progress, chunk_index=1, rejected=0)
    assert store.write_chunk(first, progress=progress, chunk_index=0, rejected=2)
    # The same chunk again (a resumed run, or a second worker): not written.
    assert not store.write_chunk(first, progress=progress, chunk_index=0, rejected=2)
    resumed = store.start_run(
        run_key="k", population="citizens", model_version="1", chunk_rows=3, period_end=period
    )
    assert resumed.done == {0, 1}
    store.finish_run(resumed, "citizens")
    assert store.run_totals("k") == (42, 2)
    record = store.lookup("citizens", "100000000001")
    assert record is not None and record.current["category"] == "regular"
    assert store.period("citizens", period).rows == 42  # type: ignore[union-attr]


def test_chunks_written_side_by_side_keep_every_count(store: SegmentStore) -> None:
    """Two workers commit chunks at the same time: no chunk's counts are lost."""
    import datetime as dt
    from concurrent.futures import ThreadPoolExecutor

    from segmentation.store import prepare_rows

    period = dt.date(2025, 12, 31)
    progress = store.start_run(
        run_key="side", population="citizens", model_version="1", chunk_rows=5, period_end=period
    )
    chunks = 40

    def write(index: int) -> bool:
        first = 100_000_000_000 + index * 5
        rows = prepare_rows("citizens", _chunk(list(range(first, first + 5))))
        return store.write_chunk(rows, progress=progress, chunk_index=index, rejected=1)

    with ThreadPoolExecutor(max_workers=2) as pool:
        assert all(pool.map(write, range(chunks)))
    store.finish_run(progress, "citizens")
    written = store.period("citizens", period)
    assert written is not None and written.rows == 5 * chunks
    assert written.counts == {"regular": 5 * chunks, "irregular": 0, "needs_support": 0}
    assert store.run_totals("side") == (5 * chunks, chunks)
