"""The segment store (SQLAlchemy 2): current category per customer, history, overrides,
batch progress and the audit log. SQLite by default, PostgreSQL when the URL says so.

This is the one module of the package that does I/O; the domain modules stay pure.
Bulk writes go through a staging table and two set-based statements per chunk, in one
transaction, so a chunk is either wholly written or not at all (resumable, idempotent).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Engine,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, make_url

from segmentation.capacity import SegmentLoad, loads_from_rows
from segmentation.taxonomy import Population

metadata = MetaData()
#: The audit log has its own metadata: with SQLite it lives in a file of its own (see
#: ``default_audit_url``), so audit writes never wait for a batch run's write lock and never
#: invalidate the page cache of the connections that read segments.
audit_metadata = MetaData()

#: Behaviour kept per customer for planners (capacity) beside the category.
BEHAVIOUR_COLUMNS: dict[Population, tuple[str, ...]] = {
    "citizens": (
        "contacts_phone",
        "contacts_office",
        "contacts_digital",
        "contacts_letter",
        "handling_minutes",
    ),
    "employers": (
        "employees",
        "cases",
        "contacts_phone",
        "contacts_email",
        "contacts_letter",
        "handling_minutes",
    ),
}
ID_LENGTH: dict[Population, int] = {"citizens": 12, "employers": 10}


#: Identity numbers are stored as integers (zero-padded back on the way out, ``format_id``).
SubjectId = Integer().with_variant(BigInteger(), "postgresql")
#: Rows are kept in the order they were first written, with a unique index on the id: a
#: chunk's ids are spread over the whole key range, and a table clustered by id would have
#: every chunk rewrite nearly every page of it (measured: 77 s against 45 s for 7.2 M rows).
RowId = Integer().with_variant(BigInteger(), "postgresql")


def format_id(population: Population, value: int) -> str:
    return str(int(value)).zfill(ID_LENGTH[population])


def _segments_table(population: Population) -> Table:
    return Table(
        f"{population}_segments",
        metadata,
        Column("row_id", RowId, primary_key=True, autoincrement=True),
        Column("subject_id", SubjectId, nullable=False, unique=True),
        Column("category", String(32), nullable=False),
        Column("model_version", String(32), nullable=False),
        Column("scored_at", DateTime(timezone=True), nullable=False),
        # When the customer entered the current category (the open period of the history).
        Column("category_since", DateTime(timezone=True), nullable=False),
        Column("region", String(2), nullable=False),
        *(Column(name, Float, nullable=False) for name in BEHAVIOUR_COLUMNS[population]),
        # The numeric contract columns as little-endian float32, for explanations on lookup.
        Column("inputs", LargeBinary, nullable=False),
    )


SEGMENTS: dict[Population, Table] = {p: _segments_table(p) for p in ("citizens", "employers")}

#: Closed periods and events. A model category is moved here (with when it started and
#: ended) when a later scoring changes it; the open period lives on the current row.
#: Overrides set and removed are events here too.
history = Table(
    "segment_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("population", String(16), nullable=False),
    Column("subject_id", SubjectId, nullable=False),
    Column("category", String(32), nullable=False),
    Column("source", String(16), nullable=False),  # model | override | override_removed
    Column("model_version", String(32)),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("until", DateTime(timezone=True)),
    Column("actor", String(120)),
    Column("reason", Text),
    Index("ix_history_subject", "population", "subject_id"),
)

overrides = Table(
    "segment_overrides",
    metadata,
    Column("population", String(16), primary_key=True),
    Column("subject_id", SubjectId, primary_key=True, autoincrement=False),
    Column("category", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("actor", String(120), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
)

#: Case handlers' reviews of a customer's category (issue 8): what training learns from.
reviews = Table(
    "segment_reviews",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("population", String(16), nullable=False),
    Column("subject_id", SubjectId, nullable=False),
    Column("category", String(32), nullable=False),
    Column("reviewer", String(120), nullable=False),
    Column("reviewed_at", DateTime(timezone=True), nullable=False),
    Column("note", Text),
    Index("ix_reviews_subject", "population", "subject_id"),
)

batch_progress = Table(
    "batch_progress",
    metadata,
    Column("run_key", String(200), primary_key=True),
    Column("population", String(16), nullable=False),
    Column("model_version", String(32), nullable=False),
    Column("chunk_rows", Integer, nullable=False),
    Column("chunks_done", Integer, nullable=False),
    Column("rows_accepted", Integer, nullable=False),
    Column("rows_rejected", Integer, nullable=False),
    Column("scored_at", DateTime(timezone=True), nullable=False),
    Column("finished", Boolean, nullable=False),
)

audit_log = Table(
    "audit_log",
    audit_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(120), nullable=False),
    Column("role", String(32), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject", String(32)),
    Column("purpose", String(200), nullable=False),
    Column("outcome", String(16), nullable=False),  # allowed | refused
    #: The request's id (also in its ``X-Request-ID`` answer header) and the client's address.
    Column("request_id", String(64)),
    Column("client", String(64)),
    Index("ix_audit_subject", "subject"),
)

#: Columns added to the audit log after its first release: ``create`` adds them to an
#: older file (the log is append-only, so nothing else about it ever changes).
_AUDIT_ADDED_COLUMNS = ("request_id", "client")


def _history_trigger(dialect: str, population: str, table: Table) -> list[str]:
    """When an upsert changes a customer's category, close the old period into the history."""
    name = f"{table.name}_history"
    values = (
        f"'{population}', OLD.subject_id, OLD.category, 'model', OLD.model_version,"
        f" OLD.category_since, NEW.scored_at"
    )
    insert_sql = (
        "INSERT INTO segment_history (population, subject_id, category, source, model_version,"
        f" at, until) VALUES ({values});"
    )
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER IF NOT EXISTS {name} AFTER UPDATE OF category ON {table.name}"
            f" FOR EACH ROW WHEN OLD.category <> NEW.category BEGIN {insert_sql} END"
        ]
    return [
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$"
        f" BEGIN {insert_sql} RETURN NEW; END $$",
        f"CREATE OR REPLACE TRIGGER {name} AFTER UPDATE ON {table.name} FOR EACH ROW"
        f" WHEN (OLD.category IS DISTINCT FROM NEW.category) EXECUTE FUNCTION {name}()",
    ]


