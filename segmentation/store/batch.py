"""The batch path: a scoring run writes one period's table chunk by chunk, each chunk and
its progress in one transaction (a crash loses nothing and doubles nothing: the run
resumes after its last committed chunk), then completes the period in one transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.engine import Connection

from segmentation.capacity import PeriodLoads, chunk_loads, merge_loads
from segmentation.locks import LockHeld, file_lock
from segmentation.store.base import Period, StoreBase
from segmentation.store.blocks import INPUT_BLOCK_ROWS, encode_blocks, first_row_id
from segmentation.store.schema import (
    WARNING_INDEX_FLOOR,
    as_utc,
    batch_chunks,
    batch_progress,
    behaviour_positions,
    drop_period,
    inputs_table,
    inputs_table_name,
    period_columns,
    period_table,
    segment_periods,
    sqlite_file,
    utcnow,
)
from segmentation.taxonomy import Population
from segmentation.transitions import merge_soft

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoredChunk:
    """One chunk of scored rows, columnar."""

    subject_ids: np.ndarray  # int64
    category_codes: np.ndarray  # int, into category_names (the model's category index)
    category_names: Sequence[str]
    channel_codes: np.ndarray  # the suggested channel per row, into channel_names
    channel_names: Sequence[str]
    regions: np.ndarray  # county codes (strings)
    supportive: int  # rows given a more supportive channel than their category's
    confidence: np.ndarray  # the model's probability of its category
    risk: np.ndarray  # early-warning risk, 0-1
    signals: np.ndarray  # early-warning signals, a bit per signal
    inputs: np.ndarray  # (rows, numeric contract columns); behaviour is summed from them
    #: The model's expected errors on the chunk (``segmentation.transitions.soft_confusion``).
    soft_confusion: dict[str, dict[str, float]] = field(default_factory=dict)


#: Rows per INSERT statement on SQLite: the driver's work per statement (step, reset, the
#: parameters' sequence) is paid once for many rows. Measured on this machine with a one-off
#: script, 1 M rows of a period table into a WAL file: 8.3 s one row a statement, 5.6-6.0 s
#: at 16-128 rows.
ROWS_PER_STATEMENT = 32


@dataclass(frozen=True)
class PreparedRows:
    """A chunk as driver values, one row per customer in ``period_columns`` order (the row
    ids are set when the chunk is written, from its index)."""

    population: Population
    values: np.ndarray  # object, (rows, period columns)
    counts: dict[str, int] = field(default_factory=dict)
    supportive: int = 0
    soft_confusion: dict[str, dict[str, float]] = field(default_factory=dict)
    loads: PeriodLoads = field(default_factory=dict)
    #: The rows' inputs in compressed blocks (``segmentation.store.blocks``), in row order.
    blocks: list[bytes] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.values)


def prepare_rows(population: Population, chunk: ScoredChunk) -> PreparedRows:
    """The chunk sorted by id, as driver values (Python objects in one object array, filled
    column by column) and its inputs in compressed blocks: runs in the worker that writes
    it. Sorted chunks are sorted runs for the id index built when the period is complete
    (7.2 M rows indexed in 4 s instead of 12 s)."""
    order = np.argsort(chunk.subject_ids, kind="stable")
    names = period_columns(population)
    values = np.empty((len(order), len(names)), dtype=object)
    values[:, 1] = np.asarray(chunk.subject_ids, dtype=np.int64)[order].tolist()
    codes = np.asarray(chunk.category_codes)[order]
    values[:, 2] = np.asarray(chunk.category_names, dtype=object)[codes]
    values[:, 3] = np.asarray(chunk.channel_names, dtype=object)[
        np.asarray(chunk.channel_codes)[order]
    ]
    values[:, 4] = np.asarray(chunk.regions, dtype=object)[order]
    values[:, 5] = np.asarray(chunk.confidence, dtype=np.float64)[order].tolist()
    values[:, 6] = np.asarray(chunk.risk, dtype=np.float64)[order].tolist()
    values[:, 7] = np.asarray(chunk.signals, dtype=np.int64)[order].tolist()
    inputs = np.ascontiguousarray(np.asarray(chunk.inputs, dtype="<f4")[order])
    counts = np.bincount(codes, minlength=len(chunk.category_names))
    loads = chunk_loads(
        list(chunk.category_names),
        codes,
        np.asarray(chunk.regions)[order],
        inputs[:, behaviour_positions(population)],
    )
    return PreparedRows(
        population,
        values,
        {name: int(n) for name, n in zip(chunk.category_names, counts, strict=True)},
        int(chunk.supportive),
        chunk.soft_confusion,
        loads,
        encode_blocks(inputs),
    )


@dataclass(frozen=True)
class _DriverRows:
    """A chunk as the driver takes it (``BatchWrites._driver_rows``)."""

    statements: list[list[Any]]  # SQLite: ROWS_PER_STATEMENT rows' values a list
    single: list[list[Any]]  # one row's values a list (SQLite's remainder, PostgreSQL's all)
    blocks: list[tuple[int, bytes]]


@dataclass(frozen=True)
class Progress:
    run_key: str
    table_name: str
    period_end: dt.date
    #: The chunks written already (by this run before it was interrupted).
    done: frozenset[int]
    rows_accepted: int
    rows_rejected: int
    scored_at: dt.datetime
    finished: bool


def _table_name(population: Population, period_end: dt.date) -> str:
    return f"{population}_p{period_end:%Y%m%d}_{secrets.token_hex(4)}"


class RunInProgress(RuntimeError):
    """Another process is scoring the same population and period now."""


def _lock_key(name: str) -> int:
    """A PostgreSQL advisory lock's key (a signed 64-bit number) for a lock's name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class BatchWrites(StoreBase):
    """Scoring runs: start or resume, write chunks, complete the period."""

    @contextmanager
    def period_lock(self, population: Population, period_end: dt.date) -> Iterator[None]:
        """Held while a run scores ``population``'s period ``period_end``, or
        :class:`RunInProgress`. A second run of the same period (another key: with or
        without ``--out``, another model version) would drop the first's table under it.
        The lock goes with the process that holds it, so a run killed halfway leaves none
        behind and resumes at once: on SQLite an exclusive ``flock`` on a file beside the
        database, on PostgreSQL a session's advisory lock."""
        name = f"score:{population}:{period_end.isoformat()}"
        busy = RunInProgress(
            f"{population}, period {period_end}: another `segmentation score` is scoring "
            "this period now; wait for it to finish (a run that was stopped holds no lock: "
            "run again to resume it)"
        )
        if not self.is_sqlite:
            with self.engine.connect() as connection:
                key = {"key": _lock_key(name)}
                taken = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), key)
                if not taken.scalar():
                    raise busy
                try:
                    yield
                finally:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), key)
            return
        database = sqlite_file(self.engine.url)
        if database is None:  # a store in memory: one process's own
            yield
            return
        path = database.with_name(f"{database.name}-score-{population}-{period_end:%Y%m%d}.lock")
        with ExitStack() as held:
            try:
                held.enter_context(file_lock(path, wait=False))
            except LockHeld:
                raise busy from None
            yield

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
            layout = (
                connection.execute(
                    select(segment_periods.c.input_blocks).where(
                        segment_periods.c.table_name == row.table_name
                    )
                ).scalar()
                if row is not None
                else None
            )
            # A run left unfinished by a version that kept the inputs in the rows (no
            # ``input_blocks``) starts again: its table has the other layout.
            if (
                row is not None
                and not row.finished
                and row.chunk_rows == chunk_rows
                and layout == INPUT_BLOCK_ROWS
            ):
                written = connection.execute(
                    select(batch_chunks.c.chunk_index).where(batch_chunks.c.run_key == run_key)
                ).scalars()
                return Progress(
                    run_key,
                    row.table_name,
                    period_end,
                    frozenset(int(i) for i in written),
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
                drop_period(connection, population, name)
                connection.execute(
                    delete(segment_periods).where(segment_periods.c.table_name == name)
                )
                for (key,) in connection.execute(
                    select(batch_progress.c.run_key).where(batch_progress.c.table_name == name)
                ).all():
                    connection.execute(delete(batch_chunks).where(batch_chunks.c.run_key == key))
                connection.execute(
                    delete(batch_progress).where(batch_progress.c.table_name == name)
                )
            now = utcnow()
            name = _table_name(population, period_end)
            period_table(population, name).create(connection)
            inputs_table(name).create(connection)
            connection.execute(delete(batch_progress).where(batch_progress.c.run_key == run_key))
            connection.execute(delete(batch_chunks).where(batch_chunks.c.run_key == run_key))
            connection.execute(
                insert(segment_periods).values(
                    table_name=name,
                    population=population,
                    period_end=period_end,
                    model_version=model_version,
                    scored_at=now,
                    state="loading",
                    rows=0,
                    counts="{}",
                    supportive=0,
                    input_blocks=INPUT_BLOCK_ROWS,
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
                    counts="{}",
                    supportive=0,
                    scored_at=now,
                    finished=False,
                )
            )
            return Progress(run_key, name, period_end, frozenset(), 0, 0, now, False)

    @contextmanager
    def _write_lock(self) -> Iterator[Connection]:
        """A transaction that holds the write lock from its start. Two scoring processes
        write chunks into one SQLite file: with SQLite's default deferred transactions the
        second would read a snapshot, then fail to write on it (``SQLITE_BUSY_SNAPSHOT``);
        ``BEGIN IMMEDIATE`` makes it wait its turn instead (the busy timeout)."""
        if not self.is_sqlite:
            with self.engine.begin() as connection:
                yield connection
            return
        with self.engine.connect() as connection:
            driver: Any = connection.connection.driver_connection
            level = driver.isolation_level
            driver.isolation_level = None  # the driver opens no transaction of its own
            try:
                driver.execute("BEGIN IMMEDIATE")
                try:
                    yield connection
                except BaseException:
                    driver.execute("ROLLBACK")
                    raise
                driver.execute("COMMIT")
            finally:
                driver.isolation_level = level

    def write_chunk(
        self,
        prepared: PreparedRows | None,
        *,
        progress: Progress,
        chunk_index: int,
        rejected: int,
    ) -> bool:
        """Append one prepared chunk (None: a chunk without a valid row) to the run's table
        and record it as written, in one transaction (plain inserts: the table has no index
        while it loads). Chunks may come in any order; one already written (by an earlier,
        interrupted try of the run) is not written again: returns False. The driver's
        parameters are built before the write lock is taken (the other worker writes
        meanwhile)."""
        rows = (
            self._driver_rows(prepared, chunk_index)
            if prepared is not None and len(prepared)
            else None
        )
        with self._write_lock() as connection:
            written = connection.execute(
                select(batch_chunks.c.chunk_index).where(
                    (batch_chunks.c.run_key == progress.run_key)
                    & (batch_chunks.c.chunk_index == chunk_index)
                )
            ).first()
            if written is not None:
                return False
            if prepared is not None and rows is not None:
                self._insert(connection, progress.table_name, prepared.population, rows)
            connection.execute(
                insert(batch_chunks).values(run_key=progress.run_key, chunk_index=chunk_index)
            )
            self._count_chunk(connection, progress.run_key, prepared, rejected)
        return True

    def _driver_rows(self, prepared: PreparedRows, chunk_index: int) -> _DriverRows:
        """The chunk's rows (numbered from the chunk's first row id) as the driver takes
        them: SQLite, ``ROWS_PER_STATEMENT`` rows to a parameter list and the remainder;
        PostgreSQL, one list a row. And its inputs' blocks, keyed by block number."""
        values = prepared.values
        first = first_row_id(chunk_index)
        values[:, 0] = range(first, first + len(values))
        first_block = first // INPUT_BLOCK_ROWS
        blocks = [(first_block + i, blob) for i, blob in enumerate(prepared.blocks)]
        if not self.is_sqlite:
            return _DriverRows([], values.tolist(), blocks)
        per, width = ROWS_PER_STATEMENT, values.shape[1]
        whole = len(values) // per * per
        return _DriverRows(
            values[:whole].reshape(-1, per * width).tolist(), values[whole:].tolist(), blocks
        )

    def _insert(
        self, connection: Connection, table: str, population: Population, rows: _DriverRows
    ) -> None:
        columns = period_columns(population)
        column_list = ", ".join(columns)
        driver: Any = connection.connection.driver_connection
        inputs = inputs_table_name(table)
        if self.is_sqlite:
            row = "(" + ", ".join("?" for _ in columns) + ")"
            if rows.statements:
                driver.executemany(
                    f"INSERT INTO {table} ({column_list}) VALUES "
                    + ", ".join([row] * ROWS_PER_STATEMENT),
                    rows.statements,
                )
            if rows.single:
                driver.executemany(f"INSERT INTO {table} ({column_list}) VALUES {row}", rows.single)
            driver.executemany(f"INSERT INTO {inputs} (block, data) VALUES (?, ?)", rows.blocks)
            return
        with driver.cursor() as cursor:
            with cursor.copy(f"COPY {table} ({column_list}) FROM STDIN") as copy:
                for values_of_row in rows.single:
                    copy.write_row(values_of_row)
            with cursor.copy(f"COPY {inputs} (block, data) FROM STDIN") as copy:
                for block in rows.blocks:
                    copy.write_row(block)

    @staticmethod
    def _count_chunk(
        connection: Any,
        run_key: str,
        prepared: PreparedRows | None,
        rejected: int,
    ) -> None:
        """The chunk is done: its counts join the run's, in the chunk's transaction. The
        run's row is read for update: on PostgreSQL two workers' chunks commit side by side,
        and without the lock the later would write its counts over the earlier's (SQLite's
        chunk transactions already take turns)."""
        stored = connection.execute(
            select(batch_progress.c.counts, batch_progress.c.soft_confusion, batch_progress.c.loads)
            .where(batch_progress.c.run_key == run_key)
            .with_for_update()
        ).one()
        counts = json.loads(stored.counts or "{}")
        soft = json.loads(stored.soft_confusion or "{}")
        loads = json.loads(stored.loads or "{}")
        if prepared is not None:
            for name, n in prepared.counts.items():
                counts[name] = counts.get(name, 0) + n
            soft = merge_soft(soft, prepared.soft_confusion)
            loads = merge_loads(loads, prepared.loads)
        connection.execute(
            update(batch_progress)
            .where(batch_progress.c.run_key == run_key)
            .values(
                chunks_done=batch_progress.c.chunks_done + 1,
                rows_accepted=batch_progress.c.rows_accepted + (len(prepared) if prepared else 0),
                rows_rejected=batch_progress.c.rows_rejected + rejected,
                counts=json.dumps(counts, sort_keys=True),
                soft_confusion=json.dumps(soft, sort_keys=True),
                loads=json.dumps(loads, sort_keys=True),
                supportive=batch_progress.c.supportive + (prepared.supportive if prepared else 0),
            )
        )

    def finish_run(self, progress: Progress, population: Population) -> None:
        """Complete the period: index the run's table and make it the period's, replacing
        an earlier run of the same period, in one transaction (a reader sees the old table
        or the new one, never a mix)."""
        name = progress.table_name
        started = time.perf_counter()
        with self.begin() as connection:
            connection.exec_driver_sql(
                f"CREATE UNIQUE INDEX IF NOT EXISTS ux_{name} ON {name} (subject_id)"
            )
            log.info("%s: id index built in %.1f s", name, time.perf_counter() - started)
            connection.exec_driver_sql(
                f"CREATE INDEX IF NOT EXISTS ix_{name}_risk ON {name} (risk)"
                f" WHERE risk >= {WARNING_INDEX_FLOOR} AND category = 'irregular'"
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
                drop_period(connection, population, old)
                connection.execute(
                    delete(segment_periods).where(segment_periods.c.table_name == old)
                )
            totals = connection.execute(
                select(
                    batch_progress.c.rows_accepted,
                    batch_progress.c.counts,
                    batch_progress.c.supportive,
                    batch_progress.c.soft_confusion,
                    batch_progress.c.loads,
                ).where(batch_progress.c.run_key == progress.run_key)
            ).one()
            connection.execute(
                update(segment_periods)
                .where(segment_periods.c.table_name == name)
                .values(
                    state="current",
                    rows=totals.rows_accepted,
                    counts=totals.counts,
                    supportive=totals.supportive,
                    soft_confusion=totals.soft_confusion,
                    loads=totals.loads or "{}",
                )
            )
            connection.execute(
                update(batch_progress)
                .where(batch_progress.c.run_key == progress.run_key)
                .values(finished=True)
            )
            connection.execute(
                delete(batch_chunks).where(batch_chunks.c.run_key == progress.run_key)
            )
            log.info("%s: indexed and listed in %.1f s", name, time.perf_counter() - started)
        log.info("%s: committed in %.1f s", name, time.perf_counter() - started)
        self.forget_periods()

    def written_period(self, progress: Progress, population: Population) -> Period:
        """The run's table, all its chunks written, as the catalog will list it once
        ``finish_run`` has indexed it: its rows can be read meanwhile (by row id, not by
        customer id), so work on the period (its drift) need not wait for the index."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(batch_progress).where(batch_progress.c.run_key == progress.run_key)
            ).one()
        return Period(
            population,
            progress.period_end,
            progress.table_name,
            row.model_version,
            progress.scored_at,
            int(row.rows_accepted),
            json.loads(row.counts or "{}"),
            int(row.supportive or 0),
            json.loads(row.soft_confusion or "{}"),
            json.loads(row.loads) if row.loads else None,
            INPUT_BLOCK_ROWS,
        )

    def run_totals(self, run_key: str) -> tuple[int, int]:
        """Accepted and rejected rows counted by a run (across resumptions)."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(batch_progress.c.rows_accepted, batch_progress.c.rows_rejected).where(
                    batch_progress.c.run_key == run_key
                )
            ).one()
        return int(row[0]), int(row[1])
