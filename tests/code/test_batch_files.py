"""A table's chunks (every row read once, in file order, by the worker that scores it) and
the facts read before the first chunk (repeated ids, the period)."""

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from training.score import (
    Chunk,
    _period_in_statistics,
    _read_chunk,
    chunk_plan,
    duplicated_ids,
    table_period,
)


def _table(path: Path, rows: int, row_group_size: int) -> pa.Table:
    table = pa.table({"n": pa.array(range(rows), pa.int64())})
    pq.write_table(table, path, row_group_size=row_group_size)
    return table


@pytest.mark.parametrize(
    ("rows", "row_group_size", "chunk_rows"),
    [(1_000, 1_000, 250), (1_000, 300, 250), (1_000, 300, 1_000), (7, 7, 2), (1_001, 500, 333)],
)
def test_chunks_cover_every_row_once_in_order(
    tmp_path: Path, rows: int, row_group_size: int, chunk_rows: int
) -> None:
    path = tmp_path / "t.parquet"
    table = _table(path, rows, row_group_size)
    chunks = chunk_plan(pq.ParquetFile(path).metadata, chunk_rows)
    read = [_read_chunk(path, chunk) for chunk in chunks]
    assert all(0 < batch.num_rows <= chunk_rows for batch in read)
    assert pa.Table.from_batches(read).column("n").to_pylist() == table.column("n").to_pylist()
    assert [chunk.index for chunk in chunks] == list(range(len(chunks)))
    ends = [chunk.end_row for chunk in chunks]
    assert ends[-1] == rows and ends == sorted(ends)
    sizes = [batch.num_rows for batch in read]
    assert ends == [sum(sizes[: i + 1]) for i in range(len(sizes))]


def test_row_groups_cut_into_equal_slices() -> None:
    # 1,000 rows in one group, chunks of at most 400: three slices of 334, 334, 332 (not
    # 400, 400, 200), so the last chunk is not a small straggler.
    metadata = pq.ParquetFile(
        pa.BufferReader(_buffer(pa.table({"n": pa.array(range(1_000))}), 1_000))
    ).metadata
    assert chunk_plan(metadata, 400) == [
        Chunk(0, 0, 0, 334, 334),
        Chunk(1, 0, 1, 334, 668),
        Chunk(2, 0, 2, 334, 1_000),
    ]


def test_a_table_without_rows_has_no_chunks(tmp_path: Path) -> None:
    path = tmp_path / "empty.parquet"
    _table(path, 0, 10)
    assert chunk_plan(pq.ParquetFile(path).metadata, 100) == []


def test_a_replaced_file_is_read_anew(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    _table(path, 10, 10)
    (chunk,) = chunk_plan(pq.ParquetFile(path).metadata, 10)
    assert _read_chunk(path, chunk).column(0).to_pylist() == list(range(10))
    # Another file under the same name (its size differs: a second column).
    pq.write_table(pa.table({"n": pa.array(range(100, 110)), "m": pa.array(range(10))}), path)
    assert _read_chunk(path, chunk).column(0).to_pylist() == list(range(100, 110))


def _buffer(table: pa.Table, row_group_size: int) -> pa.Buffer:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, row_group_size=row_group_size)
    return sink.getvalue()


def test_ids_repeated_in_other_row_groups_are_found(tmp_path: Path) -> None:
    ids = [f"{n:012d}" for n in range(1_000)]
    ids[900] = ids[5]  # a repeat in another row group
    ids[950] = ids[951] = "not-a-number"  # invalid ids, repeated
    ids[960] = ids[10] = "12345"  # too short: compared as text
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"customer_id": ids}), path, row_group_size=300)
    assert (
        duplicated_ids(path, "customer_id")
        == {ids[5], "not-a-number", "12345"}
        == {ids[5], "not-a-number", "12345"}
    )


def test_the_period_comes_from_the_statistics_or_the_column(tmp_path: Path) -> None:
    one = pa.table({"period_end": pa.array([dt.date(2025, 12, 31)] * 6)})
    pq.write_table(one, tmp_path / "one.parquet", row_group_size=2)
    assert _period_in_statistics(pq.ParquetFile(tmp_path / "one.parquet").metadata) == dt.date(
        2025, 12, 31
    )
    assert table_period(tmp_path / "one.parquet") == dt.date(2025, 12, 31)
    # Two periods, mostly 2025: the statistics say nothing; the column is counted.
    mixed = pa.table(
        {"period_end": pa.array([dt.date(2024, 12, 31)] + [dt.date(2025, 12, 31)] * 5)}
    )
    pq.write_table(mixed, tmp_path / "mixed.parquet", row_group_size=2)
    assert _period_in_statistics(pq.ParquetFile(tmp_path / "mixed.parquet").metadata) is None
    assert table_period(tmp_path / "mixed.parquet") == dt.date(2025, 12, 31)
    # An empty cell: counted too (the empty row is set aside when scored).
    empty = pa.table({"period_end": pa.array([None] + [dt.date(2025, 12, 31)] * 2)})
    pq.write_table(empty, tmp_path / "empty.parquet")
    assert _period_in_statistics(pq.ParquetFile(tmp_path / "empty.parquet").metadata) is None
    assert table_period(tmp_path / "empty.parquet") == dt.date(2025, 12, 31)
