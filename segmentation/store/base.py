"""Connections, schema creation and the catalog of periods: what every part of the store
shares."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, Table, inspect, select, text, update
from sqlalchemy.engine import Connection

from data_contracts.reviews import judge_key
from segmentation.store.schema import (
    ADDED_COLUMNS,
    AUDIT_ADDED_COLUMNS,
    AUDIT_SUBJECT_INDEX,
    MMAP_BYTES,
    audit_log,
    audit_metadata,
    default_audit_url,
    make_engine,
    metadata,
    private_sqlite_file,
    reviews,
    segment_periods,
    stored_date,
    stored_time,
)
from segmentation.taxonomy import Population

#: How long a read trusts its list of periods before reading the catalog again (a batch run
#: in another process may have completed one).
CATALOG_SECONDS = 1.0


@dataclass(frozen=True)
class Period:
    """One complete period of one population, as the catalog lists it."""

    population: Population
    period_end: dt.date
    table_name: str
    model_version: str
    scored_at: dt.datetime
    rows: int
    #: Customers per category, and borderline customers given a more supportive channel.
    counts: dict[str, int]
    supportive: int
    #: The model's expected errors on the period, ``{true: {model: customers}}`` (empty for
    #: a period scored before they were kept).
    soft_confusion: dict[str, dict[str, float]] = field(default_factory=dict)
    #: Customers and behaviour per model category and region (``PeriodLoads``); None for a
    #: period scored before they were kept (summed from its table when first needed).
    loads: dict[str, dict[str, list[float]]] | None = None
    #: Rows per block of the period's inputs table; None for a period written before the
    #: inputs were kept apart (in its table's ``inputs`` column, one blob a row).
    input_blocks: int | None = None


def _add_columns(engine: Engine, table: Table, names: Sequence[str]) -> list[str]:
    """Add the columns ``names`` of ``table`` that an older file lacks; returns those added."""
    present = {c["name"] for c in inspect(engine).get_columns(table.name)}
    added = [name for name in names if name not in present]
    with engine.begin() as connection:
        for name in added:
            kind = table.c[name].type.compile(dialect=engine.dialect)
            connection.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {name} {kind}")
    return added


def _fill_judges(engine: Engine, table: Table, name: str) -> None:
    """Give the rows of an older file, written before ``judge`` was kept, their judge from
    the ``name`` column (once, when the column is added: every row written since has one)."""
    with engine.begin() as connection:
        names = connection.execute(
            select(table.c[name]).where(table.c.judge.is_(None)).distinct()
        ).scalars()
        for value in list(names):
            connection.execute(
                update(table)
                .where(table.c.judge.is_(None) & (table.c[name] == value))
                .values(judge=judge_key(value))
            )


class StoreBase:
    """Engines and connections; ``create`` makes the tables (idempotent)."""

    def __init__(self, url: str, audit_url: str | None = None) -> None:
        self.url = url
        self.engine: Engine = make_engine(url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.audit_url = audit_url or default_audit_url(url)
        self.audit_engine = self.engine if self.audit_url == url else make_engine(self.audit_url)
        self.audit_is_sqlite = self.audit_engine.dialect.name == "sqlite"
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.RLock()
        self._checkpointer: sqlite3.Connection | None = None
        #: Whether audit commits checkpoint the SQLite audit log themselves (see
        #: ``checkpoint_audit``); set before the first audit write.
        self.audit_autocheckpoint = True
        self._catalog: tuple[float, dict[Population, list[Period]]] | None = None

    def create(self) -> None:
        """Create the tables (idempotent). SQLite files hold personal data: they are made
        readable by their owner only, in a folder only the owner can list (SQLite gives its
        -wal and -shm files the database's mode)."""
        for engine in (self.engine, self.audit_engine):
            private_sqlite_file(engine)
        metadata.create_all(self.engine)
        audit_metadata.create_all(self.audit_engine)
        self._add_audit_columns()
        if self.audit_is_sqlite:  # see AUDIT_SUBJECT_INDEX
            with self.audit_engine.begin() as connection:
                connection.exec_driver_sql("DROP INDEX IF EXISTS ix_audit_subject")
        else:
            AUDIT_SUBJECT_INDEX.create(self.audit_engine, checkfirst=True)
        for engine in (self.engine, self.audit_engine):
            private_sqlite_file(engine)

    def _add_audit_columns(self) -> None:
        _add_columns(self.audit_engine, audit_log, AUDIT_ADDED_COLUMNS)
        for table_name, names in ADDED_COLUMNS.items():
            added = _add_columns(self.engine, metadata.tables[table_name], names)
            if "judge" in added:
                table = metadata.tables[table_name]
                _fill_judges(self.engine, table, "reviewer" if table is reviews else "actor")

    def dispose(self) -> None:
        for connection in self._connections:
            connection.close()
        self._connections.clear()
        self._checkpointer = None
        self._local = threading.local()
        self.engine.dispose()
        self.audit_engine.dispose()

    def _open(
        self, engine: Engine, pragmas: Sequence[str], *, autocommit: bool
    ) -> sqlite3.Connection:
        """A driver connection to ``engine``'s SQLite file, closed by ``dispose``."""
        connection = sqlite3.connect(
            engine.url.database or "",
            timeout=30,
            check_same_thread=False,
            isolation_level=None if autocommit else "DEFERRED",
        )
        for pragma in pragmas:
            connection.execute(f"PRAGMA {pragma}")
        with self._lock:
            self._connections.append(connection)
        return connection

    def _reader(self) -> sqlite3.Connection:
        """This thread's read-only SQLite connection (point reads without the ORM layer:
        about 5 µs a query instead of about 100 µs through SQLAlchemy). Memory-mapped: a
        point lookup touches ~8 pages of a large file, and reading them through the mapping
        saves a system call per page."""
        reader: sqlite3.Connection | None = getattr(self._local, "reader", None)
        if reader is None:
            pragmas = ["query_only = 1", f"mmap_size = {MMAP_BYTES}", "cache_size = -65536"]
            reader = self._local.reader = self._open(self.engine, pragmas, autocommit=False)
        return reader

    def _read(
        self, queries: Sequence[tuple[str, Mapping[str, Any]]]
    ) -> list[list[tuple[Any, ...]]]:
        """Run point-read queries (named ``:name`` parameters, which sqlite3 and SQLAlchemy
        both bind themselves) on one connection."""
        if self.is_sqlite:
            reader = self._reader()
            return [reader.execute(sql, dict(params)).fetchall() for sql, params in queries]
        with self.engine.connect() as connection:
            return [
                [tuple(row) for row in connection.execute(text(sql), dict(params))]
                for sql, params in queries
            ]

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.engine.begin() as connection:
            yield connection

    def ping(self) -> bool:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True

    # -- the catalog of periods ----------------------------------------------------------------
    def periods(self, population: Population, *, fresh: bool = False) -> list[Period]:
        """The population's complete periods, newest first (read again at most once a
        second, or at once with ``fresh``)."""
        cached = self._catalog
        if fresh or cached is None or time.monotonic() - cached[0] > CATALOG_SECONDS:
            cached = (time.monotonic(), self._read_catalog())
            self._catalog = cached
        return cached[1].get(population, [])

    def forget_periods(self) -> None:
        """Read the catalog again at the next read (after this process changed it)."""
        self._catalog = None

    def _read_catalog(self) -> dict[Population, list[Period]]:
        query = (
            select(segment_periods)
            .where(segment_periods.c.state == "current")
            .order_by(segment_periods.c.period_end.desc())
        )
        out: dict[Population, list[Period]] = {}
        with self.engine.connect() as connection:
            for row in connection.execute(query):
                out.setdefault(row.population, []).append(
                    Period(
                        row.population,
                        stored_date(row.period_end),
                        row.table_name,
                        row.model_version,
                        stored_time(row.scored_at) or dt.datetime.now(dt.UTC),
                        int(row.rows or 0),
                        json.loads(row.counts or "{}"),
                        int(row.supportive or 0),
                        json.loads(row.soft_confusion or "{}"),
                        json.loads(row.loads) if row.loads else None,
                        row.input_blocks,
                    )
                )
        return out

    def period(self, population: Population, period_end: dt.date | None = None) -> Period | None:
        """One period (the latest without ``period_end``), or None."""
        listed = self.periods(population, fresh=True)
        if period_end is None:
            return listed[0] if listed else None
        return next((p for p in listed if p.period_end == period_end), None)