def _sqlite_time(moment: dt.datetime) -> str:
    """SQLAlchemy's SQLite DateTime text form (naive UTC), formatted once per chunk."""
    return (
        moment.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    )


def _sql_text(value: str) -> str:
    """A string as an SQL literal (for run-level constants we produced ourselves)."""
    return "'" + value.replace("'", "''") + "'"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _as_utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


#: How much of the SQLite file the read connections map into memory (address space only;
#: the operating system's page cache holds the data either way).
MMAP_BYTES = 64 * 1024**3


def default_audit_url(store_url: str) -> str:
    """Where the audit log lives by default: beside a SQLite store file (``X-audit.db``
    next to ``X.db``), otherwise in the store's own database."""
    parsed = make_url(store_url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return store_url
    path = Path(database)
    audit = parsed.set(database=str(path.with_name(f"{path.stem}-audit{path.suffix}")))
    return audit.render_as_string(hide_password=False)


def _private_sqlite_file(engine: Engine) -> None:
    """Mode 700 for a SQLite database's folder and 600 for the file (once it exists)."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        return
    path = Path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if candidate.exists():
            candidate.chmod(0o600)


def make_engine(url: str) -> Engine:
    """An engine for the store; SQLite gets WAL and a large page cache for bulk writes."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA cache_size=-512000")  # 500 MB
            cursor.execute("PRAGMA temp_store=MEMORY")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


@dataclass(frozen=True)
class ScoredChunk:
    """One chunk of scored rows, columnar."""

    subject_ids: np.ndarray  # int64
    category_codes: np.ndarray  # int, into category_names (the model's category index)
    category_names: Sequence[str]
    regions: np.ndarray  # county codes (strings)
    behaviour: dict[str, np.ndarray]
    inputs: np.ndarray  # (rows, numeric contract columns)


