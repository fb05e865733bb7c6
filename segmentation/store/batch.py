"""The batch path: a scoring run writes one period's table chunk by chunk, each chunk and
its progress in one transaction (a crash loses nothing and doubles nothing: the run
resumes after its last committed chunk), then completes the period in one transaction."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from sqlalchemy import delete, insert, select, update

from segmentation.store.base import StoreBase
from segmentation.store.schema import (
    BEHAVIOUR_COLUMNS,
    as_utc,
    batch_progress,
    period_columns,
    period_table,
    segment_periods,
    utcnow,
)
from segmentation.taxonomy import Population


@dataclass(frozen=True)
class ScoredChunk:
    """One chunk of scored rows, columnar."""

    subject_ids: np.ndarray  # int64
    category_codes: np.ndarray  # int, into category_names (the model's category index)
    category_names: Sequence[str]
    channels: np.ndarray  # the suggested channel per row (strings)
    regions: np.ndarray  # county codes (strings)
    behaviour: dict[str, np.ndarray]
    confidence: np.ndarray  # the model's probability of its category
    risk: np.ndarray  # early-warning risk, 0-1
    signals: np.ndarray  # early-warning signals, a bit per signal
    inputs: np.ndarray  # (rows, numeric contract columns)


@dataclass(frozen=True)
class ChunkColumns:
    """A scored chunk sorted by id in compact arrays: cheap to send between processes
    (a list of a million row tuples took 1.6 s to pickle; these take milliseconds)."""

    population: Population
    subject_ids: np.ndarray  # int64, ascending
    category_codes: np.ndarray  # int, into category_names
    category_names: tuple[str, ...]
    channel_codes: np.ndarray
    channel_names: tuple[str, ...]
    region_codes: np.ndarray  # int, into region_names
    region_names: tuple[str, ...]
    numbers: np.ndarray  # float64 (rows, behaviour columns + confidence + risk)
    signals: np.ndarray  # int16
    inputs: np.ndarray  # little-endian float32 (rows, numeric contract columns), C order


def _encoded(values: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    encoded = pa.array(np.asarray(values, dtype=object)).dictionary_encode()
    names = tuple(str(v) for v in encoded.dictionary.to_pylist())
    return encoded.indices.to_numpy(zero_copy_only=False), names


def chunk_columns(population: Population, chunk: ScoredChunk) -> ChunkColumns:
    """Sort a chunk by id and encode it compactly (pure: runs in the scoring worker)."""
    order = np.argsort(chunk.subject_ids, kind="stable")
    region_codes, region_names = _encoded(np.asarray(chunk.regions)[order])
    channel_codes, channel_names = _encoded(np.asarray(chunk.channels)[order])
    numbers = np.column_stack(
        [
            *(chunk.behaviour[name][order] for name in BEHAVIOUR_COLUMNS[population]),
            chunk.confidence[order],
            chunk.risk[order],
        ]
    ).astype(np.float64, copy=False)
    return ChunkColumns(
        population=population,
        subject_ids=chunk.subject_ids[order].astype(np.int64),
        category_codes=np.asarray(chunk.category_codes)[order].astype(np.int8),
        category_names=tuple(chunk.category_names),
        channel_codes=channel_codes,
        channel_names=channel_names,
        region_codes=region_codes,
        region_names=region_names,
        numbers=numbers,
        signals=np.asarray(chunk.signals)[order].astype(np.int16),
        inputs=np.ascontiguousarray(chunk.inputs[order], dtype="<f4"),
    )


@dataclass(frozen=True)
class PreparedRows:
    """A chunk as driver rows in ``period_columns`` order, sorted by id, ready to write."""

    population: Population
    rows: list[tuple[Any, ...]]


def prepare_rows(columns: ChunkColumns) -> PreparedRows:
    """The chunk as driver rows (tuples), in id order, ready to write."""
    inputs = columns.inputs
    blobs = inputs.view(np.dtype((np.void, inputs.shape[1] * 4))).ravel().tolist()  # bytes
    rows = list(
        zip(
            columns.subject_ids.tolist(),
            np.asarray(columns.category_names, dtype=object)[columns.category_codes].tolist(),
            np.asarray(columns.channel_names, dtype=object)[columns.channel_codes].tolist(),
            np.asarray(columns.region_names, dtype=object)[columns.region_codes].tolist(),
            *(columns.numbers[:, i].tolist() for i in range(columns.numbers.shape[1])),
            columns.signals.tolist(),
            blobs,
            strict=True,
        )
    )
    return PreparedRows(population=columns.population, rows=rows)


@dataclass(frozen=True)
class Progress:
    run_key: str
    table_name: str
    period_end: dt.date
    chunks_done: int
    rows_accepted: int
    rows_rejected: int
    scored_at: dt.datetime
    finished: bool


def _table_name(population: Population, period_end: dt.date) -> str:
    return f"{population}_p{period_end:%Y%m%d}_{secrets.token_hex(4)}"


class BatchWrites(StoreBase):
    """Scoring runs: start or resume, write chunks, complete the period."""

    def start_run(
        self,
        *,
        run_key: str,
        population: Population,
        model_version: str,
        chunk_rows: int,
        period_end: dt.date,
    ) -> Progress:
        """The progress of an unfinished run with this key, or a fresh run writing a new
        table for the period (tables of abandoned runs of the period are dropped)."""
        with self.begin() as connection:
            row = connection.execute(
                select(batch_progress).where(batch_progress.c.run_key == run_key)
            ).first()
            if row is not None and not row.finished and row.chunk_rows == chunk_rows:
                return Progress(
                    run_key,
                    row.table_name,
                    period_end,
                    row.chunks_done,
                    row.rows_accepted,
                    row.rows_rejected,
                    as_utc(row.scored_at) or utcnow(),
                    False,
                )
            stale = connection.execute(
                select(segment_periods.c.table_name).where(
                    (segment_periods.c.population == population)
                    & (segment_periods.c.period_end == period_end)
                    & (segment_periods.c.state == "loading")
                )
            ).all()
            for (name,) in stale:
                period_table(population, name).drop(connection, checkfirst=True)
                connection.execute(
                    delete(segment_periods).where(segment_periods.c.table_name == name)
                )
                connection.execute(
                    delete(batch_progress).where(batch_progress.c.table_name == name)
                )
            now = utcnow()
            name = _table_name(population, period_end)
            period_table(population, name).create(connection)
            connection.execute(delete(batch_progress).where(batch_progress.c.run_key == run_key))
            connection.execute(
                insert(segment_periods).values(
                    table_name=name,
                    population=population,
                    period_end=period_end,
                    model_version=model_version,
                    scored_at=now,
                    state="loading",
                    rows=0,
                )
            )
            connection.execute(
                insert(batch_progress).values(
                    run_key=run_key,
                    population=population,
                    model_version=model_version,
                    period_end=period_end,
                    table_name=name,
                    chunk_rows=chunk_rows,
                    chunks_done=0,
                    rows_accepted=0,
                    rows_rejected=0,
                    scored_at=now,
                    finished=False,
                )
            )
            return Progress(run_key, name, period_end, 0, 0, 0, now, False)

    def write_rows(
        self,
        prepared: PreparedRows,
        *,
        progress: Progress,
        chunk_index: int,
        rejected: int,
    ) -> None:
        """Append one prepared chunk to the run's table and mark it done, in one
        transaction (plain inserts: the table has no index while it loads)."""
        population = prepared.population
        columns = period_columns(population)
        column_list = ", ".join(columns)
        with self.begin() as connection:
            driver = connection.connection.driver_connection
            if self.is_sqlite:
                marks = ", ".join("?" for _ in columns)
                driver.executemany(  # type: ignore[union-attr]
                    f"INSERT INTO {progress.table_name} ({column_list}) VALUES ({marks})",
                    prepared.rows,
                )
            else:
                copy_sql = f"COPY {progress.table_name} ({column_list}) FROM STDIN"
                with driver.cursor() as cursor, cursor.copy(copy_sql) as copy:  # type: ignore[union-attr]
                    for row in prepared.rows:
                        copy.write_row(row)
            self._count_chunk(
                connection, progress.run_key, chunk_index, len(prepared.rows), rejected
            )

    @staticmethod
    def _count_chunk(
        connection: Any, run_key: str, chunk_index: int, accepted: int, rejected: int
    ) -> None:
        connection.execute(
            update(batch_progress)
            .where(batch_progress.c.run_key == run_key)
            .values(
                chunks_done=chunk_index + 1,
                rows_accepted=batch_progress.c.rows_accepted + accepted,
                rows_rejected=batch_progress.c.rows_rejected + rejected,
            )
        )

    def record_rejected_chunk(self, progress: Progress, chunk_index: int, rejected: int) -> None:
        """Mark a chunk without a single valid row as done."""
        with self.begin() as connection:
            self._count_chunk(connection, progress.run_key, chunk_index, 0, rejected)

    def finish_run(self, progress: Progress, population: Population) -> None:
        """Complete the period: index the run's table and make it the period's, replacing
        an earlier run of the same period, in one transaction (a reader sees the old table
        or the new one, never a mix)."""
        name = progress.table_name
        with self.begin() as connection:
            connection.exec_driver_sql(
                f"CREATE UNIQUE INDEX IF NOT EXISTS ux_{name} ON {name} (subject_id)"
            )
            connection.exec_driver_sql(
                f"CREATE INDEX IF NOT EXISTS ix_{name}_risk ON {name} (risk)"
            )
            replaced = connection.execute(
                select(segment_periods.c.table_name).where(
                    (segment_periods.c.population == population)
                    & (segment_periods.c.period_end == progress.period_end)
                    & (segment_periods.c.state == "current")
                    & (segment_periods.c.table_name != name)
                )
            ).all()
            for (old,) in replaced:
                period_table(population, old).drop(connection, checkfirst=True)
                connection.execute(
                    delete(segment_periods).where(segment_periods.c.table_name == old)
                )
            accepted = connection.execute(
                select(batch_progress.c.rows_accepted).where(
                    batch_progress.c.run_key == progress.run_key
                )
            ).scalar_one()
            connection.execute(
                update(segment_periods)
                .where(segment_periods.c.table_name == name)
                .values(state="current", rows=accepted)
            )
            connection.execute(
                update(batch_progress)
                .where(batch_progress.c.run_key == progress.run_key)
                .values(finished=True)
            )
        self.forget_periods()

    def run_totals(self, run_key: str) -> tuple[int, int]:
        """Accepted and rejected rows counted by a run (across resumptions)."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(batch_progress.c.rows_accepted, batch_progress.c.rows_rejected).where(
                    batch_progress.c.run_key == run_key
                )
            ).one()
        return int(row[0]), int(row[1])
