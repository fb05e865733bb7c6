"""The segment store (SQLAlchemy 2): current category per customer, history, overrides,
batch progress and the audit log. SQLite by default, PostgreSQL when the URL says so.

This is the one module of the package that does I/O; the domain modules stay pure.
Bulk writes go through a staging table and two set-based statements per chunk, in one
transaction, so a chunk is either wholly written or not at all (resumable, idempotent).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import (
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
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection

from segmentation.taxonomy import Population

metadata = MetaData()

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


def _segments_table(population: Population) -> Table:
    return Table(
        f"{population}_segments",
        metadata,
        Column("subject_id", String(ID_LENGTH[population]), primary_key=True),
        Column("category", String(32), nullable=False),
        Column("channel", String(40), nullable=False),
        Column("model_version", String(32), nullable=False),
        Column("scored_at", DateTime(timezone=True), nullable=False),
        Column("region", String(2), nullable=False),
        *(Column(name, Float, nullable=False) for name in BEHAVIOUR_COLUMNS[population]),
        # The numeric contract columns as little-endian float32, for explanations on lookup.
        Column("inputs", LargeBinary, nullable=False),
    )


SEGMENTS: dict[Population, Table] = {p: _segments_table(p) for p in ("citizens", "employers")}

history = Table(
    "segment_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("population", String(16), nullable=False),
    Column("subject_id", String(12), nullable=False),
    Column("category", String(32), nullable=False),
    Column("source", String(16), nullable=False),  # model | override | override_removed
    Column("model_version", String(32)),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(120)),
    Column("reason", Text),
    Index("ix_history_subject", "population", "subject_id"),
)

overrides = Table(
    "segment_overrides",
    metadata,
    Column("population", String(16), primary_key=True),
    Column("subject_id", String(12), primary_key=True),
    Column("category", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("actor", String(120), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
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
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(120), nullable=False),
    Column("role", String(32), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject", String(32)),
    Column("purpose", String(200), nullable=False),
    Column("outcome", String(16), nullable=False),  # allowed | refused
    Index("ix_audit_subject", "subject"),
)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _as_utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


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

    subject_ids: Sequence[str]
    categories: Sequence[str]
    channels: Sequence[str]
    regions: Sequence[str]
    behaviour: dict[str, np.ndarray]
    inputs: np.ndarray  # (rows, numeric contract columns)


@dataclass(frozen=True)
class Progress:
    run_key: str
    chunks_done: int
    rows_accepted: int
    rows_rejected: int
    scored_at: dt.datetime
    finished: bool


class SegmentStore:
    """Reads and writes of the segment store."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"

    def create(self) -> None:
        metadata.create_all(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()

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
    def write_chunk(
        self,
        population: Population,
        chunk: ScoredChunk,
        *,
        model_version: str,
        scored_at: dt.datetime,
        run_key: str,
        chunk_index: int,
        rejected: int,
    ) -> None:
        """Write one scored chunk and mark it done, atomically."""
        table = SEGMENTS[population]
        columns = [c.name for c in table.columns]
        behaviour = BEHAVIOUR_COLUMNS[population]
        blobs = [row.tobytes() for row in np.ascontiguousarray(chunk.inputs, dtype="<f4")]
        n = len(chunk.subject_ids)
        stamp = scored_at if not self.is_sqlite else scored_at.replace(tzinfo=None)
        rows = list(
            zip(
                chunk.subject_ids,
                chunk.categories,
                chunk.channels,
                [model_version] * n,
                [stamp] * n,
                chunk.regions,
                *(chunk.behaviour[name].astype(np.float64).tolist() for name in behaviour),
                blobs,
                strict=True,
            )
        )
        stage = f"stage_{population}"
        column_list = ", ".join(columns)
        with self.begin() as connection:
            self._stage(connection, stage, table, rows)
            connection.exec_driver_sql(
                f"INSERT INTO segment_history (population, subject_id, category, source,"
                f" model_version, at) SELECT '{population}', s.subject_id, s.category, 'model',"
                f" s.model_version, s.scored_at FROM {stage} s LEFT JOIN {table.name} c"
                f" ON c.subject_id = s.subject_id"
                f" WHERE c.subject_id IS NULL OR c.category <> s.category"
            )
            updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "subject_id")
            connection.exec_driver_sql(
                f"INSERT INTO {table.name} ({column_list}) SELECT {column_list} FROM {stage}"
                f" WHERE true ORDER BY subject_id"
                f" ON CONFLICT (subject_id) DO UPDATE SET {updates}"
            )
            connection.execute(
                update(batch_progress)
                .where(batch_progress.c.run_key == run_key)
                .values(
                    chunks_done=chunk_index + 1,
                    rows_accepted=batch_progress.c.rows_accepted + n,
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

    def _stage(
        self, connection: Connection, stage: str, table: Table, rows: list[tuple[Any, ...]]
    ) -> None:
        columns = [c.name for c in table.columns]
        driver = connection.connection.driver_connection
        if self.is_sqlite:
            connection.exec_driver_sql(
                f"CREATE TEMP TABLE IF NOT EXISTS {stage} AS SELECT * FROM {table.name} WHERE 0"
            )
            connection.exec_driver_sql(f"DELETE FROM {stage}")
            placeholders = ", ".join("?" for _ in columns)
            driver.executemany(  # type: ignore[union-attr]
                f"INSERT INTO {stage} ({', '.join(columns)}) VALUES ({placeholders})", rows
            )
            return
        connection.exec_driver_sql(
            f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table.name}) ON COMMIT DELETE ROWS"
        )
        copy_sql = f"COPY {stage} ({', '.join(columns)}) FROM STDIN"
        with driver.cursor() as cursor, cursor.copy(copy_sql) as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)

    # -- reads ---------------------------------------------------------------------------------
    def current(self, population: Population, subject_id: str) -> dict[str, Any] | None:
        table = SEGMENTS[population]
        with self.engine.connect() as connection:
            row = connection.execute(select(table).where(table.c.subject_id == subject_id)).first()
        if row is None:
            return None
        record = dict(row._mapping)
        record["scored_at"] = _as_utc(record["scored_at"])
        return record

    def history(self, population: Population, subject_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(history)
                .where(history.c.population == population, history.c.subject_id == subject_id)
                .order_by(history.c.at, history.c.id)
            ).all()
        out = []
        for row in rows:
            record = dict(row._mapping)
            record["at"] = _as_utc(record["at"])
            out.append(record)
        return out

    def count_current(self, population: Population) -> int:
        table = SEGMENTS[population]
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(table)).scalar_one())

    def count_history(self, population: Population) -> int:
        with self.engine.connect() as connection:
            return int(
                connection.execute(
                    select(func.count())
                    .select_from(history)
                    .where(history.c.population == population)
                ).scalar_one()
            )

    # -- overrides ---------------------------------------------------------------------------
    def active_override(
        self, population: Population, subject_id: str, now: dt.datetime | None = None
    ) -> dict[str, Any] | None:
        """The case handler's override in force (not expired), if any."""
        moment = now or utcnow()
        with self.engine.connect() as connection:
            row = connection.execute(
                select(overrides).where(
                    overrides.c.population == population, overrides.c.subject_id == subject_id
                )
            ).first()
        if row is None:
            return None
        record = dict(row._mapping)
        record["created_at"] = _as_utc(record["created_at"])
        record["expires_at"] = _as_utc(record["expires_at"])
        if record["expires_at"] is not None and record["expires_at"] <= moment:
            return None
        return record

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
        values = {
            "population": population,
            "subject_id": subject_id,
            "category": category,
            "reason": reason,
            "actor": actor,
            "created_at": now,
            "expires_at": expires_at,
        }
        with self.begin() as connection:
            connection.execute(
                delete(overrides).where(
                    overrides.c.population == population, overrides.c.subject_id == subject_id
                )
            )
            connection.execute(insert(overrides).values(**values))
            connection.execute(
                insert(history).values(
                    population=population,
                    subject_id=subject_id,
                    category=category,
                    source="override",
                    model_version=None,
                    at=now,
                    actor=actor,
                    reason=reason,
                )
            )
        return values

    def remove_override(
        self, population: Population, subject_id: str, *, actor: str, reason: str
    ) -> bool:
        """Remove an override (kept in the history); ``False`` if there was none."""
        now = utcnow()
        with self.begin() as connection:
            row = connection.execute(
                select(overrides.c.category).where(
                    overrides.c.population == population, overrides.c.subject_id == subject_id
                )
            ).first()
            if row is None:
                return False
            connection.execute(
                delete(overrides).where(
                    overrides.c.population == population, overrides.c.subject_id == subject_id
                )
            )
            connection.execute(
                insert(history).values(
                    population=population,
                    subject_id=subject_id,
                    category=row.category,
                    source="override_removed",
                    model_version=None,
                    at=now,
                    actor=actor,
                    reason=reason,
                )
            )
        return True

    # -- audit ---------------------------------------------------------------------------------
    def audit(
        self,
        *,
        actor: str,
        role: str,
        action: str,
        subject: str | None,
        purpose: str,
        outcome: str,
    ) -> None:
        """Append one audit record (raises if it cannot be written)."""
        with self.begin() as connection:
            connection.execute(
                insert(audit_log).values(
                    at=utcnow(),
                    actor=actor,
                    role=role,
                    action=action,
                    subject=subject,
                    purpose=purpose,
                    outcome=outcome,
                )
            )

    def audit_entries(
        self, *, subject: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """The newest ``limit`` audit records, oldest first (optionally for one subject)."""
        query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if subject is not None:
            query = query.where(audit_log.c.subject == subject)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        out = []
        for row in reversed(rows):
            record = dict(row._mapping)
            record["at"] = _as_utc(record["at"])
            out.append(record)
        return out

    def ping(self) -> bool:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