@dataclass(frozen=True)
class ChunkColumns:
    """A scored chunk sorted by id in compact arrays: cheap to send between processes
    (a list of a million row tuples took 1.6 s to pickle; these take milliseconds)."""

    population: Population
    subject_ids: np.ndarray  # int64, ascending
    category_codes: np.ndarray  # int, into category_names
    category_names: tuple[str, ...]
    region_codes: np.ndarray  # int, into region_names
    region_names: tuple[str, ...]
    behaviour: np.ndarray  # float64 (rows, BEHAVIOUR_COLUMNS[population])
    inputs: np.ndarray  # little-endian float32 (rows, numeric contract columns), C order


def chunk_columns(population: Population, chunk: ScoredChunk) -> ChunkColumns:
    """Sort a chunk by id and encode it compactly (pure: runs in the scoring worker)."""
    order = np.argsort(chunk.subject_ids, kind="stable")
    regions = pa.array(np.asarray(chunk.regions, dtype=object)[order]).dictionary_encode()
    behaviour = np.column_stack(
        [chunk.behaviour[name][order] for name in BEHAVIOUR_COLUMNS[population]]
    ).astype(np.float64, copy=False)
    return ChunkColumns(
        population=population,
        subject_ids=chunk.subject_ids[order].astype(np.int64),
        category_codes=np.asarray(chunk.category_codes)[order].astype(np.int8),
        category_names=tuple(chunk.category_names),
        region_codes=regions.indices.to_numpy(zero_copy_only=False),
        region_names=tuple(str(r) for r in regions.dictionary.to_pylist()),
        behaviour=behaviour,
        inputs=np.ascontiguousarray(chunk.inputs[order], dtype="<f4"),
    )


@dataclass(frozen=True)
class PreparedRows:
    """A chunk as driver rows, sorted by key, ready to write."""

    population: Population
    rows: list[tuple[Any, ...]]


@dataclass(frozen=True)
class Progress:
    run_key: str
    chunks_done: int
    rows_accepted: int
    rows_rejected: int
    scored_at: dt.datetime
    finished: bool


@dataclass(frozen=True)
class SubjectRecord:
    """What the API reads about one customer: the stored row, the override in force (if
    any) and the history, oldest first, ending with the open period."""

    current: dict[str, Any]
    override: dict[str, Any] | None
    history: list[dict[str, Any]]


def _time(value: Any) -> dt.datetime | None:
    """A stored time as an aware UTC datetime (SQLite keeps naive UTC text)."""
    if value is None:
        return None
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
    return _as_utc(value)


_SEGMENT_COLUMNS: dict[Population, list[str]] = {
    population: [column.name for column in table.columns] for population, table in SEGMENTS.items()
}
_OVERRIDE_COLUMNS = ["category", "reason", "actor", "created_at", "expires_at"]
_HISTORY_COLUMNS = ["category", "source", "model_version", "at", "until", "actor", "reason"]


def _lookup_sql(population: Population) -> str:
    """The stored row and the override of one customer, in one indexed query."""
    table = SEGMENTS[population].name
    stored = ", ".join(f"s.{name}" for name in _SEGMENT_COLUMNS[population])
    override = ", ".join(f"o.{name}" for name in _OVERRIDE_COLUMNS)
    return (
        f"SELECT {stored}, {override} FROM {table} s LEFT JOIN segment_overrides o"
        f" ON o.population = '{population}' AND o.subject_id = s.subject_id"
        " WHERE s.subject_id = :subject_id"
    )


_AUDIT_INSERT = (
    "INSERT INTO audit_log (at, actor, role, action, subject, purpose, outcome, request_id, client)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

#: The SQLite audit log's write-ahead file is kept under this size: past it, the background
#: checkpoint truncates it (writers wait for that one checkpoint), and a reset log is cut
#: back to it (``journal_size_limit``). Unbounded, it grew 170 MB in 10 s under load.
AUDIT_WAL_LIMIT_BYTES = 16 * 1024 * 1024

_HISTORY_SQL = (
    f"SELECT {', '.join(_HISTORY_COLUMNS)} FROM segment_history"
    " WHERE population = :population AND subject_id = :subject_id ORDER BY at, id"
)


def prepare_rows(columns: ChunkColumns) -> PreparedRows:
    """The chunk as driver rows (tuples), in id order, ready to write."""
    inputs = columns.inputs
    blobs = inputs.view(np.dtype((np.void, inputs.shape[1] * 4))).ravel().tolist()  # bytes
    rows = list(
        zip(
            columns.subject_ids.tolist(),
            np.asarray(columns.category_names, dtype=object)[columns.category_codes].tolist(),
            np.asarray(columns.region_names, dtype=object)[columns.region_codes].tolist(),
            *(columns.behaviour[:, i].tolist() for i in range(columns.behaviour.shape[1])),
            blobs,
            strict=True,
        )
    )
    return PreparedRows(population=columns.population, rows=rows)


def _override_record(values: Sequence[Any], now: dt.datetime) -> dict[str, Any] | None:
    """The override columns of a lookup row, if an override is set and has not expired."""
    if values[0] is None:
        return None
    record = dict(zip(_OVERRIDE_COLUMNS, values, strict=True))
    record["created_at"] = _time(record["created_at"])
    record["expires_at"] = _time(record["expires_at"])
    if record["expires_at"] is not None and record["expires_at"] <= now:
        return None
    return record


def _history_records(
    rows: Sequence[Sequence[Any]], current: dict[str, Any]
) -> list[dict[str, Any]]:
    """Closed periods and events, then the open period of ``current``, ordered by time."""
    out = []
    for row in rows:
        record = dict(zip(_HISTORY_COLUMNS, row, strict=True))
        record["at"] = _time(record["at"])
        record["until"] = _time(record["until"])
        out.append(record)
    out.append(
        {
            "category": current["category"],
            "source": "model",
            "model_version": current["model_version"],
            "at": current["category_since"],
            "until": None,
            "actor": None,
            "reason": None,
        }
    )
    out.sort(key=lambda entry: entry["at"])
    return out


class SegmentStore:
    """Reads and writes of the segment store."""

    def __init__(self, url: str, audit_url: str | None = None) -> None:
        self.url = url
        self.engine = make_engine(url)
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
        self._lookup_sql = {p: _lookup_sql(p) for p in SEGMENTS}

    def create(self) -> None:
        """Create the tables and the history triggers (idempotent). SQLite files hold
        personal data: they are made readable by their owner only, in a folder only the
        owner can list (SQLite gives its -wal and -shm files the database's mode)."""
        for engine in (self.engine, self.audit_engine):
            _private_sqlite_file(engine)
        metadata.create_all(self.engine)
        audit_metadata.create_all(self.audit_engine)
        self._add_audit_columns()
        for engine in (self.engine, self.audit_engine):
            _private_sqlite_file(engine)
        with self.begin() as connection:
            for population, table in SEGMENTS.items():
                for statement in _history_trigger(self.engine.dialect.name, population, table):
                    connection.exec_driver_sql(statement)

    def _add_audit_columns(self) -> None:
        present = {c["name"] for c in inspect(self.audit_engine).get_columns("audit_log")}
        with self.audit_engine.begin() as connection:
            for name in _AUDIT_ADDED_COLUMNS:
                if name not in present:
                    kind = audit_log.c[name].type.compile(dialect=self.audit_engine.dialect)
                    connection.exec_driver_sql(f"ALTER TABLE audit_log ADD COLUMN {name} {kind}")

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

    def _writer(self) -> sqlite3.Connection:
        """This thread's SQLite connection for audit records (autocommit; explicit BEGIN)."""
        writer: sqlite3.Connection | None = getattr(self._local, "writer", None)
        if writer is None:
            pragmas = [
                "journal_mode = WAL",
                "synchronous = NORMAL",
                f"journal_size_limit = {AUDIT_WAL_LIMIT_BYTES}",
            ]
            if not self.audit_autocheckpoint:
                pragmas.append("wal_autocheckpoint = 0")
            writer = self._local.writer = self._open(self.audit_engine, pragmas, autocommit=True)
        return writer

    def checkpoint_audit(self) -> None:
        """Copy the SQLite audit log's write-ahead log into its file (a passive checkpoint:
        it never makes a writer wait). The API runs this in the background every second
        and turns off ``audit_autocheckpoint``; otherwise every ~1,000 pages one commit would
        do the checkpoint, with its fsync, while the requests of its group wait (measured:
        commits of 12-17 ms every 0.3 s at 4,000 lookups a second).

        Under steady load a passive checkpoint never finds the log idle, so the log is never
        restarted and its file grows without bound. Once the file is past
        ``AUDIT_WAL_LIMIT_BYTES`` the checkpoint truncates it instead: writers wait for that
        one checkpoint (a few milliseconds), and the file starts again from nothing."""
        if not self.audit_is_sqlite:
            return
        with self._lock:  # the API's last checkpoint, at shutdown, may meet a running one
            if self._checkpointer is None:
                self._checkpointer = self._open(
                    self.audit_engine,
                    ["busy_timeout = 5000", f"journal_size_limit = {AUDIT_WAL_LIMIT_BYTES}"],
                    autocommit=True,
                )
            mode = "TRUNCATE" if self.audit_wal_bytes() > AUDIT_WAL_LIMIT_BYTES else "PASSIVE"
            self._checkpointer.execute(f"PRAGMA wal_checkpoint({mode})")

    def audit_wal_bytes(self) -> int:
        """The size of the SQLite audit log's write-ahead file (0 without one)."""
        database = self.audit_engine.url.database if self.audit_is_sqlite else None
        if not database or database == ":memory:":
            return 0
        wal = Path(database + "-wal")
        return wal.stat().st_size if wal.exists() else 0

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

    # -- batch progress ----------------------------------------------------------------------
    def start_run(
        self, *, run_key: str, population: Population, model_version: str, chunk_rows: int
    ) -> Progress:
        """The progress of an unfinished run with this key, or a fresh one."""
        with self.begin() as connection:
            row = connection.execute(
                select(batch_progress).where(batch_progress.c.run_key == run_key)
            ).first()
            if row is not None and not row.finished and row.chunk_rows == chunk_rows:
                return Progress(
                    run_key,
                    row.chunks_done,
                    row.rows_accepted,
                    row.rows_rejected,
                    _as_utc(row.scored_at) or utcnow(),
                    False,
                )
            now = utcnow()
            connection.execute(delete(batch_progress).where(batch_progress.c.run_key == run_key))
            connection.execute(
                insert(batch_progress).values(
                    run_key=run_key,
                    population=population,
                    model_version=model_version,
                    chunk_rows=chunk_rows,
                    chunks_done=0,
                    rows_accepted=0,
                    rows_rejected=0,
                    scored_at=now,
                    finished=False,
                )
            )
            return Progress(run_key, 0, 0, 0, now, False)

    def finish_run(self, run_key: str) -> None:
        with self.begin() as connection:
            connection.execute(
                update(batch_progress)
                .where(batch_progress.c.run_key == run_key)
                .values(finished=True)
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

    # -- bulk writes ---------------------------------------------------------------------------
    def write_rows(
        self,
        prepared: PreparedRows,
        *,
        model_version: str,
        scored_at: dt.datetime,
        run_key: str,
        chunk_index: int,
        rejected: int,
    ) -> None:
        """Upsert one prepared chunk and mark it done, in one transaction.

        Where an upsert changes a customer's category, the database's trigger closes the
        previous period into the history. The run's model version and time are bound once
        per statement, not per row.
        """
        population = prepared.population
        table = SEGMENTS[population]
        behaviour = BEHAVIOUR_COLUMNS[population]
        varying = ["subject_id", "category", "region", *behaviour, "inputs"]
        columns = [*varying[:2], "model_version", "scored_at", "category_since", *varying[2:]]
        assignments = ", ".join(
            f"{c} = excluded.{c}"
            for c in ["category", "model_version", "scored_at", "region", *behaviour, "inputs"]
        )
        conflict = (
            f" ON CONFLICT (subject_id) DO UPDATE SET {assignments},"
            f" category_since = CASE WHEN {table.name}.category = excluded.category"
            f" THEN {table.name}.category_since ELSE excluded.scored_at END"
        )
        column_list = ", ".join(columns)
        with self.begin() as connection:
            driver = connection.connection.driver_connection
            if self.is_sqlite:
                version, stamp = _sql_text(model_version), _sql_text(_sqlite_time(scored_at))
                values = ", ".join(["?", "?", version, stamp, stamp, *("?" for _ in varying[2:])])
                driver.executemany(  # type: ignore[union-attr]
                    f"INSERT INTO {table.name} ({column_list}) VALUES ({values}){conflict}",
                    prepared.rows,
                )
            else:
                stage = f"stage_{population}"
                staged = ", ".join(varying)
                connection.exec_driver_sql(
                    f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS"
                    f" SELECT {staged} FROM {table.name} WITH NO DATA"
                )
                copy_sql = f"COPY {stage} ({staged}) FROM STDIN"
                with driver.cursor() as cursor, cursor.copy(copy_sql) as copy:  # type: ignore[union-attr]
                    for row in prepared.rows:
                        copy.write_row(row)
                select_list = ", ".join(
                    ["subject_id", "category", "%(version)s", "%(at)s", "%(at)s", *varying[2:]]
                )
                connection.exec_driver_sql(
                    f"INSERT INTO {table.name} ({column_list}) SELECT {select_list}"
                    f" FROM {stage} ORDER BY subject_id{conflict}",
                    {"version": model_version, "at": scored_at},
                )
            connection.execute(
                update(batch_progress)
                .where(batch_progress.c.run_key == run_key)
                .values(
                    chunks_done=chunk_index + 1,
                    rows_accepted=batch_progress.c.rows_accepted + len(prepared.rows),
                    rows_rejected=batch_progress.c.rows_rejected + rejected,
                )
            )

    def record_rejected_chunk(self, run_key: str, chunk_index: int, rejected: int) -> None:
        """Mark a chunk without a single valid row as done."""
        with self.begin() as connection:
            connection.execute(
                update(batch_progress)
                .where(batch_progress.c.run_key == run_key)
                .values(
                    chunks_done=chunk_index + 1,
                    rows_rejected=batch_progress.c.rows_rejected + rejected,
                )
            )

    # -- reads ---------------------------------------------------------------------------------
    def lookup(
        self,
        population: Population,
        subject_id: str,
        *,
        with_history: bool = True,
        now: dt.datetime | None = None,
    ) -> SubjectRecord | None:
        """One customer's stored row, override in force and history; ``None`` if unknown."""
        key = int(subject_id)
        queries: list[tuple[str, Mapping[str, Any]]] = [
            (self._lookup_sql[population], {"subject_id": key})
        ]
        if with_history:
            queries.append((_HISTORY_SQL, {"population": population, "subject_id": key}))
        results = self._read(queries)
        if not results[0]:
            return None
        row = results[0][0]
        columns = _SEGMENT_COLUMNS[population]
        current = dict(zip(columns, row[: len(columns)], strict=True))
        current["subject_id"] = format_id(population, current["subject_id"])
        current["scored_at"] = _time(current["scored_at"])
        current["category_since"] = _time(current["category_since"])
        current["inputs"] = bytes(current["inputs"])
        override = _override_record(row[len(columns) :], now or utcnow())
        history_rows = results[1] if with_history else []
        return SubjectRecord(current, override, _history_records(history_rows, current))

    def current(self, population: Population, subject_id: str) -> dict[str, Any] | None:
        """The stored model category and behaviour of one customer, or ``None``."""
        record = self.lookup(population, subject_id, with_history=False)
        return record.current if record else None

    def history(self, population: Population, subject_id: str) -> list[dict[str, Any]]:
        """Past periods and override events, then the open period, by time."""
        record = self.lookup(population, subject_id)
        return record.history if record else []

    def count_current(self, population: Population) -> int:
        table = SEGMENTS[population]
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(table)).scalar_one())

    def count_history(self, population: Population) -> int:
        """Rows in the history table (closed periods and override events)."""
        with self.engine.connect() as connection:
            return int(
                connection.execute(
                    select(func.count())
                    .select_from(history)
                    .where(history.c.population == population)
                ).scalar_one()
            )

    # -- overrides ---------------------------------------------------------------------------
    def set_override(
        self,
        population: Population,
        subject_id: str,
        *,
        category: str,
        reason: str,
        actor: str,
        expires_at: dt.datetime | None,
    ) -> dict[str, Any]:
        """Store (or replace) an override and add it to the history."""
        now = utcnow()
        key = int(subject_id)
        match = (overrides.c.population == population) & (overrides.c.subject_id == key)
        values = {
            "population": population,
            "subject_id": key,
            "category": category,
            "reason": reason,
            "actor": actor,
            "created_at": now,
            "expires_at": expires_at,
        }
        with self.begin() as connection:
            self._close_override_period(connection, population, key, now)
            connection.execute(delete(overrides).where(match))
            connection.execute(insert(overrides).values(**values))
            connection.execute(
                insert(history).values(
                    population=population,
                    subject_id=key,
                    category=category,
                    source="override",
                    model_version=None,
                    at=now,
                    until=expires_at,
                    actor=actor,
                    reason=reason,
                )
            )
        return {**values, "subject_id": format_id(population, key)}

    @staticmethod
    def _close_override_period(
        connection: Connection, population: Population, key: int, now: dt.datetime
    ) -> None:
        """The override in force, if any, ends now in the history (it is being replaced or
        removed): its requested expiry no longer says how long it was in force."""
        current = connection.execute(
            select(overrides.c.created_at, overrides.c.expires_at).where(
                (overrides.c.population == population) & (overrides.c.subject_id == key)
            )
        ).first()
        if current is None:
            return
        expires = _as_utc(current.expires_at)
        if expires is not None and expires <= now:
            return  # it had already ended by itself
        connection.execute(
            update(history)
            .where(
                (history.c.population == population)
                & (history.c.subject_id == key)
                & (history.c.source == "override")
                & (history.c.at == current.created_at)
            )
            .values(until=now)
        )

    def remove_override(
        self, population: Population, subject_id: str, *, actor: str, reason: str
    ) -> bool:
        """Remove an override (kept in the history); ``False`` if there was none."""
        now = utcnow()
        key = int(subject_id)
        match = (overrides.c.population == population) & (overrides.c.subject_id == key)
        with self.begin() as connection:
            row = connection.execute(select(overrides.c.category).where(match)).first()
            if row is None:
                return False
            self._close_override_period(connection, population, key, now)
            connection.execute(delete(overrides).where(match))
            connection.execute(
                insert(history).values(
                    population=population,
                    subject_id=key,
                    category=row.category,
                    source="override_removed",
                    model_version=None,
                    at=now,
                    actor=actor,
                    reason=reason,
                )
            )
        return True

    # -- reviews -------------------------------------------------------------------------------
    def add_review(
        self,
        population: Population,
        subject_id: str,
        *,
        category: str,
        reviewer: str,
        note: str | None,
    ) -> dict[str, Any]:
        """Record a case handler's judgement of a customer's category."""
        values = {
            "population": population,
            "subject_id": int(subject_id),
            "category": category,
            "reviewer": reviewer,
            "reviewed_at": utcnow(),
            "note": note,
        }
        with self.begin() as connection:
            connection.execute(insert(reviews).values(**values))
        return {**values, "subject_id": format_id(population, int(subject_id))}

    def review_records(self, *, include_overrides: bool = True) -> list[dict[str, Any]]:
        """Every review as a row of `reviews.parquet` (the latest per customer), and, with
        ``include_overrides``, every override with a reason as a review by its author: a
        case handler who overrode a category with a reason has judged the customer."""
        latest: dict[tuple[str, int], dict[str, Any]] = {}
        with self.engine.connect() as connection:
            for row in connection.execute(select(reviews).order_by(reviews.c.reviewed_at)):
                latest[(row.population, row.subject_id)] = {
                    "population": row.population,
                    "id": format_id(row.population, row.subject_id),
                    "category": row.category,
                    "reviewer": row.reviewer,
                    "reviewed_at": _as_utc(row.reviewed_at),
                    "note": row.note,
                }
            if include_overrides:
                for row in connection.execute(select(overrides)):
                    key = (row.population, row.subject_id)
                    when = _as_utc(row.created_at)
                    known = latest.get(key)
                    if row.reason.strip() and (known is None or known["reviewed_at"] < when):
                        latest[key] = {
                            "population": row.population,
                            "id": format_id(row.population, row.subject_id),
                            "category": row.category,
                            "reviewer": row.actor,
                            "reviewed_at": when,
                            "note": f"override: {row.reason}",
                        }
        return list(latest.values())

    # -- audit ---------------------------------------------------------------------------------
    def audit_many(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Append audit records in one transaction: all are written or none (raises)."""
        if not records:
            return
        if not self.audit_is_sqlite:
            with self.audit_engine.begin() as connection:
                connection.execute(insert(audit_log), [dict(record) for record in records])
            return
        # SQLite: straight to the driver (the same rows SQLAlchemy would write, a fifth of
        # the cost); the API's audit writer calls this for every group of requests.
        writer = self._writer()
        rows = [
            (
                _sqlite_time(record["at"]),
                record["actor"],
                record["role"],
                record["action"],
                record["subject"],
                record["purpose"],
                record["outcome"],
                record.get("request_id"),
                record.get("client"),
            )
            for record in records
        ]
        writer.execute("BEGIN IMMEDIATE")
        try:
            writer.executemany(_AUDIT_INSERT, rows)
        except BaseException:
            writer.execute("ROLLBACK")
            raise
        writer.execute("COMMIT")

    def audit_entries(
        self, *, subject: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """The newest ``limit`` audit records, oldest first (optionally for one subject)."""
        query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if subject is not None:
            query = query.where(audit_log.c.subject == subject)
        with self.audit_engine.connect() as connection:
            rows = connection.execute(query).all()
        out = []
        for row in reversed(rows):
            record = dict(row._mapping)
            record["at"] = _as_utc(record["at"])
            out.append(record)
        return out

    def segment_loads(self, population: Population) -> list[dict[str, Any]]:
        """Customers and behaviour summed per effective category (overrides in force win)
        and region: what the capacity report is built from. Counts only, no identities."""
        table = SEGMENTS[population]
        now = utcnow() if not self.is_sqlite else utcnow().replace(tzinfo=None)
        effective = func.coalesce(overrides.c.category, table.c.category).label("category")
        active = (
            (overrides.c.population == population)
            & (overrides.c.subject_id == table.c.subject_id)
            & ((overrides.c.expires_at.is_(None)) | (overrides.c.expires_at > now))
        )
        sums = [func.sum(table.c[name]).label(name) for name in BEHAVIOUR_COLUMNS[population]]
        query = (
            select(effective, table.c.region, func.count().label("customers"), *sums)
            .select_from(table.outerjoin(overrides, active))
            .group_by(effective, table.c.region)
        )
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]

    def capacity_loads(self) -> list[SegmentLoad]:
        """Every population's per-segment-and-region loads, for the capacity report."""
        return [
            load
            for population in SEGMENTS
            for load in loads_from_rows(population, self.segment_loads(population))
        ]

    def ping(self) -> bool:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
